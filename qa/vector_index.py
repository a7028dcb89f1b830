"""Dense search over L2-normalised vectors (inner product = cosine), the FAISS index chosen by size.

Up to ``exact_max`` passages the search is exact (``IndexFlatIP``). Beyond that an IVF-Flat
index is trained on the corpus's own vectors and its ``nprobe`` is chosen at build time: the
smallest that reaches ``target_recall`` recall@10 against exact search, measured on sampled
passages perturbed into queries. Kind, parameters and the measured recall are recorded in
the manifest (``info``); ``kind`` forces one (``flat``, ``ivf``, ``hnsw``). When IVF's widest
probe stays under ``recall_floor``, ``auto`` builds HNSW instead and records why (``instead_of``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import VectorIndexSettings, available_cores

KINDS = ("auto", "flat", "ivf", "hnsw")
#: Cosine of a calibration query to the passage it was made from: the 10th percentile of real
#: questions' cosine to their gold passage (multilingual-e5-small, 300 questions each: CMRC
#: trial 0.874, DRCD dev 0.860; medians 0.911 / 0.892). Lower = harder queries = wider search.
CALIBRATION_COSINE = 0.87
#: Query batches up to this size are searched on one thread.
SERIAL_QUERIES = 8


def recall_at_k(found, truth) -> float:
    """Mean share of each query's true top k (rows of ``truth``) that ``found`` returned."""
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


class VectorIndex:
    def __init__(self, index, info: dict | None = None) -> None:
        self._index = index
        self.info = info or {"kind": "flat"}
        self._apply(self.info)

    @classmethod
    def build(cls, vectors: np.ndarray, settings: VectorIndexSettings | None = None) -> VectorIndex:
        import faiss

        settings = settings or VectorIndexSettings()
        if settings.kind not in KINDS:
            raise ValueError(f"unknown vector index kind {settings.kind!r} (choose from {', '.join(KINDS)})")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        kind = settings.kind
        if kind == "auto":
            if n > settings.exact_max:
                return cls._ivf_or_hnsw(vectors, settings)
            kind = "flat"
        if kind == "flat" or n < 2:
            index = faiss.IndexFlatIP(dim)
            index.add(vectors)
            return cls(index, {"kind": "flat"})
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = settings.hnsw_ef_construction
            index.add(vectors)
            knob = "ef_search"
        else:
            nlist = max(1, min(n // 39, int(settings.ivf_lists_per_sqrt * np.sqrt(n))))  # FAISS wants ≥ 39 points a list
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            sample = vectors[np.random.default_rng(0).choice(n, min(n, nlist * settings.ivf_train_per_list), replace=False)]
            index.train(sample)
            index.add(vectors)
            knob = "nprobe"
        out = cls(index, {"kind": kind})
        out.info = {"kind": kind, **out._calibrate(vectors, knob, settings)}
        if kind == "ivf":
            out.info["nlist"] = nlist
        return out

    @classmethod
    def _ivf_or_hnsw(cls, vectors: np.ndarray, settings: VectorIndexSettings) -> VectorIndex:
        """IVF, unless its widest allowed probe stays under the recall floor (vectors crowded
        together: at 1M synthetic passages IVF stopped at 0.93); then HNSW, which reached 0.985
        there at the same latency, for a build about 4.7× longer. The miss is recorded."""
        from dataclasses import replace

        ivf = cls.build(vectors, replace(settings, kind="ivf"))
        if ivf.info["recall_at_10"] >= settings.recall_floor:
            return ivf
        hnsw = cls.build(vectors, replace(settings, kind="hnsw"))
        if hnsw.info["recall_at_10"] <= ivf.info["recall_at_10"]:
            return ivf
        hnsw.info["instead_of"] = {k: ivf.info[k] for k in ("kind", "nlist", "nprobe", "recall_at_10")}
        return hnsw

    def _calibrate(self, vectors: np.ndarray, knob: str, settings: VectorIndexSettings) -> dict:
        """The smallest search breadth whose recall@10 against exact search reaches the target."""
        import faiss

        rng = np.random.default_rng(1)
        queries = vectors[rng.choice(len(vectors), min(len(vectors), settings.calibration_queries), replace=False)]
        # A question is near its passage, not on it: perturb each sample to the cosine real questions
        # have to their passages' vectors, at the hard end (CALIBRATION_COSINE).
        sigma = np.sqrt(1 / CALIBRATION_COSINE**2 - 1)
        queries = queries + rng.normal(0, sigma / np.sqrt(vectors.shape[1]), queries.shape).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        k = min(10, len(vectors))
        _, truth = faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
        value, recall = 1, 0.0
        limit = settings.ivf_nprobe_max if knob == "nprobe" else settings.hnsw_ef_max
        while True:
            self._apply({knob: value})
            _, found = self._index.search(queries, k)
            recall = recall_at_k(found, truth)
            if recall >= settings.target_recall or value >= limit:
                return {knob: value, "recall_at_10": round(recall, 4)}
            value = min(limit, value * 2 if knob == "nprobe" else max(value * 2, 16))

    def _apply(self, info: dict) -> None:
        if "nprobe" in info:
            self._index.nprobe = int(info["nprobe"])
        if "ef_search" in info:
            self._index.hnsw.efSearch = int(info["ef_search"])

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        return int(self._index.d)

    def vectors(self) -> np.ndarray:
        if not self.size:
            return np.zeros((0, self.dim), np.float32)
        return self._reconstruct(0, self.size)

    def _reconstruct(self, start: int, count: int) -> np.ndarray:
        if self.info.get("kind") == "ivf":  # IVF lists need a row → list map to give rows back
            self._index.make_direct_map()
        return self._index.reconstruct_n(start, count)

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        import faiss

        if self.size == 0:
            return [[] for _ in range(len(queries))]
        # One question is a few ms of work: OpenMP's thread team costs more than it saves, and
        # on a busy machine 2 threads made a 10k exact search 13 ms instead of 0.6 ms.
        faiss.omp_set_num_threads(1 if len(queries) <= SERIAL_QUERIES else available_cores())
        scores, rows = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, self.size))
        return [[(int(r), float(s)) for r, s in zip(rr, ss) if r >= 0] for rr, ss in zip(rows, scores)]

    def score_rows(self, query: np.ndarray, rows: range) -> list[tuple[int, float]]:
        """Exact inner products of one query with these rows, best first."""
        if not rows:
            return []
        scores = self._reconstruct(rows.start, len(rows)) @ np.asarray(query, np.float32)
        return sorted(((rows.start + i, float(s)) for i, s in enumerate(scores)), key=lambda p: -p[1])

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, info: dict | None = None, mmap: bool = True) -> VectorIndex:
        """The saved index; memory-mapped by default (read-only, which an opened generation is):
        opening then costs no copy of the vectors (1M × 384 floats is 1.5 GB), pages are read as
        searches touch them and are shared between processes serving the same index."""
        import faiss

        return cls(faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mmap else 0), info)
