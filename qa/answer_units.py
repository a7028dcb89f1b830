"""The units an answer is chosen from: sentences of a passage, and candidate spans in a sentence.

Sentences end at 。！？ (never cut in two); a run-on "sentence" longer than ``max_chars`` (court
judgments often lost their 。) is cut at ；, then at ，, so a citation stays readable. Candidate
spans are runs of one to ``max_words`` jieba words inside one clause, plus the typed candidates
of the hand rules (numbers with measure words, dates, lists, quoted names), which may cross a
word boundary or a 、.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .schema import Hit
from .sentences import split_spans

_CLAUSE_PUNCT = re.compile(r"[，,；;。！？!?：:（）()“”\"「」『』《》〈〉【】\s]")
_SOFT_BREAKS = (re.compile(r"(?<=[；;])"), re.compile(r"(?<=[，,])"))


@dataclass(frozen=True)
class Word:
    start: int
    end: int
    flag: str  # jieba part of speech: n, nr (person), ns (place), nt (organisation), m, q, v …


def sentence_units(text: str, max_chars: int, whole: bool = False) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``; ``whole`` keeps the text as one unit."""
    if whole:
        return [(0, len(text))] if text.strip() else []
    units = []
    for start, end in split_spans(text, semicolons=False):
        units.extend(_cut_long(text, start, end, max_chars))
    return units


def _cut_long(text: str, start: int, end: int, max_chars: int, level: int = 0) -> list[tuple[int, int]]:
    """Greedily pack the pieces between breaks (；, then ，) into units of at most max_chars."""
    if end - start <= max_chars or level == len(_SOFT_BREAKS):
        return [(start, end)]
    cuts = [start + m.start() for m in _SOFT_BREAKS[level].finditer(text, start, end)]
    bounds = sorted({start, end, *(c for c in cuts if start < c < end)})
    units: list[tuple[int, int]] = []
    for s, e in zip(bounds, bounds[1:]):
        if units and e - units[-1][0] <= max_chars:
            units[-1] = (units[-1][0], e)
        else:
            units.append((s, e))
    return [piece for s, e in units for piece in _cut_long(text, s, e, max_chars, level + 1)]


def tag_words(tagged: list[tuple[str, str]], sent: str) -> list[Word]:
    """jieba's (word, flag) pairs with their offsets in ``sent``."""
    words, pos = [], 0
    for word, flag in tagged:
        start = sent.find(word, pos)
        if start < 0:
            continue
        pos = start + len(word)
        words.append(Word(start, pos, flag))
    return _join_clock_times(words, sent)


#: A clock time (14:30); the rules' number pattern takes it whole too.
CLOCK = re.compile(r"(?<!\d)\d{1,2}[:：]\d{2}(?!\d)")


def _join_clock_times(words: list[Word], sent: str) -> list[Word]:
    """jieba cuts 14:30 into 14 / : / 30, and the colon would end a span: make it one number."""
    for match in CLOCK.finditer(sent):
        inside = [w for w in words if match.start() <= w.start and w.end <= match.end()]
        if len(inside) > 1:
            keep = [w for w in words if w not in inside]
            words = sorted([*keep, Word(match.start(), match.end(), "m")], key=lambda w: w.start)
    return words


def word_spans(sent: str, words: list[Word], max_words: int, max_chars: int) -> list[tuple[int, int]]:
    """Every run of 1..max_words words that stays inside one clause and under max_chars."""
    usable = [w for w in words
              if not _CLAUSE_PUNCT.search(sent[w.start : w.end]) or CLOCK.fullmatch(sent[w.start : w.end])]
    spans = []
    for i, first in enumerate(usable):
        for j in range(i, min(i + max_words, len(usable))):
            if j > i and _CLAUSE_PUNCT.search(sent[usable[j - 1].end : usable[j].start]):
                break  # the run would cross a clause boundary
            if usable[j].end - first.start > max_chars:
                break
            spans.append((first.start, usable[j].end))
    return spans


def passage_units(hits: list[Hit], max_chars: int) -> list[list[tuple[int, int]]]:
    """Each hit's citable sentence units (a metadata card, paragraph 0, is one)."""
    return [sentence_units(h.chunk.text, max_chars, whole=h.chunk.paragraph == 0) for h in hits]
