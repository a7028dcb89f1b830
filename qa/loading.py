"""Load: find supported files under the given paths and read each with its format's reader
(:mod:`qa.readers`).

A file that is binary, empty, undecodable, damaged or unreadable becomes a :class:`Skipped`
entry with its reason; the other files still load.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from .hashing import sha256_file
from .readers import SUPPORTED as READABLE
from .readers import ReadError, Readers, decode
from .schema import RawFile, Skipped

__all__ = ["SUPPORTED", "CorpusPathError", "LoadResult", "decode", "find_files", "load", "read_file"]

#: Every suffix a reader takes (see qa/readers/__init__.py for what each needs).
SUPPORTED = READABLE


class CorpusPathError(ValueError):
    """A path given on the command line does not exist or holds no supported file."""


@dataclass
class LoadResult:
    files: list[RawFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    # (name, sha256) of every file found, read or not: the corpus's identity for `is_current`.
    fingerprints: list[tuple[str, str]] = field(default_factory=list)


def find_files(paths: list[Path]) -> tuple[list[Path], list[Skipped]]:
    """Expand files and folders (recursively) into supported files, sorted for stable ids."""
    found: list[Path] = []
    skipped: list[Skipped] = []
    for path in paths:
        if not path.exists():
            raise CorpusPathError(f"no such file or folder: {path}")
        if path.is_file():
            if path.suffix.lower() in SUPPORTED:
                found.append(path)
            else:
                skipped.append(Skipped(str(path), f"unsupported file type '{path.suffix}'"))
            continue
        for child in sorted(path.rglob("*")):
            if child.is_file() and not any(p.startswith(".") for p in child.relative_to(path).parts):
                if child.suffix.lower() in SUPPORTED:
                    found.append(child)
                elif child.name.lower() != "readme" and child.suffix:
                    skipped.append(Skipped(str(child), f"unsupported file type '{child.suffix}'"))
    return sorted(set(found)), skipped


def file_digest(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError:
        return "unreadable"


def read_file(path: Path, readers: Readers | None = None) -> RawFile | Skipped:
    """One file through its reader; every failure becomes a :class:`Skipped` with the reason."""
    if readers is None:
        with Readers() as own:
            return read_file(path, own)
    if readers.for_path(path) is None:
        return Skipped(str(path), f"unsupported file type '{path.suffix}'")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Skipped(str(path), f"unreadable: {exc.strerror or exc}")
    if not data.strip():
        return Skipped(str(path), "empty file")
    try:
        return readers.read(path, data, hashlib.sha256(data).hexdigest())
    except ReadError as exc:
        return Skipped(str(path), str(exc))
    except Exception as exc:  # a parser's own error on a damaged file: report it, read the rest
        return Skipped(str(path), f"could not read it ({exc.__class__.__name__}: {exc})")


def load(paths: list[Path], readers: Readers | None = None) -> LoadResult:
    """Read every supported file under ``paths``; never raises for a single bad file."""
    if readers is None:
        with Readers() as own:
            return load(paths, own)
    files, skipped = find_files(paths)
    result = LoadResult(skipped=skipped)
    names: dict[str, str] = {}
    for path in files:
        item = read_file(path, readers)
        result.fingerprints.append((path.name, item.sha256 if isinstance(item, RawFile) else file_digest(path)))
        if isinstance(item, Skipped):
            result.skipped.append(item)
        elif item.name in names:
            # The file name is the document id users cite; two files may not share one.
            result.skipped.append(Skipped(item.path, f"duplicate file name (also {names[item.name]})"))
        else:
            names[item.name] = item.path
            result.files.append(item)
    return result
