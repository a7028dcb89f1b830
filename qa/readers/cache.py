"""What structured files were read as, kept beside the index: re-indexing a folder of scans
after adding one file does not OCR the others again (OCR takes seconds a page)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from ..schema import RawFile, Removed, Section

#: Bump when a reader's output changes, so older entries are read again.
VERSION = 1


class ExtractionCache:
    """One JSON file per (content hash, suffix) in ``folder``; unreadable entries are misses."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.used: set[str] = set()

    def _path(self, sha256: str, suffix: str) -> Path:
        return self.folder / f"{sha256}{suffix.lower()}.json"

    def get(self, path: Path, sha256: str) -> RawFile | None:
        entry = self._path(sha256, path.suffix)
        try:
            data = json.loads(entry.read_text("utf-8"))
            if data.get("version") != VERSION:
                return None
            raw = RawFile(path=str(path), name=path.name, text=data["text"], encoding=data["encoding"],
                          sha256=sha256, sections=tuple(Section(**s) for s in data["sections"]),
                          title=data["title"], author=data["author"],
                          removed=Removed(**data["removed"]) if data["removed"] else None)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self.used.add(entry.name)
        return raw

    def keep(self, path: Path, sha256: str) -> None:
        """Mark an entry as still in use (the next :meth:`prune` keeps it)."""
        self.used.add(self._path(sha256, path.suffix).name)

    def put(self, raw: RawFile, suffix: str) -> None:
        if not raw.sections:
            return  # text files are read faster than their entry would be
        entry = self._path(raw.sha256, suffix)
        data = {"version": VERSION, "text": raw.text, "encoding": raw.encoding, "title": raw.title,
                "author": raw.author, "sections": [asdict(s) for s in raw.sections],
                "removed": asdict(raw.removed) if raw.removed else None}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
            os.replace(tmp, entry)  # a killed writer leaves a stray .tmp, never half an entry
        except OSError:
            return  # a cache that cannot be written only costs time
        self.used.add(entry.name)

    def prune(self) -> None:
        """Forget files that are no longer in the corpus."""
        for entry in self.folder.glob("*.json"):
            if entry.name not in self.used:
                entry.unlink(missing_ok=True)
        for tmp in self.folder.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
