"""EPUB through ebooklib: the chapters in spine (reading) order, each chapter's block elements
as paragraphs, cited as "chapter N"."""

from __future__ import annotations

from pathlib import Path

from ..schema import RawFile, Section
from .base import Reader, open_package, structured


class EpubReader(Reader):
    suffixes = (".epub",)

    def read(self, path: Path, data: bytes, sha256: str) -> RawFile:
        import ebooklib
        from ebooklib import epub

        from ..cleaning import html_to_text, normalise

        book = open_package(data, "EPUB", lambda f: epub.read_epub(f, options={"ignore_ncx": True}),
                            (epub.EpubException, AttributeError))
        sections: list[Section] = []
        chapter = 0
        for item_id, _linear in book.spine:
            item = book.get_item_with_id(item_id)
            if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT:
                continue
            text, _title = html_to_text(item.get_content().decode("utf-8", "replace"))
            lines = [normalise(x) for x in text.split("\n") if normalise(x)]
            if lines:
                chapter += 1
                sections += [Section(x, f"chapter {chapter}") for x in lines]
        titles = book.get_metadata("DC", "title")
        authors = book.get_metadata("DC", "creator")
        return structured(path, sha256, sections, "epub", title=titles[0][0] if titles else "",
                          author=authors[0][0] if authors else "")
