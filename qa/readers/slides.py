"""PowerPoint (.pptx) through python-pptx: one passage per slide (title, text boxes and tables in
shape order), and the speaker notes as a passage of their own."""

from __future__ import annotations

from pathlib import Path

from ..schema import RawFile, Section
from .base import Reader, open_package, structured
from .word import table_sections

_ENDS = "。！？!?；;：:，,"


def _lines(shapes) -> list[str]:
    lines: list[str] = []
    for shape in shapes:
        if shape.shape_type == 6:  # MSO_SHAPE_TYPE.GROUP: its shapes, in order
            lines += _lines(shape.shapes)
        elif getattr(shape, "has_table", False) and shape.has_table:
            rows = [[" ".join(c.text.split()) for c in row.cells] for row in shape.table.rows]
            lines += [s.text for s in table_sections(rows, "")]
        elif shape.has_text_frame:
            lines += [" ".join(p.text.split()) for p in shape.text_frame.paragraphs]
    return [x for x in lines if x]


def one_paragraph(lines: list[str]) -> str:
    """Bullet lines as one passage: a line without closing punctuation gets "；"."""
    return "".join(x if x[-1] in _ENDS or i == len(lines) - 1 else x + "；" for i, x in enumerate(lines))


class PptxReader(Reader):
    suffixes = (".pptx",)

    def read(self, path: Path, data: bytes, sha256: str) -> RawFile:
        import pptx
        from pptx.exc import PackageNotFoundError

        deck = open_package(data, "PowerPoint", pptx.Presentation, (PackageNotFoundError,))
        sections: list[Section] = []
        title = deck.core_properties.title or ""
        for number, slide in enumerate(deck.slides, start=1):
            lines = _lines(slide.shapes)
            if not title and slide.shapes.title is not None and slide.shapes.title.has_text_frame:
                title = " ".join(slide.shapes.title.text_frame.text.split())
            if lines:
                sections.append(Section(one_paragraph(lines), f"slide {number}"))
            if slide.has_notes_slide:
                notes = [" ".join(p.text.split()) for p in slide.notes_slide.notes_text_frame.paragraphs]
                if any(notes):
                    sections.append(Section(one_paragraph([x for x in notes if x]), f"slide {number} notes"))
        return structured(path, sha256, sections, "pptx", title=title, author=deck.core_properties.author or "")
