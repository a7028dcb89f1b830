"""Readers: one per file format, each turning a file's bytes into a :class:`~qa.schema.RawFile`.

=====================================  ==========================================================
``.txt .md .html``                     decoded (BOM, UTF-8, GB18030/Big5 detection), then cleaned
``.pdf``                               text layer by PDFium; pages without one by OCR
``.png .jpg .tif …``                   OCR (RapidOCR, models inside its wheel)
``.docx``                              paragraphs and tables (rows with column names)
``.xlsx .csv .tsv``                    rows with column names, grouped into passages
``.pptx``                              one passage per slide, speaker notes apart
``.epub``                              chapters in reading order
``.doc .xls .ppt .wps .rtf .od*``      converted by LibreOffice when installed, else reported
=====================================  ==========================================================
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..config import ReadSettings
from ..schema import RawFile
from .base import Reader, ReadError, structured
from .cache import ExtractionCache
from .ebook import EpubReader
from .isolation import IsolatedReading
from .legacy import TARGETS, LegacyReader, find_soffice
from .ocr import ImageReader, Ocr
from .pdf import PdfReader
from .sheets import CsvReader, XlsxReader
from .slides import PptxReader
from .text import TextReader, decode
from .word import DocxReader

__all__ = ["ExtractionCache", "Reader", "ReadError", "Readers", "SUPPORTED", "decode", "structured"]

#: Files whose reading is remembered by one :class:`Readers` (the oldest is forgotten first).
MEMO_FILES = 256
_MODERN = (TextReader, PdfReader, ImageReader, DocxReader, XlsxReader, CsvReader, PptxReader, EpubReader)
#: Every suffix some reader takes (legacy ones included: without LibreOffice they are reported).
SUPPORTED = frozenset(s for cls in (*_MODERN, LegacyReader) for s in cls.suffixes)


class Readers:
    """The reader for each suffix. One OCR engine is shared by the PDF and image readers, so it
    loads once per run, and only if some page needs it. Formats parsed by C libraries are read in
    a worker process under ``limits`` (:mod:`.isolation`); :meth:`close` stops it (or use
    ``with Readers() as readers:``)."""

    def __init__(self, soffice: str | None = None, find_libreoffice: bool = True,
                 cache: ExtractionCache | None = None, limits: ReadSettings | None = None) -> None:
        self.cache = cache
        limits = limits or ReadSettings()
        ocr = Ocr()
        readers: list[Reader] = [TextReader(), PdfReader(ocr), ImageReader(ocr), DocxReader(), XlsxReader(),
                                 CsvReader(), PptxReader(), EpubReader()]
        self._by_suffix: dict[str, Reader] = {s: r for r in readers for s in r.suffixes}
        legacy = LegacyReader(self._by_suffix, soffice or (find_soffice() if find_libreoffice else None))
        self._by_suffix.update(dict.fromkeys(TARGETS, legacy))
        self._read: dict[tuple[str, str], RawFile] = {}
        self._isolated = IsolatedReading(limits, legacy.soffice) if limits.isolate else None

    def __enter__(self) -> Readers:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._isolated is not None:
            self._isolated.close()

    def for_path(self, path: Path) -> Reader | None:
        return self._by_suffix.get(path.suffix.lower())

    def read(self, path: Path, data: bytes, sha256: str) -> RawFile:
        """Read with the path's reader; the same bytes are read once (an upload is checked, then
        indexed: a scan is not OCR'd twice)."""
        key = (path.name, sha256)
        if key not in self._read:
            reader = self.for_path(path)
            if reader is None:
                raise ReadError(f"unsupported file type '{path.suffix}'")
            raw = self.cache.get(path, sha256) if self.cache else None
            if raw is None:
                isolated = self._isolated is not None and reader.isolated
                raw = self._isolated.read(path, data, sha256) if isolated else reader.read(path, data, sha256)
                if self.cache:
                    self.cache.put(raw, path.suffix)
            if len(self._read) >= MEMO_FILES:
                self._read.pop(next(iter(self._read)))
            self._read[key] = raw
        elif self.cache:
            self.cache.keep(path, sha256)
        return replace(self._read[key], path=str(path), name=path.name)
