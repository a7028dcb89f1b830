"""Readers: one per file format, each turning a file's bytes into a :class:`~qa.schema.RawFile`.

=====================================  ==========================================================
``.txt .md .html``                     decoded (BOM, UTF-8, GB18030/Big5 detection), then cleaned
``.pdf``                               text layer by PDFium; pages without one by OCR
``.png .jpg .tif …``                   OCR (RapidOCR, models inside its wheel)
``.docx``                              paragraphs and tables (rows with column names)
``.xlsx .csv .tsv``                    rows with column names, grouped into passages
``.pptx``                              one passage per slide, speaker notes apart
``.doc .xls .ppt .wps .rtf .od*``      converted by LibreOffice when installed, else reported
=====================================  ==========================================================
"""

from __future__ import annotations

from pathlib import Path

from .base import Reader, ReadError, structured
from .legacy import TARGETS, LegacyReader, find_soffice
from .ocr import ImageReader, Ocr
from .pdf import PdfReader
from .sheets import CsvReader, XlsxReader
from .slides import PptxReader
from .text import TextReader, decode
from .word import DocxReader

__all__ = ["Reader", "ReadError", "Readers", "SUPPORTED", "decode", "structured"]

_MODERN = (TextReader, PdfReader, ImageReader, DocxReader, XlsxReader, CsvReader, PptxReader)
#: Every suffix some reader takes (legacy ones included: without LibreOffice they are reported).
SUPPORTED = frozenset(s for cls in (*_MODERN, LegacyReader) for s in cls.suffixes)


class Readers:
    """The reader for each suffix. One OCR engine is shared by the PDF and image readers, so it
    loads once per run, and only if some page needs it."""

    def __init__(self, soffice: str | None = None, find_libreoffice: bool = True) -> None:
        ocr = Ocr()
        readers: list[Reader] = [TextReader(), PdfReader(ocr), ImageReader(ocr), DocxReader(), XlsxReader(),
                                 CsvReader(), PptxReader()]
        self._by_suffix: dict[str, Reader] = {s: r for r in readers for s in r.suffixes}
        legacy = LegacyReader(self._by_suffix, soffice or (find_soffice() if find_libreoffice else None))
        self._by_suffix.update(dict.fromkeys(TARGETS, legacy))

    def for_path(self, path: Path) -> Reader | None:
        return self._by_suffix.get(path.suffix.lower())
