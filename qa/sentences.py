"""Split Chinese text into sentences without ever cutting one in half."""

from __future__ import annotations

import re

# A sentence runs to 。！？； (or their ASCII forms, or an ellipsis) plus any closing quotes.
_SENTENCE = re.compile(r"[^。！？；!?;…]+(?:[。！？；!?;]|…+)*[”’」』）)\"']*|[。！？；!?;…]+")
# Full sentences only: "；" often separates the items of one enumeration.
_FULL_SENTENCE = re.compile(r"[^。！？!?…]+(?:[。！？!?]|…+)*[”’」』）)\"']*|[。！？!?…]+")


def split_spans(text: str, semicolons: bool = True) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence; together they cover the text exactly."""
    pattern = _SENTENCE if semicolons else _FULL_SENTENCE
    spans = [(m.start(), m.end()) for m in pattern.finditer(text)]
    if not spans:
        return [(0, len(text))] if text else []
    # Glue stray leading/trailing pieces so the spans tile the whole text.
    spans[0] = (0, spans[0][1])
    spans[-1] = (spans[-1][0], len(text))
    return [(s, e) for s, e in _tile(spans) if text[s:e].strip()]


def _tile(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    tiled = [spans[0]]
    for start, end in spans[1:]:
        tiled[-1] = (tiled[-1][0], start)
        tiled.append((start, end))
    return tiled


def split(text: str) -> list[str]:
    return [text[s:e] for s, e in split_spans(text)]
