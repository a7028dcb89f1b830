"""Answer: choose the sentence that answers and the short span in it, or abstain. No LLM.

Sentences of the top passages are scored by how much of the question they cover (key terms
weighted by IDF) and whether they hold a candidate of the wanted type (a number with its
measure word, a date, a person, a place, a list). The span is the candidate nearest after
the question's terms in the same clause. When the best passage covers too little of the
question, the assistant abstains instead of dressing a neighbour up as an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .config import AnswerSettings
from .query import Query
from .schema import Answer, Hit, Passage
from .sentences import split_spans
from .tokenizer import Tokenizer

_UNITS = (
    "万元|亿元|万人|平方米|公里|分钟|小时|方面|个|名|家|项|人|元|倍|次|页|岁|米|户|村|所|座|条|件|篇|期|届|批|"
    "台|辆|吨|亩|周|天|年|种|类|级|位|支|组|大|点"
)
_NUMBER = re.compile(
    rf"百分之[一二三四五六七八九十百点\d.]+|\d+(?:[.,]\d+)*\s*[%‰％]|"
    rf"\d+(?:\.\d+)?(?:多|余)?(?:万|亿|千|百)?(?:{_UNITS})?|[一二两三四五六七八九十百千万]+(?:多|余)?(?:{_UNITS})"
)
_DATE = re.compile(
    r"(?:19|20)\d{2}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?(?:\s*\d{1,2}:\d{2})?|"
    r"(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}|(?:今年|去年|明年)?\d{1,2}月(?:\d{1,2}日)?|"
    r"(?:昨天|今天|前天)(?:上午|下午|晚上)?"
)
# A venue right after a preposition: "在肥东宾馆召开" → 肥东宾馆.
_VENUE = re.compile(r"(?<=[在于到])[\u4e00-\u9fff]{1,8}?(?:宾馆|酒店|饭店|会议中心|大厦|礼堂|会堂|广场|体育馆)")
_LIST = re.compile(
    r"(?:[“\"「]?[\u4e00-\u9fffA-Za-z0-9()（）]{1,16}[”\"」]?、)+[“\"「]?[\u4e00-\u9fffA-Za-z0-9()（）]{1,16}[”\"」]?"
    r"(?:(?:和|及|与|以及)[“\"「]?[\u4e00-\u9fffA-Za-z0-9]{1,16}[”\"」]?)?"
)
_CLAUSE_BREAK = re.compile(r"[，,；;。！？!?：:]")
_FIELD_CUES = [
    ("作者", r"作者|谁写|撰写|author|wrote|written"),
    ("编辑", r"编辑|editor|edited"),
    ("来源", r"来源|出处|媒体|刊登|发表在|source|newspaper|published (by|in)"),
    ("日期", r"日期|什么时候|何时|哪一?天|哪一?年|发布|发表|date|when|published on"),
    ("标题", r"标题|题目|title|headline"),
]


@dataclass
class _Candidate:
    passage: int  # index into hits
    sentence: tuple[int, int]
    span: tuple[int, int] | None
    score: float
    coverage: float  # of the passage (with its title)


def coverage(query: Query, text: str) -> float:
    """IDF-weighted share of the question's key terms found in ``text`` (1.0 when none)."""
    total = sum(weight for _, weight in query.key_terms)
    if total <= 0:
        return 1.0
    found = 0.0
    for alternatives, weight in query.key_terms:
        found += weight * max((_term_credit(a, text) for a in alternatives), default=0.0)
    return found / total


def _term_credit(term: str, text: str) -> float:
    if term in text:
        return 1.0
    if len(term) < 3:
        return 0.0
    # Partial credit for a compound whose parts occur (后进支部 ~ 后进 … 支部).
    pairs = [term[i : i + 2] for i in range(len(term) - 1)]
    return 0.7 * sum(p in text for p in pairs) / len(pairs)


class AnswerExtractor:
    def __init__(self, tokenizer: Tokenizer, settings: AnswerSettings) -> None:
        self.tokenizer = tokenizer
        self.settings = settings

    def run(self, query: Query, hits: list[Hit]) -> Answer:
        passages = [Passage(rank=i + 1, hit=h) for i, h in enumerate(hits)]
        best = self._best(query, hits)
        if best is None or best.coverage < self.settings.min_coverage:
            return Answer(query.text, None, True, passages, confidence=best.coverage if best else 0.0)
        cited = passages[best.passage]
        text = hits[best.passage].chunk.text
        cited.sentence_span = best.sentence
        cited.answer_span = best.span or self._clause(query, text, best.sentence)
        s, e = cited.answer_span
        return Answer(query.text, text[s:e].strip(), False, passages,
                      sentence=text[best.sentence[0] : best.sentence[1]].strip(), confidence=best.coverage)

    def _best(self, query: Query, hits: list[Hit]) -> _Candidate | None:
        best: _Candidate | None = None
        for index, hit in enumerate(hits[: self.settings.passages_considered]):
            chunk = hit.chunk
            context = coverage(query, f"{chunk.title}\n{chunk.text}")
            # The metadata card is one unit: its fields are separated by "；", not sentences.
            sentences = [(0, len(chunk.text))] if chunk.paragraph == 0 else split_spans(chunk.text)
            for sentence in sentences:
                candidate = self._score_sentence(query, chunk.text, sentence, chunk.paragraph == 0)
                candidate.passage, candidate.coverage = index, context
                candidate.score += 0.5 * context + 0.3 / (index + 1)
                if best is None or candidate.score > best.score:
                    best = candidate
        return best

    def _score_sentence(self, query: Query, text: str, sentence: tuple[int, int], is_card: bool) -> _Candidate:
        s, e = sentence
        sent = text[s:e]
        score = coverage(query, sent)
        if is_card:  # the metadata card answers questions about metadata, nothing else
            span = self._field_span(query, sent)
            score -= 0.0 if span else 1.0
        elif query.answer_type != "other":
            span = self._typed_span(query, sent)
        else:
            span = None
        if span is not None:
            score += 0.4
            span = (span[0] + s, span[1] + s)
        return _Candidate(0, sentence, span, score, 0.0)

    def _field_span(self, query: Query, sent: str) -> tuple[int, int] | None:
        """Metadata card: "作者：程茂林" answers "who wrote …"."""
        for label, cue in _FIELD_CUES:
            if re.search(cue, query.text, re.IGNORECASE):
                match = re.search(label + r"：([^；。]+)", sent)
                if match:
                    return match.span(1)
        return None

    def _typed_span(self, query: Query, sent: str) -> tuple[int, int] | None:
        spans = self._candidates(query, sent)
        spans = [sp for sp in spans if sent[sp[0] : sp[1]] not in query.text]
        if not spans:
            return None
        anchors = self._anchors(query, sent)
        return max(spans, key=lambda sp: self._closeness(query, sent, sp, anchors))

    def _candidates(self, query: Query, sent: str) -> list[tuple[int, int]]:
        kind = query.answer_type
        if kind == "number":
            spans = [m.span() for m in _NUMBER.finditer(sent)]
            if query.unit != "年":  # "多少个" is rarely answered by a year or a date
                spans = [sp for sp in spans if not re.search(r"\d{4}年?$|月|日$", sent[sp[0] : sp[1]])]
            return spans
        if kind == "date":
            return [m.span() for m in _DATE.finditer(sent)]
        if kind == "list":
            return [m.span() for m in _LIST.finditer(sent)]
        if kind in ("person", "place", "source"):
            return self._entities(sent, {"person": ("nr",), "place": ("ns",), "source": ("nt", "nz")}[kind],
                                  venues=kind == "place")
        return []

    def _entities(self, sent: str, flags: tuple[str, ...], venues: bool) -> list[tuple[int, int]]:
        spans = [m.span() for m in _VENUE.finditer(sent)] if venues else []
        pos = 0
        for word, flag in self.tokenizer.tag(sent):
            start = sent.find(word, pos)
            pos = start + len(word) if start >= 0 else pos
            if start < 0 or not flag.startswith(flags) or len(word) < 2:
                continue
            if spans and spans[-1][1] == start:  # merge 陈 + 德荣 style splits
                spans[-1] = (spans[-1][0], start + len(word))
            else:
                spans.append((start, start + len(word)))
        return spans

    def _anchors(self, query: Query, sent: str) -> list[tuple[int, int]]:
        anchors = []
        for alternatives, _ in query.key_terms:
            for term in alternatives:
                for m in re.finditer(re.escape(term), sent):
                    anchors.append(m.span())
        return anchors

    @staticmethod
    def _closeness(query: Query, sent: str, span: tuple[int, int], anchors: list[tuple[int, int]]) -> float:
        score = 0.0
        if query.unit and sent[span[0] : span[1]].endswith(query.unit):
            score += 1.5
        if not anchors:
            return score - span[0] / 100
        best = -1e9
        for a_start, a_end in anchors:
            after = span[0] >= a_end
            gap = sent[a_end : span[0]] if after else sent[span[1] : a_start]
            value = (2.0 if not _CLAUSE_BREAK.search(gap) else 0.0) - len(gap) / (20 if after else 12)
            best = max(best, value)
        # Many anchors in the span's own clause mean the question's words surround it.
        return score + best

    def _clause(self, query: Query, text: str, sentence: tuple[int, int]) -> tuple[int, int]:
        """No typed span: the clause of the sentence that covers the question best."""
        s, e = sentence
        bounds = [s] + [s + m.end() for m in _CLAUSE_BREAK.finditer(text[s:e])] + [e]
        clauses = [(a, b) for a, b in zip(bounds, bounds[1:]) if text[a:b].strip(" ，,。；;：:")]
        if not clauses:
            return sentence
        best = max(clauses, key=lambda c: coverage(query, text[c[0] : c[1]]))
        # Prefer the clause after the matched one: questions name the topic, the answer follows.
        index = clauses.index(best)
        if coverage(query, text[best[0] : best[1]]) > 0.9 and index + 1 < len(clauses) and query.answer_type == "other":
            best = (best[0], clauses[index + 1][1])
        return best[0], best[1] if text[best[1] - 1] not in "，,；;：:" else best[1] - 1
