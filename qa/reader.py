"""Answer with a span reader: multilingual-e5-small fine-tuned to point at the answer.

The reader reads ``<s> question </s></s> passage </s>`` for each of the top passages and gives
every passage token a start and an end score; ``<s>`` scores "this passage does not answer".
The answer is the best span (at most ``ReaderSettings.max_answer_tokens``) over the passages,
ranked by how far its score clears its passage's no-answer score; within the sentence cited, a
near-best span the question's own words frame is preferred (:mod:`qa.reader_slot`). Whether to
answer at all is a logistic regression over that margin and how much of the question the
passages contain, with a threshold, both fitted on held-out training questions
(``qa/models/reader.json``). The cited sentence is the sentence unit holding the span.

Weights: the encoder's 12 layers, fine-tuned (``python -m qa.reader_train``, on the train
split of CMRC 2018, DRCD, CJRC and the seed questions) and shipped in ``qa/models/reader/`` as
int8 differences from the packaged weights (:mod:`qa.reader_weights`); the word table is the
packaged one, frozen. Run on ONNX Runtime with the encoder's graph and a two-logit head
(:func:`qa.encoders.e5_graph.build_graph`), cached like the encoder's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .answer_features import QuestionView, question_view
from .answer_model import LinearModel
from .answer_units import passage_units
from .config import ReaderSettings
from .encoders.base import EncoderError
from .encoders.e5_onnx import run_padded
from .query import Query
from .reader_slot import framed_span
from .reader_weights import MODEL_DIR, ReaderWeights
from .schema import Answer, Hit, Passage

ABSTAIN_FILE = Path(__file__).parent / "models" / "reader.json"
#: Bump when the reader's graph or weights change, so cached ONNX files are rebuilt.
READER_VERSION = 2


@dataclass(frozen=True)
class ReadSpan:
    passage: int  # index into the passages read
    start: int  # character offsets in that passage
    end: int
    margin: float  # span score − the passage's no-answer score
    unit: int = -1  # the sentence unit it starts in (read_units), -1 = best of the whole passage
    # Of a unit's best span: every start in the unit with its best end, as (start, end, margin).
    alternatives: tuple[tuple[int, int, float], ...] = ()


class SpanReader:
    """Scores answer spans in passages (see the module docstring)."""

    def __init__(self, settings: ReaderSettings | None = None, threads: int = 0, cache_dir: Path | None = None,
                 encoder=None) -> None:
        """``encoder``: the index's e5 encoder, whose weights and tokenizer are shared (0.2 s less
        to start a one-shot ``qa ask``)."""
        from .encoders.e5_graph import build_graph
        from .encoders.e5_onnx import OnnxE5Encoder, cached_onnx, input_positions, open_session
        from .encoders.e5_tokenizer import E5Tokenizer

        self.settings = settings or ReaderSettings()
        shared = encoder if isinstance(encoder, OnnxE5Encoder) else None
        self.weights = ReaderWeights(self.settings.model_dir or MODEL_DIR, shared.weights if shared else None)
        self.tokenizer = shared.tokenizer if shared else E5Tokenizer(self.weights.base)
        self._positions = input_positions(self.weights)  # the fine-tuned tables
        path = cached_onnx(f"e5-small-reader-{self.settings.precision}", self.weights.source(),
                           lambda: build_graph(self.weights, head="span"), self.settings.precision, cache_dir)
        self._session = open_session(path, threads)

    def read(self, question: str, passages: list[str]) -> list[ReadSpan]:
        """The best span of each passage (of each window, for a passage too long for one), best first."""
        return self.read_units(question, passages, None)[0]

    def read_units(self, question: str, passages: list[str], units: list[list[tuple[int, int]]] | None
                   ) -> tuple[list[ReadSpan], list[ReadSpan]]:
        """(the best span of each passage, best first; the best span starting in each of the
        passages' sentence ``units``, a ReadSpan per unit that has one), from one reading."""
        from .reader_data import pair_ids

        s = self.settings
        inputs = []  # (passage index, ids, first passage token, offsets)
        for index, text in enumerate(passages):
            for window_start, window in _windows(text, s.window_chars, s.window_overlap_chars):
                pair = pair_ids(self.tokenizer, question, window, s.max_tokens, s.max_question_tokens)
                if pair is not None:
                    ids, first, offsets = pair
                    inputs.append((index, ids, first, [(a + window_start, b + window_start) for a, b in offsets]))
        if not inputs:
            return [], []
        logits = self._run([ids for _, ids, _, _ in inputs])
        best: dict[tuple[int, int], ReadSpan] = {}  # (passage, unit or -1 for the whole passage)
        for (index, ids, first, offsets), row in zip(inputs, logits):
            per_start = _best_per_start(row[: len(ids)], first, len(offsets), s.max_answer_tokens)
            if per_start is None:
                continue
            ends, scores = per_start
            margins = scores - float(row[0, 0] + row[0, 1])
            starts = np.array([a for a, _ in offsets])
            groups = [(-1, np.ones(len(offsets), bool))]
            if units is not None:
                groups += [(u, (starts >= a) & (starts < b)) for u, (a, b) in enumerate(units[index])]
            for unit, mask in groups:
                if not mask.any():
                    continue
                i = int(np.flatnonzero(mask)[np.argmax(margins[mask])])
                others = () if unit < 0 else tuple((offsets[j][0], offsets[int(ends[j])][1], float(margins[j]))
                                                   for j in np.flatnonzero(mask))
                span = ReadSpan(index, offsets[i][0], offsets[int(ends[i])][1], float(margins[i]), unit, others)
                if (index, unit) not in best or span.margin > best[index, unit].margin:
                    best[index, unit] = span
        ranked = sorted(best.values(), key=lambda r: -r.margin)
        return [r for r in ranked if r.unit < 0], [r for r in ranked if r.unit >= 0]

    def _run(self, rows: list[list[int]]) -> np.ndarray:
        return run_padded(self._session, self.weights.base, self._positions, rows, self.tokenizer.eos)


def _windows(text: str, size: int, overlap: int) -> list[tuple[int, str]]:
    """``text`` in pieces of at most ``size`` characters overlapping by ``overlap`` (one piece if short)."""
    if len(text) <= size:
        return [(0, text)]
    step = max(1, size - overlap)
    return [(start, text[start : start + size]) for start in range(0, max(1, len(text) - overlap), step)]


def _best_per_start(logits: np.ndarray, first: int, count: int, max_tokens: int
                    ) -> tuple[np.ndarray, np.ndarray] | None:
    """For each of the passage's ``count`` tokens as a start: (its best end token, relative to
    ``first``; that span's score), spans of at most ``max_tokens``."""
    if count <= 0:
        return None
    start, end = logits[first : first + count, 0], logits[first : first + count, 1]
    scores = start[:, None] + end[None, :]
    band = np.triu(np.ones((count, count), bool)) & ~np.triu(np.ones((count, count), bool), max_tokens)
    scores = np.where(band, scores, -np.inf)
    ends = scores.argmax(1)
    return ends, scores[np.arange(count), ends]


def _best_span(logits: np.ndarray, first: int, count: int, max_tokens: int) -> tuple[int, int, float] | None:
    """(start token, end token, score) of the best span among the passage's ``count`` tokens."""
    per_start = _best_per_start(logits, first, count, max_tokens)
    if per_start is None:
        return None
    ends, scores = per_start
    a = int(np.argmax(scores))
    return first + a, first + int(ends[a]), float(scores[a])


ABSTAIN_FEATURES = ("margin", "margin_gap", "cited_coverage", "best_coverage", "missing_share", "max_missing_idf",
                    "top_score", "answer_chars", "missing_name_idf")


def abstain_features(query: Query, hits: list[Hit], spans: list[ReadSpan],
                     is_name: Callable[[str], bool] | None = None) -> list[float]:
    """What the abstain decision sees: how sure the reader is, and whether the question's terms
    are in the passages at all (a "when did X open" question finds a date in any passage; the
    reader alone cannot tell that X is nowhere). Of the terms no passage read holds, the names
    (``is_name``: a place, person or organisation) weigh apart: "湖州南浔区多少名干部…" over a
    passage about another district is about something the passages never mention, where a
    missing common word is often a paraphrase. Names are tagged only when missing (jieba.posseg
    loads on first use). Held-out AUC with the names: CMRC 0.9867 → 0.9871, DRCD 0.9548 →
    0.9554, CJRC 0.8345 → 0.8361 (README, "The span reader")."""
    from .answer_rules import coverage, missing_terms

    texts = [f"{h.chunk.title}\n{h.chunk.text}" for h in hits]
    best = spans[0] if spans else None
    gap = best.margin - spans[1].margin if len(spans) > 1 else 5.0
    seen = "\n".join(texts)
    missing = missing_terms(query.key_terms, seen)
    names = [w for forms, w in missing if is_name is not None and is_name(forms[0])]  # tagged only if missing
    total = sum(w for _, w in query.key_terms) or 1.0
    top_idf = max((w for _, w in query.key_terms), default=1.0) or 1.0
    return [best.margin if best else -20.0, min(gap, 5.0), coverage(query, texts[best.passage]) if best else 0.0,
            max((coverage(query, t) for t in texts), default=0.0), sum(w for _, w in missing) / total,
            max((w for _, w in missing), default=0.0) / top_idf, float(hits[0].score) if hits else 0.0,
            float(np.log1p(best.end - best.start)) if best else 0.0, max(names, default=0.0) / top_idf]


@dataclass(frozen=True)
class SentenceChooser:
    """Which sentence unit's span answers: a logistic regression over :data:`UNIT_FEATURES`
    fitted by :mod:`qa.reader_fit` on dev questions (the unit holding a gold answer against the
    others read); the highest-scoring unit is cited and its best span is the answer."""

    model: LinearModel

    def choose(self, rows: list[list[float]]) -> int:
        return int(np.argmax(self.model.logits(rows)))

    @classmethod
    def load(cls, path: Path = ABSTAIN_FILE) -> SentenceChooser | None:
        """None where the file has no sentence model (answers are then the best span read)."""
        try:
            data = json.loads(path.read_text("utf-8"))
            if "sentence" not in data:
                return None
            return cls(LinearModel.from_json(data["sentence"], UNIT_FEATURES)[0])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise EncoderError(f"the reader's sentence model in {path} is stale ({exc}): "
                               "run python -m qa.reader_fit") from exc


@dataclass(frozen=True)
class AbstainModel:
    """A logistic regression over :data:`ABSTAIN_FEATURES` and the probability under which the
    assistant abstains, both fitted by :mod:`qa.reader_fit` (README, "The span reader")."""

    model: LinearModel
    threshold: float

    def probability(self, row: list[float]) -> float:
        return float(self.model.probabilities([row])[0])

    def to_json(self) -> dict:
        return {**self.model.to_json(), "threshold": self.threshold}

    @classmethod
    def load(cls, path: Path = ABSTAIN_FILE) -> AbstainModel:
        try:
            model, extra = LinearModel.from_json(json.loads(path.read_text("utf-8"))["abstain"], ABSTAIN_FEATURES)
            return cls(model, float(extra["threshold"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise EncoderError(f"the reader's abstain model {path} is missing or stale ({exc}): "
                               "run python -m qa.reader_fit") from exc


UNIT_FEATURES = ("margin", "below_best", "below_passage_best", "passage_rank", "score_below_top", "unit_coverage",
                 "passage_coverage", "position", "unit_chars", "bigram_overlap", "bigram_below_best", "char_overlap",
                 "local_coverage", "local_below_best", "untitled_coverage", "slot_left", "slot_right")


def cited_span(units: list[list[tuple[int, int]]], span: ReadSpan) -> tuple[int, int]:
    """The sentence unit ``span`` is cited to (the one it starts in), reaching to the span's end:
    a span across units cites them all."""
    start, end = units[span.passage][span.unit] if span.unit >= 0 else next(
        ((s, e) for s, e in units[span.passage] if s <= span.start < e), (span.start, span.end))
    return start, max(end, span.end)


def unit_features(query: Query, hits: list[Hit], units: list[list[tuple[int, int]]],
                  candidates: list[ReadSpan], view: QuestionView | None = None) -> list[list[float]]:
    """What the sentence choice sees of each unit's best span: the reader's margin, against the
    best over all units and within its passage; the passage's retrieval rank and score; how much
    of the question the unit and its passage hold; where the unit sits, and its length; and the
    lexical cues of the learned sentence model (bigram and character overlap, terms weighted
    by their rarity among the passage's units, terms not in the title, the question's framing
    words). The cues lifted the cited unit's out-of-fold dev accuracy (5 folds × 3) from 0.859 /
    0.918 / 0.887 to 0.886 / 0.929 / 0.893 (CMRC / DRCD / CJRC). ``view``: the question's
    :func:`~qa.answer_features.question_view` where the caller has it already."""
    from .answer_features import (
        SentenceContext,
        bigram_overlap,
        char_overlap,
        local_term_coverage,
        slot_cues,
        untitled_coverage,
    )
    from .answer_rules import coverage

    top = max((c.margin for c in candidates), default=0.0)
    passage_best = {}
    for c in candidates:
        passage_best[c.passage] = max(passage_best.get(c.passage, c.margin), c.margin)
    covered = {i: coverage(query, f"{h.chunk.title}\n{h.chunk.text}") for i, h in enumerate(hits)}
    # The learned sentence model's lexical cues (qa/answer_features.py): bigrams and characters
    # (robust to segmentation and script), terms weighted by how rare they are among the
    # passage's sentences (what is asked, not the topic), terms not in the title, and the
    # question's words framing the question word.
    view = view or question_view(query)
    siblings = {p: tuple(hits[p].chunk.text[a:b] for a, b in units[p]) for p in {c.passage for c in candidates}}
    rows, lexical = [], []
    for c in candidates:
        text = hits[c.passage].chunk.text[slice(*cited_span(units, c))]
        # Only the text, its siblings and the title are read here; the other fields serve the learned model.
        context = SentenceContext(text, passage_rank=c.passage, hit_score_vs_top=0.0, position=c.unit,
                                  passage_coverage=0.0, is_card=False, dense=0.0, siblings=siblings[c.passage],
                                  title=hits[c.passage].chunk.title)
        lexical.append((bigram_overlap(view, text), char_overlap(view, text), local_term_coverage(view, context),
                        untitled_coverage(query, context), *slot_cues(view, text)))
        rows.append([c.margin, c.margin - top, c.margin - passage_best[c.passage], float(c.passage),
                     float(hits[c.passage].score - hits[0].score), coverage(query, text), covered[c.passage],
                     c.unit / max(1, len(units[c.passage])), float(np.log1p(len(text)))])
    best_gram, best_local = max((x[0] for x in lexical), default=0.0), max((x[2] for x in lexical), default=0.0)
    for row, (gram, char, local, untitled, left, right) in zip(rows, lexical):
        row += [gram, gram - best_gram, char, local, local - best_local, untitled, left, right]
    return rows


class ReaderExtractor:
    """The ``reader`` answer method: one typed ``run(query, hits)`` like the other extractors."""

    def __init__(self, settings, reader: SpanReader | None = None, english=None,
                 abstain: AbstainModel | None = None, chooser: SentenceChooser | None = None,
                 is_name: Callable[[str], bool] | None = None) -> None:
        self.settings = settings  # AnswerSettings
        self.reader = reader or SpanReader(settings.reader)
        self.abstain = abstain or AbstainModel.load()
        self.chooser = chooser or SentenceChooser.load()
        self.english = english  # English questions keep the hand rules (no English training data)
        self.is_name = is_name  # Tokenizer.is_name: which missing question terms are names

    def run(self, query: Query, hits: list[Hit], question_vector=None) -> Answer:
        if query.english and self.english is not None:
            return self.english.run(query, hits)
        passages = [Passage(rank=i + 1, hit=h) for i, h in enumerate(hits)]
        considered = hits[: self.settings.passages_considered]
        units = passage_units(considered, self.settings.sentence_max_chars)
        spans, candidates = self.reader.read_units(query.text, [h.chunk.text for h in considered], units)
        confidence = self.abstain.probability(abstain_features(query, considered, spans, self.is_name))
        if not spans or confidence < self.abstain.threshold:
            return Answer(query.text, None, True, passages, confidence=confidence)
        best, view = spans[0], question_view(query)
        if self.chooser is not None and candidates:
            best = candidates[self.chooser.choose(unit_features(query, considered, units, candidates, view))]
        cited, text = passages[best.passage], considered[best.passage].chunk.text
        best = framed_span(view, text, units[best.passage], best, self.settings.reader.slot_margin)
        sentence = cited_span(units, best)
        cited.sentence_span, cited.answer_span = sentence, (best.start, best.end)
        return Answer(query.text, text[best.start : best.end].strip(), False, passages,
                      sentence=text[sentence[0] : sentence[1]].strip(), confidence=confidence)
