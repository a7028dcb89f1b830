"""Question analysis: what kind of answer is wanted, and which terms must be present.

A :class:`Query` carries the keyword tokens for BM25 (with English words translated), the
key-term groups used to judge whether a passage really covers the question, and the expected
answer type used to pick the short answer span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .crosslingual import Translator, english_words, is_english
from .keyword_index import TermStats
from .script import both_scripts, to_simplified
from .tokenizer import STOPWORDS, Tokenizer

# (answer type, Chinese cue, English cue); the first match wins, so specific cues come first.
#: What makes a question yes/no (qa/yes_no.py reads what follows it as what is asked).
YES_NO_MARKERS = r"是否|是不是|有没有|有沒有|有无|有無|能否|可否|能不能|会不会|會不會|可不可以"
# A yes/no marker inside a question that asks for something else ("测量是否有高血压的方法是？",
# "决定是否废除依照何标准？") does not make it a yes/no question.
_ASKS_FOR = re.compile(r"什么|什麼|哪|谁|誰|何|多少|几|幾|怎|如何|为什么|為什麼|方法是|原因|指的是")
_TYPES = [
    ("list", r"哪些|哪几|哪[两二三四五六七八九十]|包括什么|包括哪|分别是|有哪", r"\bwhich\b.*\b(are|were)\b|what are|what were|\blist\b"),
    ("date", r"什么时候|何时|哪一?年|哪一?天|几月|几号|哪个月|日期|时间是|发布时间|何年", r"\bwhen\b|what (year|date|day|month|time)|which (year|date|day)"),
    ("number", r"多少|几[个名项家人次倍年位所条批届]|几|百分之|比例|比率|[^效]率是|多大|多高|多长|多远|多久", r"how (many|much|long|far|old|large|big|high)|\b(percentage|proportion|share|number|rate|area|size)\b|\bpercent"),
    ("person", r"谁|哪位|什么人|作者|编辑|记者|何人|姓名|名字", r"\bwho\b|\bwhom\b|\bauthor\b|\beditor\b|\bwrote\b|whose name"),
    ("place", r"哪里|哪儿|什么地方|何地|在哪|哪个(城市|地方|省|市|县|区|宾馆)|哪座", r"\bwhere\b|which (city|place|county|province|town|hotel)"),
    ("source", r"来源|出处|哪家媒体|哪个网站|刊登|发表在", r"\bsource\b|published (by|in)|which (newspaper|website|paper)"),
    ("yesno", r"吗[？?]?\s*$", r"(?!)"),  # "…吗？" only when no other cue asks for something
]
# Framing that points at "the article" rather than at its content.
_FRAMING = re.compile(
    r"(这|那|该|本)?(一)?(篇|份|个|条|则)?(文章|报道|文档|稿件|新闻|消息)(中|里|里面)?|文中|一文中?|"
    r"是?(哪天|何时|什么时候)?(发布|发表|刊登|刊发|写)的?"
)
# The word right before these cues is what the question asks about ("解决了多少个" → 解决).
_CUE = re.compile(r"多少|几|什么|谁|哪|何|怎样|如何|是否")
_VERBAL = re.compile(r"^(了|到|至|为|达|是|成)")
_UNIT_CHARS = set("个名项家人次倍年位所条批届户元月日天种类")
_QUESTION_WORDS = re.compile(r"多少|几|什么|哪|谁|吗|呢|如何|怎样|怎么|是否|为什么|请问|\?|？|" + YES_NO_MARKERS)


@dataclass
class Query:
    text: str
    english: bool
    answer_type: str  # date | number | person | place | list | source | other
    tokens: list[str]  # BM25 query tokens
    key_terms: list[tuple[list[str], float]] = field(default_factory=list)  # (alternatives, weight)
    unit: str = ""  # measure word asked for: 多少个 → 个
    focus: list[str] = field(default_factory=list)  # terms just before the question word
    look_after: bool = False  # "解决了多少": the answer follows the focus term
    head: str = ""  # the noun asked for: "什么会议" → 会议
    simplified: str = ""  # the question in Simplified script, where its cues are read


def answer_type(text: str, english: bool) -> str:
    if not english and re.search(YES_NO_MARKERS, text) and not _ASKS_FOR.search(text):
        return "yesno"  # English yes/no questions keep the English rules
    for name, chinese, latin in _TYPES:
        if re.search(latin if english else chinese, text, re.IGNORECASE):
            return name
    return "other"


def _unit(text: str) -> str:
    match = re.search(r"(?:多少|几)(人次|[个名项家人次倍年位所条批届户元%]|平方米)", text)
    if match:
        return match.group(1)
    if re.search(r"面积|how large|\barea\b|square", text):
        return "平方米"
    if re.search(r"多长时间|多久|多少年|多少天|how long", text):
        return "time"
    if re.search(r"体重|多重|重量|weigh", text):
        return "公斤"
    if re.search(r"多高|多长|多远|身高|长度|高度|距离|how (tall|high|far|long is)", text):
        return "米"
    # A rate of change is a percentage even when what changes is money ("收入同比增长多少").
    if re.search(r"同比|环比|增幅|增速|涨幅|降幅|增长率|占比|year on year|growth rate", text):
        return "%"
    if re.search(r"多少钱|收入|投入|资金|经费|income|cost|spent|invest", text):
        return "元"
    return "%" if re.search(r"百分之|比例|率|percent|proportion|\brate\b", text) else ""


def _focus(text: str, words: list[str]) -> tuple[list[str], bool]:
    """Key words within six characters before the first question cue, and whether a verb-like
    particle follows them (then the answer comes after the focus in the passage)."""
    cue = _CUE.search(text)
    if not cue:
        return [], False
    window = text[max(0, cue.start() - 6) : cue.start()]
    focus = [w for w in words if w in window]
    last = max(focus, key=lambda w: text.rfind(w, 0, cue.start()), default="")
    tail = text[text.rfind(last, 0, cue.start()) + len(last) : cue.start()] if last else ""
    return focus, bool(_VERBAL.match(tail))


def _as_written(words: list[str], simplified: str, original: str) -> dict[str, str]:
    """Each word of the Simplified form as the question itself spells it (same offsets)."""
    found = {}
    for word in words:
        at = simplified.find(word)
        if at >= 0:
            found[word] = original[at : at + len(word)]
    return found


def _forms(word: str, written: dict[str, str]) -> list[str]:
    """The question's own spelling of a (Simplified) word, then the word in both scripts."""
    return list(dict.fromkeys([written.get(word, word), *both_scripts(word)]))


class QueryAnalyzer:
    def __init__(self, tokenizer: Tokenizer, keyword: TermStats, translator: Translator) -> None:
        self.tokenizer = tokenizer
        self.keyword = keyword
        self.translator = translator

    def run(self, text: str) -> Query:
        english = is_english(text)
        if english:
            return self._english(text)
        cues = to_simplified(text)
        aligned = len(cues) == len(text)  # offsets in the Simplified form hold in the original too
        # Words are cut from the Simplified form, as the index cut the corpus (jieba's dictionary
        # is Simplified: Traditional text falls apart into characters), so their weights agree;
        # each also carries the question's own spelling and the Traditional one, to be found in a
        # passage of either script.
        content = _FRAMING.sub(" ", cues)
        tokens = self.tokenizer.tokens(content)
        words = [w for w in self.tokenizer.words(content) if w not in STOPWORDS and not _QUESTION_WORDS.fullmatch(w)]
        words = [w for w in dict.fromkeys(words) if not _is_question_word(w)]
        written = _as_written(words, cues, text) if aligned else {}
        key_terms = [(_forms(w, written), self.keyword.idf(w)) for w in words]
        focus, after = _focus(cues, words)
        focus = list(dict.fromkeys(f for w in focus for f in (written.get(w, w), w)))
        head = re.search(r"(?:什么样?的?|哪种|哪类|怎样的)([\u4e00-\u9fff]{1,4}?)(?:[？?。]|$|呢|吗)", cues)
        noun = head.group(1) if head and head.group(1) not in STOPWORDS else ""
        if noun and aligned:  # the noun as the passage (in the question's script) writes it
            noun = text[head.start(1) : head.end(1)]
        return Query(text, False, answer_type(cues, False), tokens, key_terms, _unit(cues), focus, after, noun, cues)

    def _english(self, text: str) -> Query:
        terms = self.translator.translate(text, self.keyword.doc_freq) if self.translator.available else []
        tokens = [c for t in terms for c in t.chinese] + english_words(text)
        found = sorted(self.keyword.idf(t.chinese[0]) for t in terms if t.chinese)
        typical = found[len(found) // 2] if found else 1.0
        key_terms = []
        for term in terms:
            weight = self.keyword.idf(term.chinese[0]) if term.chinese else typical
            # A name the corpus does not contain (Shanghai) counts double: likely off-topic.
            forms = list(dict.fromkeys(f for word in term.chinese for f in both_scripts(word)))
            key_terms.append((forms, weight * (2 if term.proper else 1)))
        return Query(text, True, answer_type(text, True), tokens, key_terms, _unit(text.lower()))


def _is_question_word(word: str) -> bool:
    return (bool(_QUESTION_WORDS.search(word)) and len(word) <= 3) or word in _UNIT_CHARS
