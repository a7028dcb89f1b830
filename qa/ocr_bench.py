"""OCR speed and accuracy on scanned pages: ``python -m qa.ocr_bench [--pages N]``.

Renders N A4 pages of real text (the seed articles' paragraphs) at 150 dpi with a CJK font,
the way an office scanner delivers a notice, saves them as an image-only PDF, and reads it
with the PDF reader (which OCRs pages without a text layer). Prints pages/s and the share of
characters recognised (difflib's matching characters / source characters).
"""

from __future__ import annotations

import argparse
import difflib
import json
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

from .config import ROOT

CHARS_PER_LINE = 36
LINES_PER_PAGE = 28


def _font() -> str:
    found = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh-cn"], capture_output=True, text=True).stdout
    if not found or not Path(found).exists():
        raise SystemExit("a Chinese font is needed to draw the pages (apt install fonts-wqy-microhei)")
    return found


def page_texts(pages: int) -> list[list[str]]:
    from .cleaning import clean
    from .loading import load

    text = "".join(p for raw in load([ROOT / "seeds"]).files for p in clean(raw).paragraphs)
    lines = [text[i : i + CHARS_PER_LINE] for i in range(0, len(text), CHARS_PER_LINE)]
    per_page = [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)]
    return [per_page[i % len(per_page)] for i in range(pages)]


def scanned_pdf(pages: list[list[str]], path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(_font(), 28)
    images = []
    for lines in pages:
        image = Image.new("L", (1240, 1754), 255)  # A4 at 150 dpi, greyscale as scanners save it
        draw = ImageDraw.Draw(image)
        for i, line in enumerate(lines):
            draw.text((110, 120 + 52 * i), line, font=font, fill=0)
        images.append(image)
    images[0].save(path, save_all=True, append_images=images[1:], resolution=150)


def _plain(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def run(pages: int) -> dict:
    from .config import ReadSettings
    from .readers import Readers

    texts = page_texts(pages)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scan.pdf"
        scanned_pdf(texts, path)
        readers = Readers(limits=ReadSettings(isolate=False))  # OCR's own speed, in this process
        readers.for_path(path).ocr.warm()  # loading the models is not page time
        started = time.perf_counter()
        raw = readers.read(path, path.read_bytes(), "bench")
        seconds = time.perf_counter() - started
    # Full-width and ASCII punctuation are the same character to a reader (，/,): NFKC first.
    source = _plain("".join("".join(p) for p in texts))
    found = _plain(raw.text)
    matched = sum(b.size for b in difflib.SequenceMatcher(None, source, found, autojunk=False).get_matching_blocks())
    return {"pages": pages, "seconds": round(seconds, 2), "pages_per_s": round(pages / seconds, 3),
            "chars_per_page": len(source) // pages, "chars_recognised": round(matched / len(source), 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.pages), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
