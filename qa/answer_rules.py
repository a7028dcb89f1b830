"""Hand-written answer rules: typed candidates (numbers with measure words, dates, names, lists …)
and the scores the first extractor gave them. The learned extractor (:mod:`qa.answering`) keeps
them as *features* beside its own; it no longer obeys their hand-set weights.

Sentences of the top passages are scored by how much of the question they cover (key terms
weighted by IDF) and whether they hold a candidate of the wanted type: a number with its
measure word, a date, a person, a place, a list, a quoted name, a ``label: value`` pair, or a
metadata field. Among candidates, the one whose own clause covers the question best and sits
next to the question's focus term wins. When the best passage covers too little of the
question, the assistant abstains instead of dressing a neighbour up as an answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .answer_units import CLOCK, tag_words
from .config import AnswerSettings
from .query import Query
from .schema import Answer, Hit, Passage
from .sentences import split_spans
from .tokenizer import Tokenizer

_UNITS = (
    "人次|万元|亿元|万人|平方公里|平方千米|平方米|公顷|公里|千米|厘米|毫米|公斤|千克|分钟|小时|个月|方面|美元|英里|"
    "个|名|家|项|人|元|倍|次|页|岁|米|克|升|度|户|村|所|座|条|件|篇|期|届|批|台|辆|吨|亩|周|天|年|种|类|级|位|支|组|大|点|秒"
)
_NUMBER = re.compile(
    rf"{CLOCK.pattern}|"  # a clock time, whole: 14:30
    rf"百分之[一二三四五六七八九十百点\d.]+|\d+(?:[.,]\d+)*\s*[%‰％]|半(?:年|天|个月)|"
    rf"\d+(?:\.\d+)?(?:多|余)?(?:万|亿|千|百)?(?:{_UNITS})?|[一二两三四五六七八九十百千万]+(?:多|余)?(?:{_UNITS})"
)
_UNIT_CLASSES = [set("个项家所条件批届户村座种类支组点"), {"名", "人", "位", "万人", "人次"}, {"%", "‰", "％"},
                 {"元", "万元", "亿元", "美元"}, {"年", "个月", "天", "小时", "分钟", "周", "秒"},
                 {"米", "公里", "千米", "厘米", "毫米", "英里"}, {"平方米", "平方公里", "平方千米", "公顷", "亩"},
                 {"克", "公斤", "千克", "吨"}]
_DATE = re.compile(
    r"(?:19|20)\d{2}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?(?:\s*\d{1,2}:\d{2})?|"
    r"(?<!\d)(?:公元前?)?\d{3,4}年(?:\d{1,2}月(?:\d{1,2}日)?)?|"  # older years: 518年, 1562年
    r"[\u4e00-\u9fff]{2}(?:\d{1,2}|元)年(?:\s*[（(]\d{3,4}年[)）])?|"  # era dates: 永禄5年（1562年）
    r"(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}|(?:今年|去年|明年)?\d{1,2}月(?:\d{1,2}日)?|"
    r"(?:昨天|今天|前天)(?:上午|下午|晚上)?"
)
# A venue right after a preposition: "在肥东宾馆召开" → 肥东宾馆.
_VENUE = re.compile(r"(?<=[在于到])[\u4e00-\u9fff]{1,8}?(?:宾馆|酒店|饭店|会议中心|大厦|礼堂|会堂|广场|体育馆)")
_ITEM = r"[“\"「]?[\u4e00-\u9fffA-Za-z0-9()（）+]{2,16}[”\"」]?"
_GROUP = rf"(?:{_ITEM}、)+{_ITEM}"
# Items joined by 、; groups of such items may be joined by ；(调查摸底、分类定级；健全组织、扩大覆盖).
_LIST = re.compile(rf"(?:{_GROUP}[；;])*{_GROUP}(?:(?:和|及|与|以及){_ITEM})?")
# "一批/一个/一些" are articles ("a batch of"), not answers to "how many".
_ARTICLE = re.compile(r"^[一]\s*(?:批|个|些|种|项|次|位|名|家|条|支)$")
# "建立两项制度,即建立A制度和B制度" — 即 introduces the items.
_INTRODUCED = re.compile(r"即([^；;。！？]{4,80})")
_GENERIC_PLACES = {"城市", "农村", "城乡", "地方", "基层", "全国", "全市", "全县", "全省", "全区"}
_QUOTE = re.compile(r"[“「\"]([^”」\"]{1,30})[”」\"]")
_CLAUSE = re.compile(r"[，,；;。！？!?：:]")
_FINE_CLAUSE = re.compile(r"[，,；;。！？!?：:、]")
_LEAD_IN = re.compile(r"^[\s，,：:、]*(?:就有|就是|即|是|为|有|叫|称为)?")
_FIELD_CUES = [
    ("作者", r"作者|谁写|撰写|author|wrote|written"),
    ("编辑", r"编辑|editor|edited"),
    ("来源", r"来源|出处|媒体|刊登|发表在|source|newspaper|published (by|in)"),
    ("日期", r"日期|什么时候|何时|哪一?天|哪一?年|发布|发表|date|when|published on"),
    ("标题", r"标题|题目|title|headline"),
]
_PUBLICATION = re.compile(r"发布|发表|刊登|刊发|作者|编辑|来源|出处|谁写|写的|published|author|editor|source|wrote",
                          re.IGNORECASE)


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


def missing_terms(key_terms: list[tuple[list[str], float]], text: str) -> list[tuple[list[str], float]]:
    """The key terms no form of which occurs in ``text`` (the passages read: a question about
    what they never mention is one they do not answer)."""
    return [(alternatives, weight) for alternatives, weight in key_terms if not any(a in text for a in alternatives)]


def missing_weights(key_terms: list[tuple[list[str], float]], text: str) -> list[float]:
    """The weights of :func:`missing_terms`."""
    return [weight for _, weight in missing_terms(key_terms, text)]


def _term_credit(term: str, text: str) -> float:
    if term in text:
        return 1.0
    if len(term) < 3:
        return 0.0
    # Partial credit for a compound whose parts occur (后进支部 ~ 后进 … 支部).
    pairs = [term[i : i + 2] for i in range(len(term) - 1)]
    return 0.7 * sum(p in text for p in pairs) / len(pairs)


# "从12座增加到73座": a question about where a change started or ended wants that end of it.
_ASKS_FROM = re.compile(r"原有|原来|原先|以前|过去|起初|最初|从|由")
_ASKS_TO = re.compile(r"到|至|达到|变为|现在|目前|如今|现有")
_FROM_WORD = re.compile(r"从|由|原来|原有|原先|最初")
_TO_WORD = re.compile(r"到|至|增为|降为|变为|达到")


def _direction_score(query: Query, sent: str, span: tuple[int, int]) -> float:
    """+1 when the nearest change word before the span (从/由 … 到/至) is the end the question
    asks for, −0.5 when it is the other end; 0 when the question asks neither or both."""
    cues = query.simplified or query.text
    asks_from, asks_to = bool(_ASKS_FROM.search(cues)), bool(_ASKS_TO.search(cues))
    if asks_from == asks_to:
        return 0.0
    left = sent[max(0, span[0] - 12) : span[0]]
    left = left[max((m.end() for m in _CLAUSE.finditer(left)), default=0) :]  # within the clause
    found = [(m.end(), "from") for m in _FROM_WORD.finditer(left)] + [(m.end(), "to") for m in _TO_WORD.finditer(left)]
    if not found:
        return 0.0
    nearest = max(found)[1]
    return 1.0 if (nearest == "from") == asks_from else -0.5


def _clause_of(sent: str, span: tuple[int, int], pattern: re.Pattern) -> str:
    start = max((m.end() for m in pattern.finditer(sent, 0, span[0])), default=0)
    end = next((m.start() for m in pattern.finditer(sent, span[1])), len(sent))
    return sent[start : span[0]] + sent[span[1] : end]


def _unit_class(unit: str) -> int | None:
    return next((i for i, cls in enumerate(_UNIT_CLASSES) if unit in cls), None)


class RuleExtractor:
    def __init__(self, tokenizer: Tokenizer, settings: AnswerSettings,
                 tag: Callable[[str], list[tuple[str, str]]] | None = None) -> None:
        self.tokenizer = tokenizer
        self.settings = settings
        self.tag = tag or tokenizer.tag  # part-of-speech tagging for names and places

    def run(self, query: Query, hits: list[Hit], question_vector=None) -> Answer:  # the vector is unused
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
            sentences = [(0, len(chunk.text))] if chunk.paragraph == 0 else split_spans(chunk.text, semicolons=False)
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
            score += (1.0 if _PUBLICATION.search(query.text) else 0.4) if span else -1.0
        else:
            found = self._span(query, sent)
            span = found[0] if found else None
            score += 0.4 + 0.1 * found[1] if found else 0.0
        if span is not None:
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

    # ------------------------------------------------------------ candidate spans
    def _span(self, query: Query, sent: str) -> tuple[tuple[int, int], float] | None:
        """The best candidate span in the sentence and its score."""
        anchors = self._anchors(query, sent)
        labelled = self._labelled(query, sent, anchors)
        if labelled:
            return labelled, 3.0
        spans = [sp for sp in self._candidates(query, sent) if sent[sp[0] : sp[1]] not in query.text]
        if not spans:
            return None
        scored = [(self._score_span(query, sent, sp, anchors), sp) for sp in spans]
        score, span = max(scored)
        return span, score

    def _labelled(self, query: Query, sent: str, anchors: list[tuple[int, int]]) -> tuple[int, int] | None:
        """ "实施主体:区委组织部" — a question term followed by a colon labels the answer."""
        for _, end in anchors:
            match = re.match(r"\s*[:：]\s*([^\s，,。；;：:]{2,20})", sent[end:])
            if match and query.answer_type != "list":
                return end + match.start(1), end + match.end(1)
        return None

    def _candidates(self, query: Query, sent: str) -> list[tuple[int, int]]:
        kind = query.answer_type
        if kind == "number":
            spans = [m.span() for m in _NUMBER.finditer(sent) if m.group().strip() and not _ARTICLE.match(m.group())]
            if query.unit not in ("年", "time"):  # "多少个" is rarely answered by a year or a date
                spans = [sp for sp in spans if not re.search(r"\d{4}年?$|月|日$", sent[sp[0] : sp[1]])]
            return spans
        if kind == "date":
            return [m.span() for m in _DATE.finditer(sent)]
        if kind == "list":
            quoted = [sp for sp in self._quotes(query, sent) if re.search("[、，,；]", sent[sp[0] : sp[1]])]
            introduced = [m.span(1) for m in _INTRODUCED.finditer(sent)]
            return [m.span() for m in _LIST.finditer(sent)] + quoted + introduced
        if kind in ("person", "place", "source"):
            flags = {"person": ("nr",), "place": ("ns",), "source": ("nt", "nz")}[kind]
            spans = self._entities(sent, flags, venues=kind == "place")
            spans = [sp for sp in spans if sent[sp[0] : sp[1]] not in _GENERIC_PLACES]
            suffix = re.search(r"哪个?([市省县区镇乡村])", query.text)
            if suffix:  # "属于哪个市" wants a name ending in 市
                spans = [sp for sp in spans if sent[sp[0] : sp[1]].endswith(suffix.group(1))]
            return spans
        return self._quotes(query, sent) + [m.span() for m in _LIST.finditer(sent)] + self._headed(query, sent)

    def _headed(self, query: Query, sent: str) -> list[tuple[int, int]]:
        """ "召开的是什么会议" → a phrase ending in 会议 that starts after a question term."""
        if not query.head:
            return []
        spans = []
        for m in re.finditer(re.escape(query.head), sent):
            before = sent[: m.start()]
            starts = [before.rfind(t) + len(t) for alts, _ in query.key_terms for t in alts
                      if t != query.head and t in before[-30:]]
            start = max(starts + [max((c.end() for c in _FINE_CLAUSE.finditer(before)), default=0)])
            if 2 <= m.end() - start <= 30:
                spans.append((start, m.end()))
        return spans

    def _quotes(self, query: Query, sent: str) -> list[tuple[int, int]]:
        """Quoted phrases, trimmed to what follows the question's own words inside them."""
        spans = []
        for match in _QUOTE.finditer(sent):
            start, end = match.span(1)
            inner = sent[start:end]
            last = max((inner.rfind(t) + len(t) for alts, _ in query.key_terms for t in alts if t in inner),
                       default=0)
            if last and last < len(inner) and "、" not in inner[:last]:  # never cut a quoted list in half
                lead = _LEAD_IN.match(inner[last:])
                start = start + last + (lead.end() if lead else 0)
            if end - start >= 1 and sent[start:end] not in query.text:
                spans.append((start, end))
        return spans

    def _entities(self, sent: str, flags: tuple[str, ...], venues: bool) -> list[tuple[int, int]]:
        spans = [m.span() for m in _VENUE.finditer(sent)] if venues else []
        for word in tag_words(self.tag(sent), sent):
            if not word.flag.startswith(flags) or word.end - word.start < 2:
                continue
            if spans and spans[-1][1] == word.start:  # merge 陈 + 德荣 style splits
                spans[-1] = (spans[-1][0], word.end)
            else:
                spans.append((word.start, word.end))
        return spans

    def _anchors(self, query: Query, sent: str) -> list[tuple[int, int]]:
        anchors = []
        for alternatives, _ in query.key_terms:
            for term in alternatives:
                anchors.extend(m.span() for m in re.finditer(re.escape(term), sent))
        return anchors

    def _score_span(self, query: Query, sent: str, span: tuple[int, int], anchors: list[tuple[int, int]]) -> float:
        clause = _clause_of(sent, span, _CLAUSE if query.answer_type == "list" else _FINE_CLAUSE)
        score = 2.0 * coverage(query, clause) + self._unit_score(query, sent[span[0] : span[1]])
        score += self._focus_score(query, sent, span) + _direction_score(query, sent, span)
        near = [self._gap(sent, span, a) for a in anchors]
        if near:
            score -= min(near) / 30
        return score - span[0] / 1000  # stable preference for the earlier span on ties

    @staticmethod
    def _gap(sent: str, span: tuple[int, int], anchor: tuple[int, int]) -> float:
        if span[0] >= anchor[1]:
            return span[0] - anchor[1]
        return 1.5 * max(anchor[0] - span[1], 0)

    @staticmethod
    def _focus_score(query: Query, sent: str, span: tuple[int, int]) -> float:
        """Bonus for sitting right next to the term the question asks about."""
        best = 0.0
        for term in query.focus:
            for m in re.finditer(re.escape(term), sent):
                after = span[0] >= m.end()
                gap = span[0] - m.end() if after else m.start() - span[1]
                if 0 <= gap <= 6 and not _CLAUSE.search(sent[min(m.end(), span[1]) : max(m.start(), span[0])]):
                    weight = 1.5 if after and query.look_after else 1.0 if after or not query.look_after else 0.4
                    best = max(best, weight * (1.0 - gap / 10))
        return best

    @staticmethod
    def _unit_score(query: Query, candidate: str) -> float:
        if not query.unit or query.answer_type != "number":
            return 0.0
        unit = re.sub(r"^[\d.,一二两三四五六七八九十百千万半多余\s]+", "", candidate)
        if query.unit == "time":
            return 1.2 if _unit_class(unit) == 4 else -0.5
        if unit == query.unit:
            return 1.5
        if unit and _unit_class(unit) is not None and _unit_class(unit) == _unit_class(query.unit):
            return 1.2
        return -0.5 if unit else 0.0

    def _clause(self, query: Query, text: str, sentence: tuple[int, int]) -> tuple[int, int]:
        """No typed span: the clause of the sentence that covers the question best."""
        s, e = sentence
        bounds = [s] + [s + m.end() for m in _CLAUSE.finditer(text[s:e])] + [e]
        clauses = [(a, b) for a, b in zip(bounds, bounds[1:]) if text[a:b].strip(" ，,。；;：:")]
        if not clauses:
            return sentence
        best = max(clauses, key=lambda c: coverage(query, text[c[0] : c[1]]))
        # Questions name the topic; when a clause merely repeats it, the answer follows.
        index = clauses.index(best)
        if coverage(query, text[best[0] : best[1]]) > 0.9 and index + 1 < len(clauses):
            best = (best[0], clauses[index + 1][1])
        end = best[1]
        while end > best[0] and text[end - 1] in "，,；;：:。":
            end -= 1
        return best[0], end
