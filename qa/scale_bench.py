"""Synthetic corpora of N passages for ``qa bench --scale N``, without running the model per passage.

A synthetic document stands for one real source text (a benchmark paragraph or judgment, or a
seed page) and each of its passages recombines three sentences of that text, so passages cluster
by topic as a real collection's do: ``--pool public`` (the default) draws on the CMRC trial's,
DRCD dev's and CJRC dev's 2,256 texts (about 19,000 sentences: Wikipedia in both scripts and
court judgments), ``wikipedia`` on the CMRC trial's 256, ``seeds`` on the five seed pages. A
passage's vector is the weighted sum of its sentences' real passage embeddings plus noise,
normalised; a question's vector is one sentence's real query embedding plus noise. The noise is
Gaussian with the covariance of the real embeddings (it moves vectors the way real texts differ,
not in directions no text takes). Its size, ``NOISE``, is fitted (``qa.scale_fit``) so that at
the size of the real corpora the synthetic vectors are as hard for HNSW and IVF as real ones.
The pool's embeddings are cached beside the encoder's ONNX models. Keyword tokens are the
sentences' jieba tokens, concatenated.
"""

from __future__ import annotations

import hashlib
import resource
import time
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from .config import ROOT, Settings
from .schema import Chunk
from .vector_index import noise_basis, shaped_noise

SENTENCES_PER_PASSAGE = 3
PASSAGES_PER_DOCUMENT = 20
#: Noise norm relative to a unit signal, fitted by ``python -m qa.scale_fit`` (reports/scale-fit.json):
#: the value whose HNSW and IVF recall curves on 5,012 synthetic passages of the public pool come
#: closest to those of the 5,012 real passages of the four evaluation indexes, asked by 900 real
#: questions (see README, "Synthetic scale").
NOISE = 0.2
QUERIES = 200
#: Timed passes through the questions, after an untimed one: a single timed pass measured the
#: vector search at 1M passages 2.38 ms where scripts on the same kind of index measured
#: 1.9–2.05 ms (a burst of other work on the machine lands in one pass, not in three).
TIMED_PASSES = 3
#: Seed of the out-of-sample moved passages (the calibration's own use seed 1), and how many:
#: recall@10 over 200 of them varied by ±0.004 between draws.
FRESH_MOVED_SEED = 7
FRESH_MOVED = 1000
BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
POOLS = ("public", "wikipedia", "seeds")


@dataclass(frozen=True)
class SentencePool:
    """Real sentences, the source text each came from, their jieba tokens and their real
    passage/query embeddings."""

    sentences: list[str]
    sources: np.ndarray
    tokens: list[list[str]]
    passage_vectors: np.ndarray
    query_vectors: np.ndarray

    @cached_property
    def noise_basis(self) -> np.ndarray:
        """Rows whose Gaussian mix (z ~ N(0, I)) has the covariance of the passage vectors."""
        return noise_basis(self.passage_vectors, np.random.default_rng(0), len(self.passage_vectors))

    @cached_property
    def members(self) -> list[np.ndarray]:
        """Sentence ids of each source text."""
        order = np.argsort(self.sources, kind="stable")
        return np.split(order, np.flatnonzero(np.diff(self.sources[order])) + 1)


def sentence_pool(settings: Settings, source: str = "seeds") -> SentencePool:
    from .sentences import split
    from .tokenizer import Tokenizer

    if source not in POOLS:
        raise ValueError(f"unknown sentence pool {source!r} (choose {', '.join(POOLS)})")
    texts = _seed_documents() if source == "seeds" else _benchmark_texts(["cmrc2018_trial"] if source == "wikipedia"
                                                                         else ["cmrc2018_trial", "drcd_dev", "cjrc_dev"])
    first: dict[str, int] = {}
    for number, paragraphs in enumerate(texts):
        for sentence in (x.strip() for p in paragraphs for x in split(p)):
            if len(sentence) > 8:
                first.setdefault(sentence, number)
    sentences = list(first)
    tokenizer = Tokenizer()
    passage_vectors, query_vectors = _pool_vectors(settings, source, sentences)
    return SentencePool(sentences, np.array(list(first.values())), [tokenizer.tokens(s) for s in sentences],
                        passage_vectors, query_vectors)


def _pool_vectors(settings: Settings, source: str, sentences: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The sentences' passage and query embeddings, from the cache when these very sentences were
    embedded by this model before (the public pool takes minutes to embed)."""
    from .encoders import load_encoder
    from .encoders.e5_onnx import cache_folder

    digest = hashlib.sha256("\n".join([settings.model, *sentences]).encode()).hexdigest()[:16]
    path = cache_folder(settings.encoder.cache_dir) / f"pool-{source}-{digest}.npz"
    if path.exists():
        with np.load(path) as cached:
            return cached["passages"], cached["queries"]
    encoder = load_encoder(settings.model, settings.encoder)
    passages, queries = encoder.encode_passages(sentences), encoder.encode_queries(sentences)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, passages=passages, queries=queries)
    partial.replace(path)  # a killed run leaves no half-written cache behind
    return passages, queries


def _seed_documents() -> list[list[str]]:
    from .store import prepare

    documents, _, _ = prepare([ROOT / "seeds"])
    return [d.paragraphs for d in documents]


def _benchmark_texts(names: list[str]) -> list[list[str]]:
    """Each benchmark paragraph (a Wikipedia paragraph, a judgment's facts) as one source text."""
    import json

    texts = []
    for name in names:
        source = BENCHMARKS / f"{name}.json"
        if not source.exists():
            raise FileNotFoundError(f"{source} is missing: use --pool seeds")
        data = json.loads(source.read_text("utf-8"))["data"]
        texts += [[p["context"]] for article in data for p in article["paragraphs"]]
    return texts


def synthetic(n: int, pool: SentencePool, seed: int = 0, noise: float = NOISE) -> tuple[np.ndarray, np.ndarray]:
    """(sentence ids per passage [n, 3], passage vectors [n, dim]). Each document of
    PASSAGES_PER_DOCUMENT passages draws one source text (by its number of sentences) and
    each of its passages three of that text's sentences."""
    rng = np.random.default_rng(seed)
    members = pool.members
    sizes = np.array([len(m) for m in members], float)
    documents = rng.choice(len(members), (n + PASSAGES_PER_DOCUMENT - 1) // PASSAGES_PER_DOCUMENT, p=sizes / sizes.sum())
    of_passage = documents[np.arange(n) // PASSAGES_PER_DOCUMENT]
    picks = rng.random((n, SENTENCES_PER_PASSAGE)) * sizes[of_passage, None]
    starts = np.cumsum(np.concatenate([[0], sizes[:-1]])).astype(np.int64)
    ids = np.concatenate(members)[starts[of_passage, None] + picks.astype(np.int64)]
    vectors = np.empty((n, pool.passage_vectors.shape[1]), np.float32)
    for start in range(0, n, 100_000):
        part = ids[start : start + 100_000]
        weights = rng.uniform(0.5, 1.0, part.shape).astype(np.float32)
        mixed = (pool.passage_vectors[part] * weights[..., None]).sum(1)
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        vectors[start : start + len(part)] = shaped_noise(mixed, pool.noise_basis, rng, noise)
    return ids, vectors


def synthetic_queries(pool: SentencePool, count: int, seed: int = 7, noise: float = NOISE) -> tuple[np.ndarray, np.ndarray]:
    """(asked sentence ids, query vectors): real query embeddings of pool sentences plus noise."""
    rng = np.random.default_rng(seed)
    asked = rng.integers(0, len(pool.sentences), count)
    return asked, shaped_noise(pool.query_vectors[asked], pool.noise_basis, rng, noise)


def _median_ms(run, items, passes: int = TIMED_PASSES) -> float:
    """Median wall time of ``run(item)`` over ``passes`` passes through ``items``, in
    milliseconds, after one untimed pass (warm: pages touched, caches filled)."""
    items = list(items)
    for item in items:
        run(item)
    times = []
    for _ in range(passes):
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
    """Passages, PASSAGES_PER_DOCUMENT a document, with their tokens, in the shape a store writes.
    Each text ends with its number: passages of one source text often recombine the same
    sentences, and the store hands vectors over by text, so equal texts would share one vector."""
    from .store import DocumentInfo, Prepared

    per = PASSAGES_PER_DOCUMENT
    chunks = [Chunk(i, f"synthetic-{i // per}", "synthetic", i % per + 1, 0, 0,
                    "".join(pool.sentences[s] for s in row) + f"〔{i}〕") for i, row in enumerate(ids.tolist())]
    tokens = [[t for s in row for t in pool.tokens[s]] for row in ids.tolist()]
    docs = [DocumentInfo(f"synthetic-{d}", "synthetic", "", min(per, n - per * d)) for d in range((n + per - 1) // per)]
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
    documents are carried by their recorded hashes and the new one goes into a delta segment, or,
    for an index too small for a delta, everything is written again)."""
    from .store import DocumentInfo, Prepared, embed_text, read_documents, read_manifest, write_local

    extra = [replace(c, chunk_id=len(corpus.chunks) + i, doc_id="added-document") for i, c in enumerate(corpus.chunks[:20])]
    info = DocumentInfo("added-document", "added", "", 20)
    started = time.perf_counter()
    if settings.store.kind == "local":
        layout = read_documents(work / read_manifest(work)["generation"])
        added = Prepared(extra, [info], corpus.tokens[:20], None, [], [])
        known = dict(zip((embed_text(c) for c in extra), vectors[:20]))
        if write_local(work, replace(settings, index_dir=work), _FixedEncoder(settings.model, int(vectors.shape[1])),
                       added, False, lambda _m: None, known_vectors=known,
                       carried=[d for d in layout if not d.deleted]) is not None:
            return time.perf_counter() - started
    grown = Prepared(corpus.chunks + extra, corpus.infos + [info], corpus.tokens + corpus.tokens[:20], None, [], [])
    _write(work, settings, grown, np.concatenate([vectors, vectors[:20]]))
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
    from .vector_index import calibration_queries, recall_at_k

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

    asked, queries = synthetic_queries(pool, QUERIES)

    def recall_on(asking: np.ndarray) -> float:
        _, truth = faiss.knn(asking, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
        return recall_at_k([[row for row, _ in index.vector_search(q, 10)] for q in asking], truth)

    recall = recall_on(queries)
    # Moved passages of the calibration's kind, not the ones it chose the breadth on: its
    # recall measured out of sample.
    moved_recall = recall_on(calibration_queries(vectors, FRESH_MOVED, seed=FRESH_MOVED_SEED))
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
        # what the index measured when it chose its breadth: moved passages (qa.vector_index.calibration_queries)
        "calibration_recall_at_10": info.get("recall_at_10"),
        "moved_recall_at_10": round(moved_recall, 4),  # fresh moved passages, out of sample
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
