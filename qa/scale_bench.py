"""Synthetic corpora of N passages for ``qa bench --scale N``, without running the model per passage.

Passages recombine three real sentences: of the CMRC 2018 trial's 256 Wikipedia articles
(``--pool wikipedia``, the default: many topics, as a real collection has) or of the five seed
pages (``--pool seeds``: one topic). A passage's vector is the
weighted sum of its sentences' real passage embeddings plus noise, normalised; a question's
vector is one sentence's real query embedding plus noise. The noise is Gaussian with the
covariance of the real embeddings (it moves vectors the way real texts differ, not in
directions no text takes; isotropic noise in 384 dimensions would be a harder, unreal case).
The vectors are thus spread like real ones but cost nothing to make. Keyword
tokens are the sentences' jieba tokens, concatenated.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from .config import ROOT, Settings
from .schema import Chunk

SENTENCES_PER_PASSAGE = 3
NOISE = 0.6  # noise norm relative to a unit signal: cosine to the noiseless vector ≈ 0.85
QUERIES = 200


POOLS = ("wikipedia", "seeds")


@dataclass(frozen=True)
class SentencePool:
    """Real sentences, their jieba tokens and their real passage/query embeddings."""

    sentences: list[str]
    tokens: list[list[str]]
    passage_vectors: np.ndarray
    query_vectors: np.ndarray

    @cached_property
    def noise_basis(self) -> np.ndarray:
        """Rows whose Gaussian mix (z ~ N(0, I)) has the covariance of the passage vectors."""
        centred = self.passage_vectors - self.passage_vectors.mean(0)
        return (centred / np.sqrt(len(centred))).astype(np.float32)


def sentence_pool(settings: Settings, source: str = "seeds") -> SentencePool:
    from .encoders import load_encoder
    from .sentences import split
    from .tokenizer import Tokenizer

    if source not in POOLS:
        raise ValueError(f"unknown sentence pool {source!r} (choose {', '.join(POOLS)})")
    texts = _wikipedia_articles() if source == "wikipedia" else _seed_documents()
    sentences = list(dict.fromkeys(x.strip() for paragraphs in texts for p in paragraphs for x in split(p)
                                   if len(x.strip()) > 8))
    encoder = load_encoder(settings.model, settings.encoder)
    tokenizer = Tokenizer()
    return SentencePool(sentences, [tokenizer.tokens(s) for s in sentences], encoder.encode_passages(sentences),
                        encoder.encode_queries(sentences))


def _seed_documents() -> list[list[str]]:
    from .store import prepare

    documents, _, _ = prepare([ROOT / "seeds"])
    return [d.paragraphs for d in documents]


def _wikipedia_articles() -> list[list[str]]:
    import json

    source = ROOT.parent / "shared" / "benchmarks" / "cmrc2018_trial.json"
    if not source.exists():
        raise FileNotFoundError(f"{source} is missing: use --pool seeds")
    data = json.loads(source.read_text("utf-8"))["data"]
    return [[p["context"] for p in article["paragraphs"]] for article in data]


def _noisy(vectors: np.ndarray, basis: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``vectors`` plus noise shaped by ``basis`` (centred real embeddings, one per row)."""
    noise = rng.standard_normal((len(vectors), len(basis)), dtype=np.float32) @ basis
    noise *= NOISE / np.sqrt((basis**2).sum())  # E‖z·basis‖² = Σ‖row‖²
    out = vectors + noise
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def synthetic(n: int, pool: SentencePool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(sentence ids per passage [n, 3], passage vectors [n, dim])."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, len(pool.sentences), (n, SENTENCES_PER_PASSAGE))
    vectors = np.empty((n, pool.passage_vectors.shape[1]), np.float32)
    for start in range(0, n, 100_000):
        part = ids[start : start + 100_000]
        weights = rng.uniform(0.5, 1.0, part.shape).astype(np.float32)
        mixed = (pool.passage_vectors[part] * weights[..., None]).sum(1)
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        vectors[start : start + len(part)] = _noisy(mixed, pool.noise_basis, rng)
    return ids, vectors


def _median_ms(run, items) -> float:
    """Median wall time of ``run(item)`` over ``items``, in milliseconds."""
    times = []
    for item in items:
        started = time.perf_counter()
        run(item)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


class _FixedEncoder:
    """Stands in for the model: every passage vector is handed over ready-made."""

    compatible = frozenset()

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim

    def encode_passages(self, texts):  # pragma: no cover - every vector is given
        raise AssertionError("the synthetic corpus embeds nothing")


def synthetic_corpus(n: int, ids: np.ndarray, pool: SentencePool):
    """Passages of 20 per document, with their tokens, in the shape a store writes."""
    from .store import DocumentInfo, Prepared

    chunks = [Chunk(i, f"synthetic-{i // 20}", "synthetic", i % 20 + 1, 0, 0, "".join(pool.sentences[s] for s in row))
              for i, row in enumerate(ids.tolist())]
    tokens = [[t for s in row for t in pool.tokens[s]] for row in ids.tolist()]
    docs = [DocumentInfo(f"synthetic-{d}", "synthetic", "", min(20, n - 20 * d)) for d in range((n + 19) // 20)]
    return Prepared(chunks, docs, tokens, None, [], [])


def _write(work: Path, settings: Settings, corpus, vectors: np.ndarray) -> dict:
    """Write the synthetic corpus into the configured store; returns the vector index's info."""
    from .store import embed_text, write_local

    encoder = _FixedEncoder(settings.model, int(vectors.shape[1]))
    known = dict(zip((embed_text(c) for c in corpus.chunks), vectors))
    if settings.store.kind == "milvus":
        from .stores.milvus import stop_embedded, write_milvus

        info = write_milvus(work, replace(settings, index_dir=work), encoder, corpus, False, lambda _m: None,
                            known_vectors=known).vector_index
        stop_embedded(settings.store.uri)  # so that opening starts embedded Milvus afresh, as `qa ask` does
        return info
    return write_local(work, replace(settings, index_dir=work), encoder, corpus, False, lambda _m: None,
                       known_vectors=known).vector_index


def _add_one_document(work: Path, settings: Settings, corpus, vectors: np.ndarray) -> float:
    """Seconds to add one 20-passage document to the index, as the store does it (Milvus: inserts
    its rows; local: what an incremental ``qa index`` does, qa/store.py ``_carry``: the unchanged
    documents are carried by their recorded hashes and the new one goes into a delta segment)."""
    from .store import DocumentInfo, Prepared, embed_text, read_documents, read_manifest, write_local

    extra = [replace(c, chunk_id=len(corpus.chunks) + i, doc_id="added-document") for i, c in enumerate(corpus.chunks[:20])]
    info = DocumentInfo("added-document", "added", "", 20)
    if settings.store.kind == "milvus":
        grown = Prepared(corpus.chunks + extra, corpus.infos + [info], corpus.tokens + corpus.tokens[:20], None, [], [])
        started = time.perf_counter()
        _write(work, settings, grown, np.concatenate([vectors, vectors[:20]]))
        return time.perf_counter() - started
    started = time.perf_counter()
    layout = read_documents(work / read_manifest(work)["generation"])
    added = Prepared(extra, [info], corpus.tokens[:20], None, [], [])
    known = dict(zip((embed_text(c) for c in extra), vectors[:20]))
    write_local(work, replace(settings, index_dir=work), _FixedEncoder(settings.model, int(vectors.shape[1])), added,
                False, lambda _m: None, known_vectors=known, carried=[d for d in layout if not d.deleted])
    return time.perf_counter() - started


def _one_shot_ask(work: Path, question: str) -> tuple[float | None, float | None]:
    """Seconds and peak memory of a real one-shot ``qa ask`` on the index (its own process: what
    a user's ask costs at this size, apart from the benchmark's own corpus and vectors). The
    child reports its own VmHWM: a forked child's rusage maxrss starts at its parent's size."""
    import subprocess
    import sys

    code = ("import sys\nfrom qa.cli import main\nrc = main(sys.argv[1:])\n"
            "hwm = next(x for x in open('/proc/self/status') if x.startswith('VmHWM'))\n"
            "print('VmHWM_KB', hwm.split()[1], rc)")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, "ask", question, "--index-dir", str(work), "--json"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    report = [line.split() for line in done.stdout.splitlines() if line.startswith("VmHWM_KB")]
    if done.returncode != 0 or not report or report[-1][2] != "0":
        return None, None
    return round(seconds, 2), round(int(report[-1][1]) / 1024, 1)


def _server_peak_mb() -> float | None:
    """Peak RSS of embedded Milvus's server (milvus-lite runs it as a child process)."""
    import os

    peak = None
    for child in Path("/proc").glob("[0-9]*"):
        try:
            if (child / "comm").read_text().strip() == "milvus" and \
                    int((child / "stat").read_text().split()[3]) == os.getpid():
                line = next(x for x in (child / "status").read_text().splitlines() if x.startswith("VmHWM"))
                peak = max(peak or 0.0, int(line.split()[1]) / 1024)
        except (OSError, ValueError, StopIteration):
            continue
    return round(peak, 1) if peak is not None else None


def bench_scale(n: int, settings: Settings, work: Path, pool: SentencePool | None = None) -> dict:
    """Build a synthetic corpus of ``n`` passages in the configured store, open it as `qa ask`
    does, and measure it through the store interface: the same table for every store."""
    import faiss

    from .query import Query
    from .retrieval import HybridRetriever
    from .store import open_index, resolve_store
    from .vector_index import recall_at_k

    settings = resolve_store(replace(settings, index_dir=work))
    pool = pool or sentence_pool(settings)
    ids, vectors = synthetic(n, pool)
    corpus = synthetic_corpus(n, ids, pool)
    started = time.perf_counter()
    _write(work, settings, corpus, vectors)
    build_s = time.perf_counter() - started
    t = time.perf_counter()
    index = open_index(work)
    open_s = time.perf_counter() - t

    rng = np.random.default_rng(7)
    asked = rng.integers(0, len(pool.sentences), QUERIES)
    queries = _noisy(pool.query_vectors[asked], pool.noise_basis, rng)
    _, truth = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    recall = recall_at_k([[row for row, _ in index.vector_search(q, 10)] for q in queries], truth)
    vector_ms = _median_ms(lambda q: index.vector_search(q, 10), queries)
    keyword_ms = _median_ms(lambda s: index.keyword_search(pool.tokens[s], settings.retrieval.candidates), asked)
    retriever = HybridRetriever(index, _FixedEncoder(settings.model, int(vectors.shape[1])), settings.retrieval)
    hybrid_ms = _median_ms(lambda i: retriever.run(Query(pool.sentences[asked[i]], False, "other", pool.tokens[asked[i]]),
                                                   vector=queries[i], mode="hybrid"), range(QUERIES))
    info = index.stats()["vector_index"]
    server_mb = _server_peak_mb()  # the server as opened and asked, before the next write restarts it
    index.close()
    ask_s, ask_mb = _one_shot_ask(work, pool.sentences[asked[0]])
    add_one = _add_one_document(work, settings, corpus, vectors)
    return {
        "n": n,
        "store": settings.store.kind,
        "vector_index": info["kind"],
        "vector_params": {k: v for k, v in info.items() if k not in ("kind", "recall_at_10", "passages", "index_type")},
        "vector_recall_at_10": round(recall, 4),
        "vector_p50_ms": round(vector_ms, 3),
        "keyword_p50_ms": round(keyword_ms, 2),
        "hybrid_p50_ms": round(hybrid_ms, 2),
        "open_s": round(open_s, 3),
        "add_one_doc_s": round(add_one, 2),
        "build_s": round(build_s, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "server_peak_rss_mb": server_mb,
        "ask_s": ask_s,
        "ask_peak_rss_mb": ask_mb,
    }
