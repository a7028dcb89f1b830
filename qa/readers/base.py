"""The reader interface: one implementation per file format, each turning bytes into a RawFile."""

from __future__ import annotations

import io
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..schema import RawFile, Removed, Section

T = TypeVar("T")


class ReadError(ValueError):
    """This file cannot be read; the message says why and, where it can, what to do."""


class Reader(ABC):
    """Reads one family of formats. Heavy libraries are imported inside :meth:`read`."""

    suffixes: tuple[str, ...] = ()
    #: Parsed by C code that a crafted file can hang or crash: read in the worker process.
    isolated: bool = True

    @abstractmethod
    def read(self, path: Path, data: bytes, sha256: str) -> RawFile:
        """The file's text; raises :class:`ReadError` (or any parser error) when it cannot."""


#: An Office file (a zip) may unpack to at most this much: a 50 MB upload that unpacks to
#: gigabytes is a zip bomb, not a document (real .docx/.xlsx unpack to 2–20× their size).
MAX_UNPACKED_BYTES = 1 << 30
MAX_PACKING_RATIO = 200


def check_zip(data: bytes, fmt: str) -> None:
    """Refuse an Office file whose parts would unpack to an absurd size, before parsing it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise ReadError(f"not a readable {fmt} file (damaged: {exc})") from exc
    if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_PACKING_RATIO * max(len(data), 1):
        raise ReadError(f"refused: this {fmt} file would unpack to {unpacked / 2**20:,.0f} MB "
                        f"from {len(data) / 2**20:,.1f} MB (a zip bomb, or not a real document)")


def open_package(data: bytes, fmt: str, opener: Callable[[io.BytesIO], T], errors: tuple = ()) -> T:
    """Open an Office/EPUB package with its library, after the zip-bomb check; a damaged file is
    a :class:`ReadError` naming the format, whichever library error it raised."""
    check_zip(data, fmt)
    try:
        return opener(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, *errors) as exc:
        raise ReadError(f"not a readable {fmt} file ({exc})") from exc


def structured(path: Path, sha256: str, sections: list[Section], fmt: str, *, title: str = "",
               author: str = "", removed: Removed | None = None) -> RawFile:
    """A RawFile for a format whose paragraphs the reader found itself."""
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise ReadError(f"no text found in this {fmt.upper()} file")
    return RawFile(path=str(path), name=path.name, text="\n".join(s.text for s in sections), encoding=fmt,
                   sha256=sha256, sections=tuple(sections), title=title.strip(), author=author.strip(),
                   removed=removed)


def cell_text(value: object) -> str:
    """A table or sheet cell as people read it: 12.0 → "12", dates without midnight."""
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return " ".join(str(value).split())


def row_text(header: list[str], cells: list[str]) -> str:
    """One table row with its column names ("姓名：张三；部门：销售部。"), so a passage is self-explaining."""
    parts, previous = [], None
    for i, cell in enumerate(cells):
        if not cell or cell == previous:  # empty, or a merged cell repeated across columns
            previous = cell or previous
            continue
        previous = cell
        name = header[i] if i < len(header) else ""
        parts.append(f"{name}：{cell}" if name and name != cell else cell)
    return "；".join(parts) + ("。" if parts else "")
