"""PDF: the text layer through PDFium (``pypdfium2``), OCR for pages that have none (scans).

Lines are re-joined into paragraphs (:mod:`.layout`), running headers, footers and page numbers
are dropped and counted, and every paragraph keeps its page ("p. 12"; "pp. 12–13" when it runs
over a page break).
"""

from __future__ import annotations

from pathlib import Path

from ..schema import RawFile, Removed, Section, char_count
from .base import Reader, ReadError, structured
from .layout import Line, Paragraph, join_text, merge_segments, paragraphs, running_lines
from .ocr import Ocr

#: A page whose text layer holds fewer characters than this, but an image, is read by OCR.
MIN_TEXT_CHARS = 10
#: Scans are rendered at this many pixels per PDF point for OCR (144 dpi).
OCR_SCALE = 2.0


def _text_lines(page) -> list[Line]:
    """The text layer's lines, top-down coordinates, in the file's reading order."""
    textpage = page.get_textpage()
    height = page.get_height()
    lines = []
    for i in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(i)
        text = textpage.get_text_bounded(left, bottom, right, top).replace("\r", "").replace("\n", "")
        if text.strip():
            lines.append(Line(text, left, right, height - top, height - bottom))
    return merge_segments(lines)


def _has_image(page) -> bool:
    import pypdfium2.raw as pdfium_c

    return any(obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE for obj in page.get_objects())


class PdfReader(Reader):
    suffixes = (".pdf",)

    def __init__(self, ocr: Ocr) -> None:
        self.ocr = ocr

    def read(self, path: Path, data: bytes, sha256: str) -> RawFile:
        import pypdfium2 as pdfium

        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise ReadError("the PDF is password-protected: save an unprotected copy to index it") from exc
            raise ReadError(f"not a readable PDF ({exc})") from exc
        try:
            pages, heights, ocr_pages = self._pages(pdf, path)
            meta = pdf.get_metadata_dict()
        finally:
            pdf.close()
        running = running_lines(pages, heights)
        sections = _sections(pages, running)
        dropped = [pages[p][i].text for p, i in running]
        removed = Removed(char_count(dropped), len(dropped), char_count(x.text for lines in pages for x in lines))
        fmt = "pdf" if not ocr_pages else f"pdf ({ocr_pages} pages by OCR)"
        return structured(path, sha256, sections, fmt, title=meta.get("Title", ""), author=meta.get("Author", ""),
                          removed=removed)

    def _pages(self, pdf, path: Path) -> tuple[list[list[Line]], list[float], int]:
        from tqdm import tqdm

        pages, heights, scans = [], [], []
        for number in range(len(pdf)):
            page = pdf[number]
            lines = _text_lines(page)
            if sum(len(x.text.strip()) for x in lines) < MIN_TEXT_CHARS and _has_image(page):
                scans.append(number)
            pages.append(lines)
            heights.append(page.get_height())
        for number in tqdm(scans, desc=f"OCR {path.name}", unit="page", disable=None, leave=False):
            image = pdf[number].render(scale=OCR_SCALE).to_pil()
            pages[number] = [Line(x.text, x.left / OCR_SCALE, x.right / OCR_SCALE, x.top / OCR_SCALE,
                                  x.bottom / OCR_SCALE, x.confidence) for x in self.ocr.lines(image)]
        return pages, heights, len(scans)


def _sections(pages: list[list[Line]], running: set[tuple[int, int]]) -> list[Section]:
    """Paragraphs page by page; one whose last line wrapped goes on into the next page's first."""
    sections: list[Section] = []
    pending: tuple[Paragraph, int] | None = None  # an unfinished paragraph and the page it began on
    for number, lines in enumerate(pages, start=1):
        found = paragraphs([x for i, x in enumerate(lines) if (number - 1, i) not in running])
        for k, para in enumerate(found):
            begun = number
            if pending is not None and k == 0:
                para, begun = _joined(pending[0], para), pending[1]
            pending = None
            if k == len(found) - 1 and para.continues:
                pending = (para, begun)
            else:
                sections.append(_section(para, begun, number))
        if not found and pending is not None:  # a blank page ends the paragraph
            sections.append(_section(pending[0], pending[1], number - 1))
            pending = None
    if pending is not None:
        sections.append(_section(pending[0], pending[1], len(pages)))
    return sections


def _joined(first: Paragraph, second: Paragraph) -> Paragraph:
    scores = [(p.confidence, len(p.text)) for p in (first, second) if p.confidence is not None]
    confidence = sum(c * n for c, n in scores) / sum(n for _c, n in scores) if scores else None
    return Paragraph(join_text(first.text, second.text), confidence, second.continues)


def _section(para: Paragraph, first: int, last: int) -> Section:
    return Section(para.text, f"p. {first}" if first == last else f"pp. {first}–{last}", para.confidence)
