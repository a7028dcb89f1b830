"""Layout: re-join the lines of a page into paragraphs, and drop running headers and page numbers.

A PDF's text layer and an OCR pass both give positioned lines. Chinese lines wrap mid-sentence
with no space or hyphen, so a line joins the next unless it ends short of the text block's right
edge, the next line is indented, or a wider gap than the usual line spacing separates them: the
same evidence a reader's eye uses (and pdfminer's LAParams encode as line_margin / char_margin).
Coordinates are top-down (``top`` < ``bottom``), in any unit.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

#: A line ending this close to the block's right edge (in character heights) wrapped.
WRAP_SLACK = 1.5
#: A line starting this much right of the block's left edge (character heights) is indented.
INDENT = 1.0
#: A gap over this many typical line pitches separates paragraphs.
GAP = 1.6
#: Headers and footers sit in this top/bottom share of the page.
MARGIN_BAND = 0.1
_PAGE_NUMBER = re.compile(
    r"^[-–—\s]*(第\s*)?\d{1,4}\s*(页)?(\s*[/／]\s*\d{1,4}|\s*共\s*\d+\s*页)?[-–—\s]*$|^page\s+\d+(\s+of\s+\d+)?$",
    re.IGNORECASE)
_ASCII_WORD_END = re.compile(r"[A-Za-z0-9,.;:)]$")
_ASCII_WORD_START = re.compile(r"^[A-Za-z0-9(]")


@dataclass
class Line:
    text: str
    left: float
    right: float
    top: float
    bottom: float
    confidence: float | None = None

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1e-6)


@dataclass
class Paragraph:
    text: str
    confidence: float | None = None
    continues: bool = False  # its last line wrapped: it may go on at the top of the next page


def merge_segments(lines: list[Line]) -> list[Line]:
    """Consecutive segments on one baseline (a line split by a font change or a wide space) become
    one line. Order is kept: a PDF's text comes in reading order, columns one after the other."""
    merged: list[Line] = []
    for line in lines:
        last = merged[-1] if merged else None
        middle = (line.top + line.bottom) / 2
        if last is not None and last.top <= middle <= last.bottom and line.left >= last.right - line.height:
            gap = " " if _ASCII_WORD_END.search(last.text) and _ASCII_WORD_START.search(line.text) else ""
            merged[-1] = Line(last.text + gap + line.text, last.left, max(last.right, line.right),
                              min(last.top, line.top), max(last.bottom, line.bottom), _mean(last, line))
        else:
            merged.append(line)
    return merged


def _mean(a: Line, b: Line) -> float | None:
    if a.confidence is None or b.confidence is None:
        return a.confidence if b.confidence is None else b.confidence
    return (a.confidence * len(a.text) + b.confidence * len(b.text)) / max(len(a.text) + len(b.text), 1)


def join_text(left: str, right: str) -> str:
    if left.endswith("-") and _ASCII_WORD_START.search(right):
        return left[:-1] + right  # a hyphenated English word
    space = " " if _ASCII_WORD_END.search(left) and _ASCII_WORD_START.search(right) else ""
    return left + space + right


def paragraphs(lines: list[Line]) -> list[Paragraph]:
    """Lines of one page (already in reading order) joined into paragraphs."""
    lines = [x for x in lines if x.text.strip()]
    if not lines:
        return []
    edges = [_column(line, lines) for line in lines]
    pitches = [b.top - a.top for a, b in zip(lines, lines[1:]) if b.top > a.top]
    pitch = statistics.median(pitches) if pitches else lines[0].height * 1.5
    out: list[Paragraph] = []
    group: list[Line] = []
    for k, line in enumerate(lines):
        if group and _breaks(group[-1], edges[k - 1], line, edges[k], pitch):
            out.append(_paragraph(group, edges[k - 1][1]))
            group = []
        group.append(line)
    out.append(_paragraph(group, edges[-1][1]))
    return out


def _column(line: Line, lines: list[Line]) -> tuple[float, float]:
    """Left and right edges of the text column a line belongs to (lines starting near it), so
    two-column pages wrap against their own column."""
    near = [x for x in lines if abs(x.left - line.left) <= 3 * line.height]
    return min(x.left for x in near), max(x.right for x in near)


def _wrapped(line: Line, right_edge: float) -> bool:
    return line.right >= right_edge - WRAP_SLACK * line.height


def _breaks(prev: Line, prev_edges: tuple[float, float], line: Line, edges: tuple[float, float],
            pitch: float) -> bool:
    if not _wrapped(prev, prev_edges[1]):
        return True
    if line.left > edges[0] + INDENT * line.height:
        return True
    return not 0 < line.top - prev.top <= GAP * pitch  # a wide gap, or a jump to a new column


def _paragraph(group: list[Line], right_edge: float) -> Paragraph:
    text = group[0].text.strip()
    for line in group[1:]:
        text = join_text(text, line.text.strip())
    scored = [x for x in group if x.confidence is not None]
    confidence = (sum(x.confidence * len(x.text) for x in scored) / sum(len(x.text) for x in scored)
                  if scored else None)
    last = group[-1]
    return Paragraph(text, confidence, _wrapped(last, right_edge) and last.text.rstrip()[-1:] not in "。！？!?：:")


def _shape(text: str) -> str:
    """A header's identity across pages: digits vary ("第 3 页"), the words do not."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def running_lines(pages: list[list[Line]], heights: list[float]) -> set[tuple[int, int]]:
    """(page, line) positions of running headers/footers and page numbers, to drop.

    A line in the top or bottom band of its page is running text when it is a page number, or
    when the same words (digits aside) sit in a band on every page (two or more), or on at least
    half the pages of a file of three or more.
    """
    def in_band(page: int, line: Line) -> bool:
        h = heights[page]
        return line.bottom <= h * MARGIN_BAND or line.top >= h * (1 - MARGIN_BAND)

    banded = [(p, i, line) for p, lines in enumerate(pages) for i, line in enumerate(lines) if in_band(p, line)]
    # Pages a shape occurs on (once per page, however often it repeats there).
    counts = Counter(shape for _p, shape in {(p, _shape(line.text)) for p, _i, line in banded})
    # On every page of a short file, or on half the pages of a file of three or more.
    repeated = {s for s, n in counts.items() if len(pages) >= 2 and (n == len(pages) or n * 2 >= len(pages) >= 3)}
    return {(p, i) for p, i, line in banded
            if _PAGE_NUMBER.match(line.text.strip()) or _shape(line.text) in repeated}
