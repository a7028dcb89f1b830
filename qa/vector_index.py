"""Dense search over L2-normalised vectors (inner product = cosine), the FAISS index chosen by size.

Up to ``exact_max`` passages the search is exact (``IndexFlatIP``). Beyond that an IVF index
is trained on the corpus's own vectors and its ``nprobe`` is chosen at build time: the
smallest that reaches ``target_recall`` recall@10 against exact search, measured on sampled
passages perturbed into queries, or, where the widest allowed probe stays under that, the
smallest that keeps ``recall_floor``. ``auto`` builds ``ivf-pq``: the lists hold 4-bit product-
quantised codes scanned with SIMD (FAISS's fast-scan), and the best ``pq_refine`` codes
found are re-scored exactly against the stored vectors; at a million passages it reaches the
recall of ``ivf`` (IVF-Flat, every vector scanned in full) about 5× faster. Kind, parameters
and the measured recall are recorded in the manifest (``info``); ``kind`` forces one (``flat``,
``ivf``, ``ivf-pq``, ``hnsw``). When IVF's widest probe stays under ``recall_floor``, ``auto``
builds HNSW instead and records why (``instead_of``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import VectorIndexSettings, available_cores

KINDS = ("auto", "flat", "ivf", "ivf-pq", "hnsw")
IVF_KINDS = ("ivf", "ivf-pq")
#: Size of the noise that turns sampled passages into calibration queries, relative to a unit
#: vector, shaped like the corpus's own spread (:func:`shaped_noise`). Fitted by ``python -m
#: qa.scale_fit`` so that HNSW and IVF find these queries' neighbours as hard to find as those of
#: 900 real questions (CMRC, DRCD, CJRC) on the 5,012 real passages of the evaluation indexes
#: (reports/scale-fit.json). Isotropic noise at the cosine questions have to their passages,
#: used before, made queries far easier (IVF recall at nprobe 8 0.905 against real 0.798), so
#: the search breadth chosen fell short for real questions.
CALIBRATION_NOISE = 0.6
#: Sampled vectors whose spread shapes the noise.
NOISE_BASIS_SAMPLE = 4096
#: Query batches up to this size are searched on one thread.
SERIAL_QUERIES = 8


def noise_basis(vectors: np.ndarray, rng: np.random.Generator, sample: int = NOISE_BASIS_SAMPLE) -> np.ndarray:
    """Rows whose Gaussian mix (z ~ N(0, I)) has the covariance of ``vectors`` (a sample of them)."""
    rows = vectors[rng.choice(len(vectors), sample, replace=False)] if len(vectors) > sample else vectors
    centred = rows - rows.mean(0)
    return (centred / np.sqrt(max(len(centred), 1))).astype(np.float32)


def shaped_noise(vectors: np.ndarray, basis: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """``vectors`` moved by Gaussian noise with the covariance ``basis`` spans, of expected norm
    ``noise``, normalised: they move the way real texts differ, not in directions no text takes."""
    shaped = rng.standard_normal((len(vectors), len(basis)), dtype=np.float32) @ basis
    spread = float(np.sqrt((basis**2).sum()))  # E‖z·basis‖² = Σ‖row‖²
    out = vectors + shaped * (noise / spread) if spread > 0 else vectors.copy()
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def calibration_queries(vectors: np.ndarray, count: int, noise: float = CALIBRATION_NOISE, seed: int = 1) -> np.ndarray:
    """Sampled passages moved by corpus-shaped noise: queries about as hard to search as real questions."""
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(len(vectors), min(len(vectors), count), replace=False)]
    return shaped_noise(sample, noise_basis(vectors, rng), rng, noise)


def ivf_lists(n: int, settings: VectorIndexSettings) -> int:
    """IVF lists for ``n`` vectors: ``ivf_lists_per_sqrt``·√n, at most n / 39 (FAISS wants ≥ 39 points a list)."""
    return max(1, min(n // 39, int(settings.ivf_lists_per_sqrt * np.sqrt(n))))


def recall_at_k(found, truth) -> float:
    """Mean share of each query's true top k (rows of ``truth``) that ``found`` returned."""
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


class VectorIndex:
    def __init__(self, index, info: dict | None = None) -> None:
        self._index = index
        self.info = info or {"kind": "flat"}
        self._refine = 0  # ivf-pq: how many of the best codes a search re-scores exactly
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
        if kind == "ivf-pq" and dim % 2:
            kind = "ivf"  # the 4-bit codes pair dimensions
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
            nlist = ivf_lists(n, settings)
            # ivf-pq: two dimensions a 4-bit code, the codes re-scored by the exact vectors (RFlat).
            spec = f"IVF{nlist},Flat" if kind == "ivf" else f"IVF{nlist},PQ{dim // 2}x4fs,RFlat"
            index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
            sample = vectors[np.random.default_rng(0).choice(n, min(n, nlist * settings.ivf_train_per_list), replace=False)]
            index.train(sample)
            index.add(vectors)
            knob = "nprobe"
        extra = {"nlist": nlist} if kind in IVF_KINDS else {}
        if kind == "ivf-pq":
            extra["refine"] = settings.pq_refine
        out = cls(index, {"kind": kind, **extra})
        out.info = {"kind": kind, **out._calibrate(vectors, knob, settings), **extra}
        return out

    @classmethod
    def _ivf_or_hnsw(cls, vectors: np.ndarray, settings: VectorIndexSettings) -> VectorIndex:
        """IVF (``ivf-pq``), unless its widest allowed probe stays under the recall floor (vectors
        crowded together: at 1M synthetic passages of one topic IVF stopped at 0.93); then HNSW,
        which reached 0.985 there at the same latency, for a build about 4.7× longer. The miss is
        recorded."""
        from dataclasses import replace

        ivf = cls.build(vectors, replace(settings, kind="ivf-pq"))
        if ivf.info["recall_at_10"] >= settings.recall_floor:
            return ivf
        hnsw = cls.build(vectors, replace(settings, kind="hnsw"))
        if hnsw.info["recall_at_10"] <= ivf.info["recall_at_10"]:
            return ivf
        hnsw.info["instead_of"] = {k: ivf.info[k] for k in ("kind", "nlist", "nprobe", "recall_at_10")}
        return hnsw

    def _calibrate(self, vectors: np.ndarray, knob: str, settings: VectorIndexSettings) -> dict:
        """The smallest search breadth whose recall@10 against exact search reaches the target;
        where the widest allowed breadth stays under it, the smallest that keeps the floor.

        Doubling brackets the breadth, bisection narrows the bracket to an eighth. Past the
        target's reach, breadth buys recall slowly for its time: at 1M synthetic passages the
        calibration queries got 0.971 / 0.981 / 0.985 / 0.987 at nprobe 128 / 192 / 224 / 256
        for 1.5 / 1.9 / 2.1 / 2.3 ms, so the widest probe cost a fifth more time than the floor
        for 0.006 of recall."""
        import faiss

        queries = calibration_queries(vectors, settings.calibration_queries)
        k = min(10, len(vectors))
        _, truth = faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)

        def recall_at(value: int) -> float:
            self._apply({knob: value})
            return recall_at_k(self._search(queries, k)[1], truth)

        limit = settings.hnsw_ef_max
        if knob == "nprobe":
            nlist = faiss.extract_index_ivf(self._index).nlist
            limit = max(1, min(nlist, settings.ivf_scan_max * nlist // len(vectors)))
        measured, value = {}, 1
        while True:
            measured[value] = recall_at(value)
            if measured[value] >= settings.target_recall or value >= limit:
                break
            value = min(limit, value * 2 if knob == "nprobe" else max(value * 2, 16))
        goal = settings.target_recall if measured[value] >= settings.target_recall else settings.recall_floor
        high = min((v for v, r in measured.items() if r >= goal), default=value)
        low = max((v for v, r in measured.items() if r < goal and v < high), default=0)
        while high - low > max(1, high // 8) and measured[high] >= goal:
            middle = (low + high) // 2
            measured[middle] = recall_at(middle)
            low, high = (low, middle) if measured[middle] >= goal else (middle, high)
        self._apply({knob: high})
        return {knob: high, "recall_at_10": round(measured[high], 4), "recall_goal": goal}

    def _apply(self, info: dict) -> None:
        import faiss

        if "nprobe" in info:
            faiss.extract_index_ivf(self._index).nprobe = int(info["nprobe"])
        if "ef_search" in info:
            self._index.hnsw.efSearch = int(info["ef_search"])
        if "refine" in info:
            self._refine = int(info["refine"])

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        params = None
        if self._refine:  # the same number re-scored whatever k, passed per call (no shared state)
            params = faiss.IndexRefineSearchParameters(k_factor=max(1.0, self._refine / k))
        return self._index.search(queries, k, params=params)

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
        scores, rows = self._search(np.ascontiguousarray(queries, dtype=np.float32), min(k, self.size))
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
