"""Yes/no questions ("被告是否按照协议支付抚养费？"): the evidence sentence, whether it answers, which way.

No span of the text is the answer to a yes/no question, so the span methods either abstain
(the reader was trained to, on "not here") or cite a nearby span; court-judgment sets are about
one in seven yes/no questions. Here the evidence is the sentence unit of the top passages that
covers most of the question's key terms; two logistic regressions fitted on training questions
(:mod:`qa.yes_no_fit`, ``qa/models/yes_no.json``) say whether it answers the question at all
(with a threshold chosen like the reader's abstain threshold) and whether the answer is yes.
The strongest cue of "no" is a negation (未, 不, 没有, 无 …) right before the question's own
terms in the evidence ("被告未支付抚养费").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .answer_model import LinearModel
from .answer_rules import coverage, missing_weights
from .answer_units import passage_units
from .encoders import EncoderError
from .query import YES_NO_MARKERS, Query
from .schema import Answer, Hit, Passage

MODEL_FILE = Path(__file__).parent / "models" / "yes_no.json"
FEATURES = ("evidence_coverage", "negated_terms", "negation_density", "question_negations", "missing_share",
            "best_coverage", "top_score", "evidence_rank", "evidence_chars", "asked_coverage", "asked_best_coverage",
            "asked_missing_share")
NEGATION = re.compile(r"[不未没沒无無非否拒]")
#: How far before a question term a negation still negates it ("未按照协议支付": 未 is 0 away;
#: "没有按时足额支付" reaches 支付 over 4 characters).
NEGATION_REACH = 4
#: A highlight longer than this is no longer "the words that decide" (a third of a unit).
HIGHLIGHT_MAX_CHARS = 40
#: The answer in the question's own words ("能否…" → 能 / 不能), as written (both scripts); 是 / 否 otherwise.
VERDICT_WORDS = [(re.compile(r"能否|能不能"), "能", "不能"), (re.compile(r"可否|可不可以"), "可以", "不可以"),
                 (re.compile(r"会不会"), "会", "不会"), (re.compile(r"會不會"), "會", "不會"),
                 (re.compile(r"有没有|有无"), "有", "没有"), (re.compile(r"有沒有|有無"), "有", "沒有"),
                 (re.compile(r"是不是"), "是", "不是")]


def verdict_text(question: str, verdict: str) -> str:
    yes, no = next(((y, n) for marker, y, n in VERDICT_WORDS if marker.search(question)), ("是", "否"))
    return yes if verdict == "yes" else no


@dataclass(frozen=True)
class Evidence:
    passage: int  # index into the hits
    span: tuple[int, int]  # the sentence unit in that passage's text
    features: list[float]


def evidence(query: Query, hits: list[Hit], max_chars: int) -> Evidence | None:
    """The unit of the top passages covering most of the question (earlier passage on ties)."""
    units = [(coverage(query, hits[i].chunk.text[a:b]), i, (a, b))
             for i, spans in enumerate(passage_units(hits, max_chars)) for a, b in spans]
    if not units:
        return None
    cover, rank, (a, b) = max(units, key=lambda u: (u[0], -u[1], -u[2][0]))  # ties: the earlier
    unit = hits[rank].chunk.text[a:b]
    total = sum(w for _, w in query.key_terms) or 1.0
    negated = sum(w for alts, w in query.key_terms if any(_negated(alt, unit) for alt in alts))
    seen = "\n".join(f"{h.chunk.title}\n{h.chunk.text}" for h in hits)
    missing = sum(missing_weights(query.key_terms, seen))
    asked = re.sub(YES_NO_MARKERS, "", query.simplified or query.text)
    # What is asked follows the marker ("被告是否[按照协议支付抚养费]"); a judgment that names the
    # parties but never the asked-for act does not answer.
    after = re.split(YES_NO_MARKERS, query.text, maxsplit=1)[-1]
    predicate = replace(query, key_terms=[(alts, w) for alts, w in query.key_terms if any(a in after for a in alts)]
                        or query.key_terms)
    asked_total = sum(w for _, w in predicate.key_terms) or 1.0
    asked_missing = sum(missing_weights(predicate.key_terms, seen))
    features = [cover, negated / total, 100 * len(NEGATION.findall(unit)) / max(1, len(unit)),
                float(len(NEGATION.findall(asked))), missing / total,
                max(coverage(query, f"{h.chunk.title}\n{h.chunk.text}") for h in hits), float(hits[0].score),
                float(rank), float(np.log1p(len(unit))), coverage(predicate, unit),
                max(coverage(predicate, hits[i].chunk.text[x:y]) for _, i, (x, y) in units), asked_missing / asked_total]
    return Evidence(rank, (a, b), features)


def decisive_span(query: Query, text: str, unit: tuple[int, int]) -> tuple[int, int]:
    """What to highlight in the evidence: the stretch from the first to the last question term
    found in it ("被告未支付抚养费"; a negation just before it joins it), or the weightiest term
    alone when that stretch runs long; the whole unit when no term is there."""
    a, b = unit
    piece = text[a:b]
    first = {}  # each key term's first occurrence in the unit: (start, end, weight)
    for alts, weight in query.key_terms:
        hits = [(m.start(), m.end()) for alt in alts if alt for m in [re.search(re.escape(alt), piece)] if m]
        if hits:
            first[len(first)] = (*min(hits), weight)
    if not first:
        return unit
    start, end = min(s for s, _, _ in first.values()), max(e for _, e, _ in first.values())
    if end - start > HIGHLIGHT_MAX_CHARS:
        start, end, _ = max(first.values(), key=lambda f: (f[2], -f[0]))
    negation = list(NEGATION.finditer(piece[max(0, start - NEGATION_REACH) : start]))
    if negation:
        start = max(0, start - NEGATION_REACH) + negation[0].start()
    return a + start, a + end


def _negated(term: str, text: str) -> bool:
    return any(NEGATION.search(text[max(0, m.start() - NEGATION_REACH) : m.start()])
               for m in re.finditer(re.escape(term), text))


@dataclass(frozen=True)
class YesNoModel:
    """P(the evidence answers the question), its abstain threshold, and P(yes | it answers)."""

    answers: LinearModel
    threshold: float
    yes: LinearModel

    def to_json(self) -> dict:
        return {"answers": {**self.answers.to_json(), "threshold": self.threshold}, "yes": self.yes.to_json()}

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> YesNoModel:
        try:
            data = json.loads(path.read_text("utf-8"))
            answers, extra = LinearModel.from_json(data["answers"], FEATURES)
            return cls(answers, float(extra["threshold"]), LinearModel.from_json(data["yes"], FEATURES)[0])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise EncoderError(f"the yes/no model {path} is missing or stale ({exc}): run python -m qa.yes_no_fit") from exc


class YesNoAnswerer:
    """Answers a yes/no question 是 or 否 (能 / 不能 … in the question's words), citing the
    evidence sentence; one typed ``run()``."""

    def __init__(self, settings, model: YesNoModel | None = None) -> None:
        self.settings = settings  # AnswerSettings
        self._model = model

    @property
    def model(self) -> YesNoModel:
        if self._model is None:  # read at the first yes/no question (qa.yes_no_fit runs without it)
            self._model = YesNoModel.load()
        return self._model

    def run(self, query: Query, hits: list[Hit]) -> Answer:
        passages = [Passage(rank=i + 1, hit=h) for i, h in enumerate(hits)]
        considered = hits[: self.settings.passages_considered]
        found = evidence(query, considered, self.settings.sentence_max_chars) if considered else None
        confidence = float(self.model.answers.probabilities([found.features])[0]) if found else 0.0
        if found is None or confidence < self.model.threshold:
            return Answer(query.text, None, True, passages, confidence=confidence)
        verdict = "yes" if self.model.yes.probabilities([found.features])[0] >= 0.5 else "no"
        cited, text = passages[found.passage], considered[found.passage].chunk.text
        cited.sentence_span, cited.answer_span = found.span, decisive_span(query, text, found.span)
        return Answer(query.text, verdict_text(query.text, verdict), False, passages, sentence=text[slice(*found.span)].strip(),
                      confidence=confidence, verdict=verdict)
