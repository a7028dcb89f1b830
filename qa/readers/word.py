"""Word (.docx) through python-docx: paragraphs and tables in body order, tables as rows with
their column names."""

from __future__ import annotations

from pathlib import Path

from ..schema import RawFile, Section
from .base import Reader, open_package, row_text, structured


def table_sections(rows: list[list[str]], label: str) -> list[Section]:
    """A table's rows as passages: the first row names the columns of the others."""
    rows = [r for r in rows if any(c for c in r)]
    if len(rows) < 2:
        return [Section(row_text([], r), f"{label} row {i}") for i, r in enumerate(rows, start=1)]
    header = rows[0]
    return [Section(row_text(header, r), f"{label} row {i}") for i, r in enumerate(rows[1:], start=2)]


class DocxReader(Reader):
    suffixes = (".docx", ".docm")

    def read(self, path: Path, data: bytes, sha256: str) -> RawFile:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = open_package(data, "Word", docx.Document, (PackageNotFoundError,))
        sections: list[Section] = []
        tables = 0
        title = document.core_properties.title or ""
        for element in document.element.body.iterchildren():
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "p":
                para = Paragraph(element, document)
                text = " ".join(para.text.split())
                if text and not title and (para.style.name or "").lower() in ("title", "标题"):
                    title = text
                sections.append(Section(text))
            elif tag == "tbl":
                tables += 1
                table = Table(element, document)
                rows = [[" ".join(cell.text.split()) for cell in row.cells] for row in table.rows]
                sections += table_sections(rows, f"table {tables}")
        return structured(path, sha256, sections, "docx", title=title, author=document.core_properties.author or "")
