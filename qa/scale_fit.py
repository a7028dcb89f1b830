"""Fit the two noises that stand in for real text in approximate search to real embeddings.

- ``qa.scale_bench.NOISE``: a synthetic corpus stands in for collections too big to embed here,
  so it must be as hard for an approximate index as real text is.
- ``qa.vector_index.CALIBRATION_NOISE``: the queries that choose an index's search breadth at
  build time (sampled passages, moved) must be as hard to search as real questions.

Both are measured where real data exists: the passages of the evaluation indexes, asked by real
questions, give the recall@10 that HNSW reaches at a few ``ef`` and IVF at a few ``nprobe``, and
the local intrinsic dimension of the query neighbourhoods (the MLE of Levina & Bickel over 20
neighbours, the quantity ANN difficulty follows). Each noise is the one whose recall curves
(on a synthetic corpus of the same size, or for the moved passages on the real corpus) come
closest to the real ones; the dimension is reported beside it as a check it was not fitted on.

    python -m qa.scale_fit eval/cmrc/index-300=eval/cmrc/questions.jsonl ... [--pool public]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .config import Settings, VectorIndexSettings

HNSW_EF = (10, 16, 32)
IVF_NPROBE = (1, 4, 8)
NOISES = (0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.6)
CALIBRATION_NOISES = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)
QUESTIONS_PER_SET = 300
NEIGHBOURS = 20


@dataclass(frozen=True)
class Difficulty:
    """How hard one corpus and its queries are for approximate search."""

    name: str
    passages: int
    lid: float  # median local intrinsic dimension around the queries
    top1_cosine: float
    recall: dict[str, float]  # "hnsw ef 10" → recall@10 against exact search

    def distance(self, other: Difficulty) -> float:
        return float(np.mean([abs(self.recall[k] - other.recall[k]) for k in self.recall]))


def difficulty(name: str, vectors: np.ndarray, queries: np.ndarray) -> Difficulty:
    import faiss

    from .vector_index import ivf_lists, recall_at_k

    settings = VectorIndexSettings()
    faiss.omp_set_num_threads(1)  # deterministic HNSW graphs
    scores, rows = faiss.knn(queries, vectors, NEIGHBOURS, metric=faiss.METRIC_INNER_PRODUCT)
    distances = np.sqrt(np.maximum(2 - 2 * scores, 1e-12))  # unit vectors: ‖a − b‖² = 2 − 2 cos
    lid = -1 / np.mean(np.log(distances[:, :-1] / distances[:, -1:]), axis=1)
    truth, recall = rows[:, :10], {}
    dim = vectors.shape[1]
    hnsw = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = settings.hnsw_ef_construction
    hnsw.add(vectors)
    for ef in HNSW_EF:
        hnsw.hnsw.efSearch = ef
        recall[f"hnsw ef {ef}"] = recall_at_k(hnsw.search(queries, 10)[1], truth)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, ivf_lists(len(vectors), settings), faiss.METRIC_INNER_PRODUCT)
    ivf.cp.seed = 0
    ivf.train(vectors)
    ivf.add(vectors)
    for nprobe in IVF_NPROBE:
        ivf.nprobe = nprobe
        recall[f"ivf nprobe {nprobe}"] = recall_at_k(ivf.search(queries, 10)[1], truth)
    return Difficulty(name, len(vectors), round(float(np.median(lid)), 1), round(float(np.median(scores[:, 0])), 3),
                      {k: round(v, 3) for k, v in recall.items()})


def real_vectors(index_dirs: list[Path]) -> np.ndarray:
    from .store import read_manifest
    from .vector_index import VectorIndex

    return np.concatenate([VectorIndex.load(d / read_manifest(d)["generation"] / "vectors.faiss", mmap=False).vectors()
                           for d in index_dirs])


def real_questions(files: list[Path], per_set: int = QUESTIONS_PER_SET) -> list[str]:
    """A fixed sample of each file's questions (the same every run)."""
    out = []
    for file in files:
        questions = [json.loads(line)["question"] for line in file.read_text("utf-8").splitlines() if line.strip()]
        random.Random(0).shuffle(questions)
        out += questions[:per_set]
    return out


def fit(index_dirs: list[Path], question_files: list[Path], pool_name: str, settings: Settings) -> dict:
    from .encoders import load_encoder
    from .scale_bench import sentence_pool, synthetic, synthetic_queries
    from .vector_index import calibration_queries

    vectors = real_vectors(index_dirs)
    questions = real_questions(question_files)
    queries = load_encoder(settings.model, settings.encoder).encode_queries(questions).astype(np.float32)
    real = difficulty("real", vectors, queries)
    calibration = [difficulty(f"moved passages, noise {x}", vectors, calibration_queries(vectors, len(queries), x))
                   for x in CALIBRATION_NOISES]
    pool = sentence_pool(settings, pool_name)
    corpus = []
    for noise in NOISES:
        _, made = synthetic(len(vectors), pool, noise=noise)
        corpus.append(difficulty(f"synthetic, noise {noise}", made, synthetic_queries(pool, len(queries), noise=noise)[1]))
        print(f"… noise {noise}: {corpus[-1].distance(real):.3f} from the real recall curves", file=sys.stderr)
    return {"real": asdict(real), "pool": pool_name, "questions": len(questions),
            "corpus": _choice(real, NOISES, corpus), "calibration": _choice(real, CALIBRATION_NOISES, calibration)}


def _choice(real: Difficulty, noises: tuple[float, ...], candidates: list[Difficulty]) -> dict:
    best = min(range(len(noises)), key=lambda i: candidates[i].distance(real))
    return {"noise": noises[best], "candidates": [{**asdict(c), "noise": x, "distance": round(c.distance(real), 4)}
                                                   for x, c in zip(noises, candidates)]}


def markdown(real: dict, choice: dict) -> str:
    keys = list(real["recall"])
    lines = [f"| queries and corpus | passages | LID | top-1 cosine | {' | '.join(keys)} | distance |",
             "|---" * (len(keys) + 5) + "|"]
    for row in [real, *choice["candidates"]]:
        mark = "**" if row.get("noise") == choice["noise"] else ""
        lines.append(f"| {mark}{row['name']}{mark} | {row['passages']:,} | {row['lid']} | {row['top1_cosine']} | "
                     + " | ".join(str(row["recall"][k]) for k in keys) + f" | {row.get('distance', '—')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.scale_fit", description=__doc__.splitlines()[0])
    parser.add_argument("pairs", nargs="+", help="INDEX_DIR=QUESTIONS.jsonl (an index dir alone adds passages only)")
    parser.add_argument("--pool", default="public")
    parser.add_argument("--out", default="reports/scale-fit.json")
    args = parser.parse_args(argv)
    pairs = [p.split("=", 1) for p in args.pairs]
    result = fit([Path(p[0]) for p in pairs], [Path(p[1]) for p in pairs if len(p) == 2], args.pool, Settings())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1), "utf-8")
    for name in ("calibration", "corpus"):
        print(markdown(result["real"], result[name]), end="\n\n")
    print(f"fitted: calibration noise {result['calibration']['noise']}, synthetic corpus noise "
          f"{result['corpus']['noise']} (written to {args.out})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
