"""Spreadsheets: .xlsx through openpyxl, .csv/.tsv through the csv module. Each row is written
with its column names ("姓名：张三；部门：销售部。") and consecutive rows are grouped into passages
of at most :data:`GROUP_CHARS` characters, cited as "sheet rows 2–6"."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from ..schema import RawFile, Section
from .base import Reader, cell_text, open_package, row_text, structured
from .text import decode

#: Rows are packed into passages up to this size: about one passage of the chunker's 300
#: characters, so a group is never split further and its citation stays exact.
GROUP_CHARS = 240


def row_groups(rows: Iterable[tuple[int, list[str]]], sheet: str) -> list[Section]:
    """(row number, cells) of one sheet → passages; the first non-empty row is the header."""
    header: list[str] | None = None
    groups: list[tuple[int, int, list[str]]] = []
    for number, cells in rows:
        if not any(cells):
            continue
        if header is None:
            header = cells
            continue
        text = row_text(header, cells)
        if groups and sum(map(len, groups[-1][2])) + len(text) <= GROUP_CHARS:
            first, _last, texts = groups[-1]
            groups[-1] = (first, number, [*texts, text])
        else:
            groups.append((number, number, [text]))
    if header is not None and not groups:  # a one-row sheet: the row itself is the content
        groups.append((0, 0, [row_text([], header)]))
    prefix = f"{sheet} " if sheet else ""
    return [Section("".join(texts), f"{prefix}row {a}" if a == b else f"{prefix}rows {a}–{b}")
            for a, b, texts in groups]


class XlsxReader(Reader):
    suffixes = (".xlsx", ".xlsm")

    def read(self, path: Path, data: bytes, sha256: str) -> RawFile:
        import openpyxl

        book = open_package(data, "Excel", lambda f: openpyxl.load_workbook(f, read_only=True, data_only=True),
                            (OSError,))
        try:
            sections: list[Section] = []
            for sheet in book.worksheets:
                rows = ((n, [cell_text(v) for v in row]) for n, row in enumerate(sheet.iter_rows(values_only=True), 1))
                sections += row_groups(rows, sheet.title if len(book.worksheets) > 1 else "")
            title = book.properties.title or ""
            author = book.properties.creator or ""
        finally:
            book.close()
        return structured(path, sha256, sections, "xlsx", title=title, author=author)


class CsvReader(Reader):
    suffixes = (".csv", ".tsv")
    isolated = False  # pure Python: read in-process, no worker to start

    def read(self, path: Path, data: bytes, sha256: str) -> RawFile:
        text, _encoding = decode(data)
        try:
            dialect = csv.Sniffer().sniff(text[:8192], delimiters=",\t;|")
        except csv.Error:
            dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
        rows = ((n, [cell_text(c) for c in row]) for n, row in enumerate(csv.reader(io.StringIO(text), dialect), 1))
        return structured(path, sha256, row_groups(rows, ""), "csv")
