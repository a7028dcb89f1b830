"""Passages on disk in SQLite: opening an index reads none of them; a hit fetches its row.

A 1M-passage ``chunks.jsonl`` took seconds and gigabytes to parse into Python objects at
every start; here :class:`PassageStore` is a read-only sequence of :class:`Chunk` whose
items are fetched by row number on demand. Indexes written before it (``chunks.jsonl``)
still open, through :func:`open_passages`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from .schema import Chunk

FILE = "passages.sqlite"
LEGACY_FILE = "chunks.jsonl"
_COLUMNS = "chunk_id, doc_id, title, paragraph, start, end_, text, meta, location"


def write_passages(path: Path, chunks: Iterable[Chunk], batch: int = 10_000) -> int:
    """Write ``chunks`` in row order to a new SQLite file; returns the count."""
    db = sqlite3.connect(path)
    try:
        # A fresh file in an uncommitted generation: the store fsyncs it before the commit point.
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute(f"CREATE TABLE passages (row INTEGER PRIMARY KEY, {_COLUMNS})")
        count, rows = 0, []
        for c in chunks:
            rows.append((count, c.chunk_id, c.doc_id, c.title, c.paragraph, c.start, c.end, c.text,
                         json.dumps(c.meta, ensure_ascii=False) if c.meta else "", c.location))
            count += 1
            if len(rows) >= batch:
                db.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                rows = []
        db.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.commit()
        return count
    finally:
        db.close()


def _chunk(values: tuple) -> Chunk:
    chunk_id, doc_id, title, paragraph, start, end, text, meta, location = values
    return Chunk(chunk_id, doc_id, title, paragraph, start, end, text, json.loads(meta) if meta else {}, location)


class PassageStore(Sequence[Chunk]):
    """Read-only passages by row number; safe to share between the web app's threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._size = self._db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, row):  # type: ignore[override]
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(self._size))]
        row = int(row) + (self._size if row < 0 else 0)
        if not 0 <= row < self._size:
            raise IndexError(row)
        with self._lock:
            values = self._db.execute(f"SELECT {_COLUMNS} FROM passages WHERE row = ?", (row,)).fetchone()
        return _chunk(values)

    def __iter__(self) -> Iterator[Chunk]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM passages ORDER BY row").fetchall()
        return map(_chunk, rows)

    def close(self) -> None:
        self._db.close()


def open_passages(generation: Path) -> Sequence[Chunk]:
    """The passages of one index generation, in either on-disk layout."""
    if (generation / FILE).exists():
        return PassageStore(generation / FILE)
    with (generation / LEGACY_FILE).open(encoding="utf-8") as fh:
        return [Chunk.from_json(json.loads(line)) for line in fh]
