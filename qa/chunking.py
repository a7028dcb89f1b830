"""Chunk: cut a cleaned document into retrievable passages.

One chunk per paragraph; a paragraph longer than ``max_chars`` is split on sentence
boundaries (never mid-sentence); lines shorter than ``min_chars`` (subheadings, labels such
as "背景介绍:") join the paragraph after them. Offsets index into ``body_text(doc)``.
A metadata card (title, date, source, author, editor) is chunk paragraph 0, so questions
about who wrote an article are answerable and citable; a document with no metadata beyond
its title gets no card.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

from .config import ChunkingSettings
from .schema import Chunk, Document
from .sentences import split_spans

META_LABELS = {"title": "标题", "date": "日期", "source": "来源", "author": "作者", "editor": "编辑"}


@dataclass
class _Unit:
    start: int
    end: int
    paragraph: int


def body_text(doc: Document) -> str:
    return "\n".join(doc.paragraphs)


def metadata_card(doc: Document) -> str:
    fields = doc.meta.as_dict()
    fields.setdefault("title", doc.title)
    return "；".join(f"{META_LABELS[k]}：{v}" for k, v in fields.items() if k in META_LABELS) + "。"


def _paragraph_units(text: str, offset: int, number: int, max_chars: int, lead: int = 0) -> list[_Unit]:
    """Pack whole sentences into units of at most ``max_chars``; the first unit also carries
    ``lead`` characters of joined short lines."""
    if lead + len(text) <= max_chars:
        return [_Unit(offset - lead, offset + len(text), number)]
    units: list[_Unit] = []
    for start, end in split_spans(text):
        if not units:  # the first sentence opens the first unit, with the joined short lines
            units.append(_Unit(offset - lead, offset + end, number))
        elif offset + end - units[-1].start <= max_chars:
            units[-1].end = offset + end
        else:
            units.append(_Unit(offset + start, offset + end, number))
    return units


def _units(doc: Document, settings: ChunkingSettings) -> list[_Unit]:
    units: list[_Unit] = []
    pending: int | None = None  # start offset of short lines waiting to join the next paragraph
    offset = 0
    places = [x.location for x in doc.sections] or [""] * len(doc.paragraphs)
    for number, paragraph in enumerate(doc.paragraphs, start=1):
        # A short line joins the next paragraph only in the same place: a slide title stays on its slide.
        joins = number < len(doc.paragraphs) and places[number - 1] == places[number]
        if len(paragraph) < settings.min_chars and joins:
            pending = offset if pending is None else pending
        else:
            lead = 0 if pending is None else offset - pending
            units.extend(_paragraph_units(paragraph, offset, number, settings.max_chars, lead))
            pending = None
        offset += len(paragraph) + 1
    return units


def _where(doc: Document, unit: _Unit, starts: list[int]) -> tuple[str, dict[str, str]]:
    """A unit's location in a structured file ("p. 3", "pp. 3–4", "slide 2") and its OCR confidence."""
    if not doc.sections:
        return "", {}
    # Joined short lines lead the unit: its location runs from the first of them.
    first = doc.sections[bisect_right(starts, unit.start) - 1]
    last = doc.sections[unit.paragraph - 1]
    location = first.location if first.location == last.location else _span(first.location, last.location)
    extra = {"ocr_confidence": f"{last.ocr_confidence:.2f}"} if last.ocr_confidence is not None else {}
    return location, extra


def _span(first: str, last: str) -> str:
    """ "p. 3" + "p. 4" → "pp. 3–4"; other kinds of place are listed as they are."""
    a, b = first.removeprefix("pp. ").removeprefix("p. "), last.removeprefix("pp. ").removeprefix("p. ")
    if first.startswith("p") and last.startswith("p") and a[:1].isdigit() and b[:1].isdigit():
        return f"pp. {a.split('–')[0]}–{b.split('–')[-1]}"
    return f"{first} – {last}"


def chunk(doc: Document, settings: ChunkingSettings, first_id: int = 0) -> list[Chunk]:
    """Chunks of one document, numbered from ``first_id``; the metadata card comes first."""
    meta = doc.meta.as_dict()
    card = metadata_card(doc)
    # A card with nothing but the title adds no fact: every passage already carries its title.
    has_facts = any(k != "title" for k in meta)
    chunks = [Chunk(first_id, doc.doc_id, doc.title, 0, 0, len(card), card, meta)] if has_facts else []
    text = body_text(doc)
    starts = list(accumulate((len(p) + 1 for p in doc.paragraphs[:-1]), initial=0))
    for unit in _units(doc, settings):
        location, extra = _where(doc, unit, starts)
        chunks.append(
            Chunk(first_id + len(chunks), doc.doc_id, doc.title, unit.paragraph, unit.start, unit.end,
                  text[unit.start : unit.end], {**meta, **extra}, location)
        )
    return chunks
