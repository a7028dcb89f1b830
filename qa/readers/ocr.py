"""OCR: RapidOCR (PaddleOCR's PP-OCR models, shipped inside the ``rapidocr-onnxruntime`` wheel)
on ONNX Runtime, fully offline. Used for scanned PDF pages and for images."""

from __future__ import annotations

from pathlib import Path

from ..schema import RawFile, Section
from .base import Reader, ReadError, structured
from .layout import Line, merge_segments, paragraphs

#: RapidOCR options. Its text-direction classifier turned whole upright lines upside down
#: (then read as nothing and dropped): without it, characters recognised on 6 synthetic A4
#: scans went 0.922 → 0.993 at the same speed (``python -m qa.ocr_bench``; measured against
#: turning off detection-map dilation instead, 0.951 and 1.6× slower). The cost: a page
#: scanned upside down is not turned; rotate it first.
ENGINE_OPTIONS = {"use_cls": False}


class Ocr:
    """One recogniser, loaded on first use (about 0.4 s) and reused for every page after."""

    def __init__(self) -> None:
        self._engine = None

    def warm(self) -> None:
        """Load the models now (benchmarks time pages, not the load)."""
        self._load()

    def _load(self):
        if self._engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as exc:  # pragma: no cover - a dependency; OpenCV may lack system libraries
                raise ReadError(f"OCR could not load ({exc}): pip install rapidocr-onnxruntime, and on "
                                "Debian/Ubuntu apt install libgl1 libglib2.0-0") from exc
            self._engine = RapidOCR(**ENGINE_OPTIONS)
        return self._engine

    def lines(self, image) -> list[Line]:
        """Recognised lines of a PIL image, top to bottom, with their confidences."""
        import numpy as np

        result, _elapsed = self._load()(np.asarray(image.convert("RGB")))
        lines = []
        for box, text, score in result or []:
            xs, ys = [p[0] for p in box], [p[1] for p in box]
            lines.append(Line(text, min(xs), max(xs), min(ys), max(ys), float(score)))
        return merge_segments(lines)  # RapidOCR sorts its boxes top to bottom, left to right


def page_sections(lines: list[Line], location: str) -> list[Section]:
    return [Section(p.text, location, p.confidence) for p in paragraphs(lines)]


class ImageReader(Reader):
    suffixes = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

    def __init__(self, ocr: Ocr) -> None:
        self.ocr = ocr

    def read(self, path: Path, data: bytes, sha256: str) -> RawFile:
        import io

        from PIL import Image, ImageSequence, UnidentifiedImageError
        from tqdm import tqdm

        try:
            image = Image.open(io.BytesIO(data))
            frames = [frame.copy() for frame in ImageSequence.Iterator(image)]  # multi-page TIFF
        except (UnidentifiedImageError, OSError) as exc:
            raise ReadError("not a readable image (damaged, or not an image)") from exc
        sections: list[Section] = []
        for number, frame in enumerate(tqdm(frames, desc=f"OCR {path.name}", unit="page", disable=None,
                                            leave=False), start=1):
            sections += page_sections(self.ocr.lines(frame), f"p. {number}" if len(frames) > 1 else "image")
        return structured(path, sha256, sections, "image (OCR)")
