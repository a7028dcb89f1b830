"""Synthetic corpora of N passages for ``qa bench --scale N``, without running the model per passage.

Passages recombine three real sentences of the seed documents. A passage's vector is the
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
from pathlib import Path

import numpy as np

from .config import ROOT, Settings
from .schema import Chunk

SENTENCES_PER_PASSAGE = 3
NOISE = 0.6  # noise norm relative to a unit signal: cosine to the noiseless vector ≈ 0.85
QUERIES = 200


def sentence_pool(settings: Settings):
    """Seed sentences, their jieba tokens and their real passage/query embeddings."""
    from .encoders import load_encoder
    from .sentences import split
    from .store import prepare
    from .tokenizer import Tokenizer

    documents, _, _ = prepare([ROOT / "seeds"])
    sentences = list(dict.fromkeys(s.strip() for d in documents for p in d.paragraphs for s in split(p) if len(s.strip()) > 8))
    encoder = load_encoder(settings.model, settings.encoder)
    tokenizer = Tokenizer()
    return (sentences, [tokenizer.tokens(s) for s in sentences], encoder.encode_passages(sentences),
            encoder.encode_queries(sentences))


def _noisy(vectors: np.ndarray, basis: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``vectors`` plus noise shaped by ``basis`` (centred real embeddings, one per row)."""
    noise = rng.standard_normal((len(vectors), len(basis)), dtype=np.float32) @ basis
    noise *= NOISE / np.sqrt((basis**2).sum())  # E‖z·basis‖² = Σ‖row‖²
    out = vectors + noise
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def synthetic(n: int, pool, seed: int = 0):
    """(sentence ids per passage [n, 3], passage vectors [n, dim])."""
    sentences, _tokens, pvecs, _ = pool
    basis = noise_basis(pvecs)
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, len(sentences), (n, SENTENCES_PER_PASSAGE))
    vectors = np.empty((n, pvecs.shape[1]), np.float32)
    for start in range(0, n, 100_000):
        part = ids[start : start + 100_000]
        weights = rng.uniform(0.5, 1.0, part.shape).astype(np.float32)
        mixed = (pvecs[part] * weights[..., None]).sum(1)
        vectors[start : start + len(part)] = _noisy(mixed / np.linalg.norm(mixed, axis=1, keepdims=True), basis, rng)
    return ids, vectors


def noise_basis(vectors: np.ndarray) -> np.ndarray:
    """Rows whose Gaussian mix (z ~ N(0, I)) has the covariance of ``vectors``."""
    centred = vectors - vectors.mean(0)
    return (centred / np.sqrt(len(centred))).astype(np.float32)


def bench_scale(n: int, settings: Settings, work: Path) -> dict:
    import faiss

    from .config import INDEX_FORMAT
    from .keyword_index import KeywordIndex
    from .query import Query
    from .retrieval import HybridRetriever
    from .store import DocumentInfo, _commit, open_index

    pool = sentence_pool(settings)
    sentences, tokens, _, qvecs = pool
    ids, vectors = synthetic(n, pool)
    started = time.perf_counter()
    from .vector_index import VectorIndex

    vector = VectorIndex.build(vectors, settings.vector_index)
    vector_build = time.perf_counter() - started
    keyword = KeywordIndex.build([[t for s in row for t in tokens[s]] for row in ids.tolist()])
    build_s = time.perf_counter() - started

    rng = np.random.default_rng(7)
    asked = rng.integers(0, len(sentences), QUERIES)
    queries = _noisy(qvecs[asked], noise_basis(pool[2]), rng)
    _, truth = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    found, vector_ms = [], []
    for q in queries:
        t = time.perf_counter()
        found.append([row for row, _ in vector.search(q[None, :], 10)[0]])
        vector_ms.append((time.perf_counter() - t) * 1000)
    recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)]))
    keyword_ms = []
    for s in asked:
        t = time.perf_counter()
        keyword.search(tokens[s], settings.retrieval.candidates)
        keyword_ms.append((time.perf_counter() - t) * 1000)

    # Write it as a real index and open it the way `qa ask` does.
    chunks = [Chunk(i, f"synthetic-{i // 20}", "synthetic", i % 20 + 1, 0, 0, "".join(sentences[s] for s in row))
              for i, row in enumerate(ids.tolist())]
    docs = [DocumentInfo(f"synthetic-{d}", "synthetic", "", min(20, n - 20 * d)) for d in range((n + 19) // 20)]
    manifest = {"format": INDEX_FORMAT, "encoder": {"name": settings.model, "dim": int(vectors.shape[1])},
                "chunking": settings.chunking.as_dict(), "fingerprint": "synthetic", "sources": [], "files": {},
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "lexicon_total": None, "vector_index": vector.info}
    _commit(work, manifest, chunks, docs, keyword, vector, None)
    del chunks, docs, keyword, vector
    t = time.perf_counter()
    index = open_index(work)
    open_s = time.perf_counter() - t

    class _Fixed:  # hands the pre-made question vector to the retriever
        name, dim, compatible = settings.model, int(vectors.shape[1]), frozenset()

    retriever = HybridRetriever(index, _Fixed(), settings.retrieval)
    hybrid_ms = []
    for s, q in zip(asked, queries):
        t = time.perf_counter()
        retriever.run(Query(sentences[s], False, "other", tokens[s]), vector=q, mode="hybrid")
        hybrid_ms.append((time.perf_counter() - t) * 1000)
    info = index.vector.info
    return {
        "n": n,
        "vector_index": info["kind"],
        "vector_params": {k: v for k, v in info.items() if k not in ("kind", "recall_at_10")},
        "vector_recall_at_10": round(recall, 4),
        "vector_p50_ms": round(float(np.median(vector_ms)), 3),
        "keyword_p50_ms": round(float(np.median(keyword_ms)), 2),
        "hybrid_p50_ms": round(float(np.median(hybrid_ms)), 2),
        "open_s": round(open_s, 3),
        "add_one_doc_s": None,  # a full rebuild today; incremental segments are still to come
        "build_s": round(build_s, 1),
        "vector_build_s": round(vector_build, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
