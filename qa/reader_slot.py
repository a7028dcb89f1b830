"""The span the question's own words frame, among the reader's near-best spans of the cited unit.

The words just before a question word usually stand just before the answer in the text:
"后进支部转化了多少个" over "后进支部已完成转化581个", "俗名是什么" over "俗名龙尖".
The reader sometimes prefers a span that takes those words in (the echo "后进支部已完成转化581个")
or one elsewhere in the sentence. Where a span starting within ``SLOT_GAP`` characters after
them scores no more than ``ReaderSettings.slot_margin`` under the unit's best span, it is the
answer. Measured on the dev questions (see the setting): mean per-set F1 0.7054 → 0.7148.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .answer_features import SLOT_GAP, QuestionView, left_frame_ends

if TYPE_CHECKING:
    from .reader import ReadSpan


def framed_span(view: QuestionView, text: str, units: list[tuple[int, int]], span: ReadSpan, max_below: float
                ) -> ReadSpan:
    """``span`` (a unit's best :class:`qa.reader.ReadSpan`), or the best-scoring of its unit's
    alternatives that the question's words frame, when that one scores at most ``max_below`` less.
    ``view``: :func:`qa.answer_features.question_view` of the question, built once per question."""
    if max_below <= 0 or span.unit < 0 or not span.alternatives:
        return span
    a, b = units[span.unit]
    ends = [a + end for end in left_frame_ends(view, text[a:b])]

    def framed(start: int) -> bool:
        return any(0 <= start - end <= SLOT_GAP for end in ends)

    if not ends or framed(span.start):
        return span
    options = [(margin, start, end) for start, end, margin in span.alternatives if end > start and framed(start)]
    if not options:
        return span
    margin, start, end = max(options)
    return replace(span, start=start, end=end, margin=margin) if margin >= span.margin - max_below else span
