"""Answer: choose the sentence that answers and the short span in it, or abstain. No LLM.

Three fitted models decide (:mod:`qa.answer_model`, features in :mod:`qa.answer_features`):
the sentence model ranks every sentence of the top passages, the span model ranks candidate
spans of the winning sentence, and the abstain model turns the winners' scores into the
probability that the documents answer at all; below the fitted threshold the assistant says
so instead of dressing a neighbour up as an answer.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .answer_features import (
    KINDS,
    SENTENCE_FEATURES,
    SPAN_FEATURES,
    QuestionView,
    SentenceContext,
    clause_spans,
    enumeration_spans,
    prepare_sentence,
    question_view,
    sentence_rows,
    span_rows,
)
from .answer_model import AnswerModels, sigmoid
from .answer_rules import _PUBLICATION, RuleExtractor, coverage, missing_weights
from .answer_units import sentence_units, tag_words, word_spans
from .config import AnswerSettings
from .query import Query
from .schema import Answer, Hit, Passage
from .tokenizer import Tokenizer

ABSTAIN_FEATURES = (
    "sentence_logit", "sentence_margin", "span_logit", "coverage", "passage_coverage", "char_overlap",
    "dense", "top_hit_score", "bm25_found", "english", "sentence_probability", "span_probability",
    "missing_share", "max_missing_idf", "local_coverage", *(f"kind_{k}" for k in KINDS),
)


@dataclass
class SentenceRef:
    passage: int  # index into hits
    span: tuple[int, int]  # offsets in the passage text
    context: SentenceContext


@dataclass
class Decision:
    """Everything the models saw and said about one question (``qa fit-answers`` reads it)."""

    view: QuestionView
    sentences: list[SentenceRef]
    sentence_rows: list[list[float]]
    sentence_logits: np.ndarray
    best: int | None  # index into sentences
    spans: list[tuple[int, int]]  # candidate spans of the best sentence (sentence offsets)
    span_rows: list[list[float]]
    span_logits: np.ndarray
    abstain_row: list[float]
    answer_probability: float


class SentenceVectors:
    """Embeds sentences with the index's encoder, remembering recent ones (questions share passages)."""

    def __init__(self, encoder, capacity: int = 20_000) -> None:
        self.encoder = encoder
        self.capacity = capacity
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def __call__(self, texts: list[str]) -> list[np.ndarray | None]:
        if self.encoder is None:
            return [None] * len(texts)
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            for text, vector in zip(todo, self.encoder.encode_passages(todo)):
                self._cache[text] = vector
        for text in texts:
            self._cache.move_to_end(text)
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return [self._cache[t] for t in texts]


class AnswerExtractor:
    def __init__(self, tokenizer: Tokenizer, settings: AnswerSettings, encoder=None,
                 models: AnswerModels | None = None) -> None:
        self.tokenizer = tokenizer
        self.settings = settings
        # The rules tag as the models were fitted: dictionary tags, HMM guesses for short names only.
        self.rules = RuleExtractor(tokenizer, settings, tag=tokenizer.tag_fast)
        # The models were fitted on Chinese questions only; English ones keep the hand rules,
        # which read them through their dictionary translation.
        self.english = RuleExtractor(tokenizer, settings)
        self.models = models or AnswerModels.load()
        self.models.check(SENTENCE_FEATURES, SPAN_FEATURES, ABSTAIN_FEATURES)
        self.vectors = SentenceVectors(encoder)

    def run(self, query: Query, hits: list[Hit], question_vector: np.ndarray | None = None) -> Answer:
        if query.english:
            return self.english.run(query, hits)
        decision = self.decide(query, hits, question_vector)
        passages = [Passage(rank=i + 1, hit=h) for i, h in enumerate(hits)]
        confidence = decision.answer_probability
        if decision.best is None or confidence < self.models.threshold:
            return Answer(query.text, None, True, passages, confidence=confidence)
        ref = decision.sentences[decision.best]
        cited, text = passages[ref.passage], hits[ref.passage].chunk.text
        offset = ref.span[0]
        span = decision.spans[int(np.argmax(decision.span_logits))] if decision.spans else (0, ref.span[1] - offset)
        cited.sentence_span = ref.span
        cited.answer_span = (offset + span[0], offset + span[1])
        s, e = cited.answer_span
        return Answer(query.text, text[s:e].strip(), False, passages,
                      sentence=text[ref.span[0] : ref.span[1]].strip(), confidence=confidence)

    # ------------------------------------------------------------ the three decisions
    def sentence_stage(self, query: Query, hits: list[Hit], question_vector: np.ndarray | None = None
                       ) -> tuple[QuestionView, list[SentenceRef], list[list[float]]]:
        """The question's view, the candidate sentences and their feature rows (what the
        sentence model scores; fitting it needs nothing more)."""
        view = question_view(query)
        refs = self.sentences(view, hits, question_vector)
        publication = bool(_PUBLICATION.search(query.text))
        return view, refs, sentence_rows(view, [r.context for r in refs], self.rules, publication)

    def decide(self, query: Query, hits: list[Hit], question_vector: np.ndarray | None = None) -> Decision:
        view, refs, rows = self.sentence_stage(query, hits, question_vector)
        logits = self.models.sentence.logits(rows)
        if not refs:
            return Decision(view, refs, rows, logits, None, [], [], np.zeros(0), [], 0.0)
        best = int(np.argmax(logits))
        spans, span_feature_rows = self.spans(view, refs[best])
        span_logits = self.models.span.logits(span_feature_rows)
        abstain_row = self._abstain_row(view, hits, rows[best], logits, span_logits)
        probability = float(self.models.abstain.probabilities([abstain_row])[0])
        return Decision(view, refs, rows, logits, best, spans, span_feature_rows, span_logits, abstain_row,
                        probability)

    def sentences(self, view: QuestionView, hits: list[Hit], question_vector: np.ndarray | None) -> list[SentenceRef]:
        refs: list[SentenceRef] = []
        top = hits[0].score if hits and hits[0].score else 1.0
        for index, hit in enumerate(hits[: self.settings.passages_considered]):
            chunk = hit.chunk
            whole = chunk.paragraph == 0  # the metadata card is one unit
            units = sentence_units(chunk.text, self.settings.sentence_max_chars, whole=whole)
            passage_cov = coverage(view.query, f"{chunk.title}\n{chunk.text}")
            siblings = tuple(chunk.text[s:e] for s, e in units)
            for position, (s, e) in enumerate(units):
                context = SentenceContext(siblings[position], index, hit.score / top, position, passage_cov,
                                          whole, 0.0, siblings, chunk.title)
                refs.append(SentenceRef(index, (s, e), context))
        if question_vector is not None and refs:
            vectors = self.vectors([r.context.text for r in refs])
            for ref, vector in zip(refs, vectors):
                if vector is not None:
                    ref.context.dense = float(np.dot(vector, question_vector))
        return refs

    def spans(self, view: QuestionView, ref: SentenceRef) -> tuple[list[tuple[int, int]], list[list[float]]]:
        sent = ref.context.text
        if ref.context.is_card:
            field = self.rules._field_span(view.query, sent)
            candidates = [field] if field else [(0, len(sent))]
            prepared = prepare_sentence(view, sent, [], self.rules)
        else:
            words = tag_words(self.tokenizer.tag_fast(sent), sent)
            prepared = prepare_sentence(view, sent, words, self.rules)
            candidates = word_spans(sent, words, self.settings.span_max_words, self.settings.span_max_chars)
            candidates += self.rules._candidates(view.query, sent) + clause_spans(prepared) + enumeration_spans(sent)
            if prepared.rule_span:
                candidates.append(prepared.rule_span)
            candidates = [c for c in dict.fromkeys(_trim(sent, c) for c in candidates) if c[1] > c[0]]
        return candidates, span_rows(view, prepared, candidates, self.rules)

    def _abstain_row(self, view: QuestionView, hits: list[Hit], sentence_row: list[float], logits: np.ndarray,
                     span_logits: np.ndarray) -> list[float]:
        """The winners' scores; the best sentence's own measures come from its feature row."""
        best = dict(zip(SENTENCE_FEATURES, sentence_row))
        ordered = np.sort(logits)[::-1]
        margin = float(ordered[0] - ordered[1]) if len(ordered) > 1 else 5.0
        top = hits[0]
        span_best = float(span_logits.max()) if len(span_logits) else -5.0
        seen = "\n".join(f"{h.chunk.title}\n{h.chunk.text}" for h in hits[: self.settings.passages_considered])
        missing = missing_weights(view.query.key_terms, seen)
        total = sum(w for _, w in view.query.key_terms) or 1.0
        top_idf = max((w for _, w in view.query.key_terms), default=1.0) or 1.0
        return [
            float(ordered[0]), margin, span_best, best["coverage"], best["passage_coverage"],
            best["char_overlap"], best["dense"], float(top.score), float(top.bm25_rank is not None),
            float(view.query.english), float(sigmoid(ordered[0])), float(sigmoid(span_best)),
            sum(missing) / total, max(missing, default=0.0) / top_idf, best["local_coverage"],
            *(float(view.kind == k) for k in KINDS),
        ]


_EDGE = re.compile(r"^[\s，,。；;：:、]+|[\s，,。；;：:、]+$")


def _trim(sent: str, span: tuple[int, int]) -> tuple[int, int]:
    """Drop punctuation at either end of a candidate."""
    s, e = span
    while s < e and _EDGE.match(sent[s]):
        s += 1
    while e > s and _EDGE.match(sent[e - 1]):
        e -= 1
    return s, e
