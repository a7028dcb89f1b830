"""Retrieve: BM25, dense, or both fused.

Fusion ``score`` (default) puts both signals on one scale per question: BM25 divided by its
best score, cosine similarity min-max scaled over the candidates, then mixed by
``bm25_share``. Unlike rank fusion it keeps how *much* better the top BM25 match is, which
matters when one passage is a clear lexical winner. ``rrf`` (reciprocal rank fusion, adding
``weight / (k + rank)``) is kept as an option.
"""

from __future__ import annotations

import numpy as np

from .config import RetrievalSettings
from .encoders import Encoder
from .query import Query
from .schema import Hit
from .stores.base import SearchIndex

MODES = ("hybrid", "bm25", "dense")


def score_fusion(bm25: dict[int, float], dense: dict[int, float], bm25_share: float) -> dict[int, float]:
    """Mix BM25 (scaled by its best score) and cosine (min-max scaled) per candidate."""
    top = max(bm25.values(), default=0.0) or 1.0
    low, high = (min(dense.values()), max(dense.values())) if dense else (0.0, 1.0)
    spread = (high - low) or 1.0
    return {row: bm25_share * bm25.get(row, 0.0) / top
            + (1 - bm25_share) * ((dense[row] - low) / spread if row in dense else 0.0)
            for row in bm25.keys() | dense.keys()}


class HybridRetriever:
    def __init__(self, index: SearchIndex, encoder: Encoder, settings: RetrievalSettings) -> None:
        self.index = index
        self.encoder = encoder
        self.settings = settings

    def encode(self, queries: list[Query]) -> np.ndarray:
        """Encode many questions in one batch (evaluation runs hundreds at once)."""
        return self.encoder.encode_queries([q.text for q in queries])

    def run(self, query: Query, vector: np.ndarray | None = None, mode: str | None = None,
            top_k: int | None = None, doc: str | None = None, exclude: str | None = None) -> list[Hit]:
        """The top passages for ``query``; with ``doc``, only that document's passages; with
        ``exclude``, none of that document's (as if it were not in the collection)."""
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode '{mode}' (choose from {', '.join(MODES)})")
        top_k = top_k or self.settings.top_k
        depth = max(self.settings.candidates, top_k)
        bm25: list[tuple[int, float]] = []
        if mode != "dense":
            bm25 = self.index.keyword_search(query.tokens, depth, doc=doc, exclude=exclude)
        dense: list[tuple[int, float]] = []
        if mode != "bm25":
            vector = self.encoder.encode_queries([query.text])[0] if vector is None else vector
            dense = self.index.vector_search(vector, depth, doc=doc, exclude=exclude)
        return self._fuse(bm25, dense, mode, top_k)

    def _fuse(self, bm25: list[tuple[int, float]], dense: list[tuple[int, float]], mode: str,
              top_k: int) -> list[Hit]:
        s = self.settings
        bm25_rank = {row: r for r, (row, _) in enumerate(bm25, start=1)}
        dense_rank = {row: r for r, (row, _) in enumerate(dense, start=1)}
        if mode == "bm25":
            scores = dict(bm25)
        elif mode == "dense":
            scores = dict(dense)
        elif s.fusion == "rrf":
            scores = {}
            for row, rank in bm25_rank.items():
                scores[row] = scores.get(row, 0.0) + s.bm25_weight / (s.rrf_k + rank)
            for row, rank in dense_rank.items():
                scores[row] = scores.get(row, 0.0) + s.dense_weight / (s.rrf_k + rank)
        else:
            scores = score_fusion(dict(bm25), dict(dense), s.bm25_share)
        best = sorted(scores, key=lambda row: -scores[row])[:top_k]
        chunks = self.index.passages(best)  # one fetch for all of them (one round trip to a server)
        return [Hit(c, scores[row], bm25_rank.get(row), dense_rank.get(row)) for c, row in zip(chunks, best)]
