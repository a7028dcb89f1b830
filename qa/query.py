"""Question analysis: what kind of answer is wanted, and which terms must be present.

A :class:`Query` carries the keyword tokens for BM25 (with English words translated), the
key-term groups used to judge whether a passage really covers the question, and the expected
answer type used to pick the short answer span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .crosslingual import Translator, english_words, is_english
from .keyword_index import KeywordIndex
from .tokenizer import STOPWORDS, Tokenizer

# (answer type, Chinese cue, English cue); the first match wins, so specific cues come first.
_TYPES = [
    ("date", r"什么时候|何时|哪一?年|哪一?天|几月|几号|哪个月|日期|时间是|发布时间|何年", r"\bwhen\b|what (year|date|day|month|time)|which (year|date|day)"),
    ("number", r"多少|几[个名项家人次倍年位所条批届]|几|百分之|比例|比率|[^效]率是|多大|多高|多长|多远|多久", r"how (many|much|long|far|old|large|big|high)|what (percentage|proportion|share|number|rate)|\bpercent"),
    ("person", r"谁|哪位|什么人|作者|编辑|记者|何人|姓名|名字", r"\bwho\b|\bwhom\b|\bauthor\b|\beditor\b|\bwrote\b|whose name"),
    ("place", r"哪里|哪儿|什么地方|何地|在哪|哪个(城市|地方|省|市|县|区|宾馆)|哪座", r"\bwhere\b|which (city|place|county|province|town|hotel)"),
    ("list", r"哪些|哪几|包括什么|包括哪|有什么|分别是|几个方面|哪几个", r"\bwhich\b.*\b(are|were)\b|what are|what were|\blist\b"),
    ("source", r"来源|出处|哪家媒体|哪个网站|刊登|发表在", r"\bsource\b|published (by|in)|which (newspaper|website|paper)"),
]
# Framing that points at "the article" rather than at its content.
_FRAMING = re.compile(r"(这|那|该|本)?(一)?(篇|份|个)?(文章|报道|文档|稿件|新闻)(中|里|里面)?|文中|一文中?")
_QUESTION_WORDS = re.compile(r"多少|几|什么|哪|谁|吗|呢|如何|怎样|怎么|是否|为什么|请问|\?|？")


@dataclass
class Query:
    text: str
    english: bool
    answer_type: str  # date | number | person | place | list | source | other
    tokens: list[str]  # BM25 query tokens
    key_terms: list[tuple[list[str], float]] = field(default_factory=list)  # (alternatives, weight)
    unit: str = ""  # measure word asked for: 多少个 → 个


def answer_type(text: str, english: bool) -> str:
    for name, chinese, latin in _TYPES:
        if re.search(latin if english else chinese, text, re.IGNORECASE):
            return name
    return "other"


def _unit(text: str) -> str:
    match = re.search(r"(?:多少|几)([个名项家人次倍年位所条批届户元%])", text)
    if match:
        return match.group(1)
    return "%" if re.search(r"百分之|比例|率|percent|proportion|rate", text) else ""


class QueryAnalyzer:
    def __init__(self, tokenizer: Tokenizer, keyword: KeywordIndex, translator: Translator) -> None:
        self.tokenizer = tokenizer
        self.keyword = keyword
        self.translator = translator

    def run(self, text: str) -> Query:
        english = is_english(text)
        if english:
            return self._english(text)
        content = _FRAMING.sub(" ", text)
        tokens = self.tokenizer.tokens(content)
        words = [w for w in self.tokenizer.words(content) if w not in STOPWORDS and not _QUESTION_WORDS.fullmatch(w)]
        key_terms = [([w], self.keyword.idf(w)) for w in dict.fromkeys(words) if not _is_question_word(w)]
        return Query(text, False, answer_type(text, False), tokens, key_terms, _unit(text))

    def _english(self, text: str) -> Query:
        groups = self.translator.translate(text, self.keyword.doc_freq) if self.translator.available else []
        tokens = [t for g in groups for t in g] + english_words(text)
        top = max((self.keyword.idf(t) for g in groups for t in g), default=1.0)
        key_terms = [(g, max(self.keyword.idf(t) for t in g) if g else top) for g in groups]
        return Query(text, True, answer_type(text, True), tokens, key_terms, _unit(text.lower()))


def _is_question_word(word: str) -> bool:
    return bool(_QUESTION_WORDS.search(word)) and len(word) <= 3
