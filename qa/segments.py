"""An index as a large base segment plus a small delta, so adding a file does not rebuild it all.

A local index generation holds the base segment's files (``passages.sqlite``, ``bm25/``,
``vectors.faiss``) and, after an incremental build, a ``delta/`` folder with the documents
added or changed since: their passages, an exact FAISS index and a BM25 weight matrix. The
base files are hard links to the previous generation's, so an incremental build writes only
the delta; documents removed or replaced in the base are marked deleted in ``documents.json``
and their rows are filtered out of every search. The next build over the share limits
(``StoreSettings.delta_max_share``) merges everything into one base again.

Row numbers run on: the base's rows first, then the delta's. The delta's BM25 weights use the
whole index's statistics (base plus delta document frequencies, the base's mean length), so its
scores rank together with the base's (bm25s's Lucene formula, k1 1.5, b 0.75).
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from itertools import chain
from pathlib import Path

import numpy as np

from .keyword_index import KeywordIndex, TermStats
from .schema import Chunk
from .stores.base import Scored
from .vector_index import VectorIndex

DELTA_DIR = "delta"
#: bm25s's defaults, which the base segment was built with.
K1, B = 1.5, 0.75


class DeltaKeyword:
    """BM25 over the delta's passages as a term → (rows, weights) matrix, weighted with the
    statistics of base and delta together; small enough to score densely."""

    FILE = "bm25.npz"
    STATS = "terms.json"

    def __init__(self, vocab: dict[str, int], indptr: np.ndarray, rows: np.ndarray, weights: np.ndarray,
                 size: int, doc_freq: dict[str, int]) -> None:
        self.vocab, self.indptr, self.rows, self.weights = vocab, indptr, rows, weights
        self.size = size
        self.doc_freq = doc_freq

    @classmethod
    def build(cls, tokenised: list[list[str]], base: TermStats, base_avgdl: float) -> DeltaKeyword:
        doc_freq = TermStats.count(tokenised).doc_freq
        n = base.size + len(tokenised)
        postings: dict[str, list[tuple[int, int]]] = {}
        for row, toks in enumerate(tokenised):
            counts: dict[str, int] = {}
            for tok in toks:
                counts[tok] = counts.get(tok, 0) + 1
            for tok, tf in counts.items():
                postings.setdefault(tok, []).append((row, tf))
        lengths = np.array([len(t) for t in tokenised], np.float32)
        norm = K1 * ((1 - B) + B * lengths / max(base_avgdl, 1e-9))
        vocab, indptr, rows, weights = {}, [0], [], []
        for tok, pairs in postings.items():
            df = base.doc_freq.get(tok, 0) + doc_freq[tok]
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            r = np.array([p[0] for p in pairs], np.int32)
            tf = np.array([p[1] for p in pairs], np.float32)
            vocab[tok] = len(vocab)
            rows.append(r)
            weights.append(idf * tf / (norm[r] + tf))
            indptr.append(indptr[-1] + len(r))
        return cls(vocab, np.array(indptr, np.int64), _joined(rows, np.int32), _joined(weights, np.float32),
                   len(tokenised), doc_freq)

    def scores(self, tokens: list[str]) -> np.ndarray:
        out = np.zeros(self.size, np.float32)
        for tok in tokens:  # a repeated question word counts again, as in bm25s
            col = self.vocab.get(tok)
            if col is not None:
                a, b = self.indptr[col], self.indptr[col + 1]
                np.add.at(out, self.rows[a:b], self.weights[a:b])
        return out

    def save(self, folder: Path) -> None:
        with (folder / self.FILE).open("wb") as fh:
            np.savez(fh, indptr=self.indptr, rows=self.rows, weights=self.weights)
        terms = sorted(self.vocab, key=self.vocab.get)
        (folder / self.STATS).write_text(json.dumps({"size": self.size, "terms": terms,
                                                     "doc_freq": [self.doc_freq[t] for t in terms]},
                                                    ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, folder: Path) -> DeltaKeyword:
        arrays = np.load(folder / cls.FILE)
        stats = json.loads((folder / cls.STATS).read_text("utf-8"))
        terms = stats["terms"]
        return cls({t: i for i, t in enumerate(terms)}, arrays["indptr"], arrays["rows"], arrays["weights"],
                   int(stats["size"]), dict(zip(terms, stats["doc_freq"])))


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


class _Summed(Mapping[str, int]):
    """Two frequency tables read as one (no merged copy of a million-term vocabulary)."""

    def __init__(self, a: Mapping[str, int], b: Mapping[str, int]) -> None:
        self.a, self.b = a, b

    def __getitem__(self, key: str) -> int:
        if key not in self.a and key not in self.b:
            raise KeyError(key)
        return self.a.get(key, 0) + self.b.get(key, 0)

    def __iter__(self) -> Iterator[str]:
        return chain(self.a, (k for k in self.b if k not in self.a))

    def __len__(self) -> int:
        return len(self.a) + sum(1 for k in self.b if k not in self.a)


def _top(pairs: Scored, k: int) -> Scored:
    return heapq.nlargest(k, pairs, key=lambda p: p[1])


def _live(search, k: int, dead: np.ndarray, dead_count: int) -> list[Scored]:
    """``search(n)`` (one list of hits per query) with deleted rows left out, k live ones each:
    asks for k + a few first, and deeper only when deleted rows crowded the top."""
    want = k + min(dead_count, k)
    while True:
        batches = search(want)
        live = [[(r, s) for r, s in hits if not dead[r]] for hits in batches]
        if want >= k + dead_count or all(len(x) >= k or len(h) < want for x, h in zip(live, batches)):
            return [x[:k] for x in live]
        want = min(k + dead_count, want * 4)


class SegmentedKeyword(TermStats):
    """Base bm25s index and delta matrix searched as one, deleted base rows left out."""

    def __init__(self, base: KeywordIndex, delta: DeltaKeyword, dead: np.ndarray) -> None:
        super().__init__(_Summed(base.doc_freq, delta.doc_freq), base.size + delta.size)  # type: ignore[arg-type]
        self.base, self.delta, self.dead = base, delta, dead
        self._dead_count = int(dead.sum())

    def search(self, tokens: list[str], k: int) -> Scored:
        hits = _live(lambda n: [self.base.search(tokens, n)], k, self.dead, self._dead_count)[0]
        scores = self.delta.scores(tokens)
        best = np.argsort(-scores)[:k]
        hits += [(self.base.size + int(r), float(scores[r])) for r in best if scores[r] > 0]
        return _top(hits, k)

    def score_rows(self, tokens: list[str], rows: range) -> Scored:
        if rows.start < self.base.size:  # one document's rows lie in one segment
            return self.base.score_rows(tokens, rows)
        scores = self.delta.scores(tokens)[rows.start - self.base.size : rows.stop - self.base.size]
        return sorted(((rows.start + i, float(s)) for i, s in enumerate(scores) if s > 0), key=lambda p: -p[1])


class SegmentedVector:
    """Base FAISS index (any kind) and the delta's exact one, searched as one."""

    def __init__(self, base: VectorIndex, delta: VectorIndex, dead: np.ndarray) -> None:
        self.base, self.delta, self.dead = base, delta, dead
        self._dead_count = int(dead.sum())
        self.info = {**base.info, "delta_passages": delta.size}

    @property
    def size(self) -> int:
        return self.base.size + self.delta.size

    @property
    def dim(self) -> int:
        return self.base.dim

    def search(self, queries: np.ndarray, k: int) -> list[Scored]:
        base = _live(lambda n: self.base.search(queries, n), k, self.dead, self._dead_count)
        delta = self.delta.search(queries, k)
        return [_top(b + [(self.base.size + r, s) for r, s in d], k) for b, d in zip(base, delta)]

    def score_rows(self, query: np.ndarray, rows: range) -> Scored:
        if rows.start < self.base.size:
            return self.base.score_rows(query, rows)
        shifted = self.delta.score_rows(query, range(rows.start - self.base.size, rows.stop - self.base.size))
        return [(self.base.size + r, s) for r, s in shifted]

    def vectors(self) -> np.ndarray:
        return np.concatenate([self.base.vectors(), self.delta.vectors()])


class Concatenated(Sequence[Chunk]):
    """The base's passages, then the delta's, as one sequence of rows."""

    def __init__(self, base: Sequence[Chunk], delta: Sequence[Chunk]) -> None:
        self.base, self.delta = base, delta

    def __len__(self) -> int:
        return len(self.base) + len(self.delta)

    def __getitem__(self, row):  # type: ignore[override]
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        row = int(row) + (len(self) if row < 0 else 0)
        return self.base[row] if row < len(self.base) else self.delta[row - len(self.base)]

    def __iter__(self) -> Iterator[Chunk]:
        return chain(self.base, self.delta)

    def close(self) -> None:
        for part in (self.base, self.delta):
            if hasattr(part, "close"):
                part.close()
