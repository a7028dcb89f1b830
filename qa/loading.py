"""Load: find .txt/.md/.html files under the given paths and decode them to text.

A file that is binary, empty, undecodable or unreadable becomes a :class:`Skipped` entry with
its reason; the other files still load.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from .schema import RawFile, Skipped

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES

# Tried in order before asking the detector: strict decodes that rarely succeed by accident.
_BOMS = [(b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")]
_DETECTABLE = ["utf_8", "gb18030", "big5", "utf_16", "cp1252"]


class CorpusPathError(ValueError):
    """A path given on the command line does not exist or holds no supported file."""


@dataclass
class LoadResult:
    files: list[RawFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


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


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes to text, returning (text, encoding). Raises ValueError when hopeless."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding), encoding
    if b"\x00" in data[:8192]:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_DETECTABLE).best()
    if best is None:
        raise ValueError("could not detect the text encoding")
    encoding = "gb18030" if best.encoding in {"gb2312", "gbk"} else best.encoding
    return str(best), encoding


def read_file(path: Path) -> RawFile | Skipped:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Skipped(str(path), f"unreadable: {exc.strerror or exc}")
    if not data.strip():
        return Skipped(str(path), "empty file")
    try:
        text, encoding = decode(data)
    except ValueError as exc:
        return Skipped(str(path), str(exc))
    if not text.strip():
        return Skipped(str(path), "no text after decoding")
    return RawFile(
        path=str(path),
        name=path.name,
        text=text.replace("\r\n", "\n").replace("\r", "\n"),
        encoding=encoding,
        sha256=hashlib.sha256(data).hexdigest(),
        is_html=path.suffix.lower() in HTML_SUFFIXES,
    )


def load(paths: list[Path]) -> LoadResult:
    """Read every supported file under ``paths``; never raises for a single bad file."""
    files, skipped = find_files(paths)
    result = LoadResult(skipped=skipped)
    names: dict[str, str] = {}
    for path in files:
        item = read_file(path)
        if isinstance(item, Skipped):
            result.skipped.append(item)
        elif item.name in names:
            # The file name is the document id users cite; two files may not share one.
            result.skipped.append(Skipped(item.path, f"duplicate file name (also {names[item.name]})"))
        else:
            names[item.name] = item.path
            result.files.append(item)
    return result
