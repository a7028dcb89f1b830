"""Keyword search: a BM25 index (bm25s) over jieba tokens, with document frequencies (:class:`TermStats`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np


class TermStats:
    """Document frequencies of a corpus's tokens: what query analysis weighs question words by."""

    FILE = "doc_freq.json"

    def __init__(self, doc_freq: dict[str, int], size: int, avgdl: float | None = None) -> None:
        self.doc_freq = doc_freq
        self.size = size
        self.avgdl = avgdl  # mean tokens a passage (what BM25 normalises length by); None in old indexes

    @classmethod
    def count(cls, tokenised: list[list[str]]) -> TermStats:
        doc_freq: dict[str, int] = {}
        for toks in tokenised:
            for tok in set(toks):
                doc_freq[tok] = doc_freq.get(tok, 0) + 1
        return cls(doc_freq, len(tokenised), sum(map(len, tokenised)) / max(len(tokenised), 1))

    def idf(self, token: str) -> float:
        """Smoothed inverse document frequency; unseen tokens get the highest value."""
        return math.log(1 + (self.size + 1) / (self.doc_freq.get(token, 0) + 0.5))

    def save_stats(self, folder: Path) -> None:
        (folder / self.FILE).write_text(
            json.dumps({"size": self.size, "avgdl": self.avgdl, "doc_freq": self.doc_freq}, ensure_ascii=False),
            "utf-8")

    @classmethod
    def load_stats(cls, folder: Path) -> TermStats:
        data = json.loads((folder / cls.FILE).read_text("utf-8"))
        return TermStats(data["doc_freq"], int(data["size"]), data.get("avgdl"))


class KeywordIndex(TermStats):
    def __init__(self, retriever, doc_freq: dict[str, int], size: int, avgdl: float | None = None) -> None:
        super().__init__(doc_freq, size, avgdl)
        self._retriever = retriever

    @classmethod
    def build(cls, tokenised: list[list[str]]) -> KeywordIndex:
        import bm25s

        retriever = bm25s.BM25()
        # bm25s cannot index an empty token list; a lone placeholder keeps row numbers aligned.
        retriever.index([toks or ["\x00"] for toks in tokenised], show_progress=False)
        stats = TermStats.count(tokenised)
        return cls(retriever, stats.doc_freq, stats.size, stats.avgdl)

    def search(self, tokens: list[str], k: int) -> list[tuple[int, float]]:
        """(row, score) pairs with a positive score, best first."""
        known = self._known(tokens)
        if not known or self.size == 0:
            return []
        scores = self._retriever.get_scores(known)  # bm25s's or SavedScores', the same sums
        return [(int(r), float(scores[r])) for r in top_rows(scores, k) if scores[r] > 0]

    def score_rows(self, tokens: list[str], rows: range) -> list[tuple[int, float]]:
        """BM25 scores (corpus-wide statistics) of just these rows, best first, positive only."""
        known = self._known(tokens)
        if not known or not rows:
            return []
        scores = self._retriever.get_scores(known)[rows.start : rows.stop]
        pairs = [(rows.start + i, float(s)) for i, s in enumerate(scores) if s > 0]
        return sorted(pairs, key=lambda p: -p[1])

    def _known(self, tokens: list[str]) -> list[str]:
        return [t for t in tokens if t in self.doc_freq]  # bm25s cannot score unseen tokens

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder), show_progress=False)
        self.save_stats(folder)

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> KeywordIndex:
        """The saved index, its score matrix memory-mapped by default (see VectorIndex.load)."""
        stats = TermStats.load_stats(folder)
        retriever = SavedScores.open(folder, mmap)
        if retriever is None:
            import bm25s

            retriever = bm25s.BM25.load(str(folder), mmap=mmap)
        return cls(retriever, stats.doc_freq, stats.size, stats.avgdl)


class SavedScores:
    """Scores with the BM25 score matrix bm25s saved, as ``bm25s.BM25`` does once loaded: a query's
    scores are the sums of its tokens' columns (a token asked twice counts twice), identical to
    bm25s's (tests/test_keyword_index.py); :func:`top_rows` picks the best of either.
    bm25s imports scipy, 0.18 s of every one-shot ``qa ask``; it still builds and saves the index.
    Only methods without a non-occurrence term are read so (``BM25()``'s default, lucene)."""

    FILES = ("data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy", "vocab.index.json",
             "params.index.json")

    def __init__(self, folder: Path, params: dict, mmap: bool = True) -> None:
        mode = "r" if mmap else None
        self.data, self.indices, self.indptr = (np.load(folder / name, mmap_mode=mode) for name in self.FILES[:3])
        self.vocab: dict[str, int] = json.loads((folder / self.FILES[3]).read_text("utf-8"))
        self.size, self.dtype = int(params["num_docs"]), np.dtype(params.get("dtype", "float32"))

    @classmethod
    def open(cls, folder: Path, mmap: bool = True) -> SavedScores | None:
        """The saved matrix, or None where it needs bm25s (a non-occurrence term, files missing)."""
        try:
            params = json.loads((folder / cls.FILES[4]).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        readable = params.get("method") in ("lucene", "robertson", "atire") and \
            not (folder / "nonoccurrence_array.index.npy").exists() and all((folder / f).exists() for f in cls.FILES)
        return cls(folder, params, mmap) if readable else None

    def get_scores(self, tokens: list[str]) -> np.ndarray:
        ids = np.asarray([self.vocab[t] for t in tokens if t in self.vocab], dtype=np.int64)
        scores = np.zeros(self.size, dtype=self.dtype)
        for start, end in zip(self.indptr[ids].tolist(), self.indptr[ids + 1].tolist()):
            np.add.at(scores, self.indices[start:end], self.data[start:end])
        return scores

    def save(self, folder: Path, show_progress: bool = False) -> None:
        raise TypeError("a loaded keyword index is read-only; build a new one to save")


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """The rows of the ``k`` best scores, best first, equal scores by row number (deterministic,
    where bm25s leaves ties to ``np.argpartition``). Selecting on the negated scores: most of a
    large corpus scores 0 for a question, and NumPy's argpartition for the top of such an array
    took 34 ms at a million rows, against 2 ms this way (README, "Speed and scale")."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, np.int64)
    kth = -np.partition(-scores, k - 1)[k - 1]  # the k-th best score
    above = np.flatnonzero(scores > kth)
    tied = np.flatnonzero(scores == kth)[: k - len(above)]
    top = np.concatenate([above, tied])
    return top[np.lexsort((top, -scores[top]))]
