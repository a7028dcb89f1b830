"""Features of candidate sentences and spans, for the fitted answer models (:mod:`qa.answer_model`).

Every feature is a number computed from the question, the retrieved passage and the candidate;
the weights that combine them are fitted on training questions (``qa fit-answers``), never set
by hand. The hand rules of :mod:`qa.answer_rules` enter as features, beside lexical coverage,
character overlap (robust to word segmentation and to Traditional/Simplified spelling), dense
question–sentence similarity, answer-type agreement, and the *slot* the question word leaves:
"温州后进支部转化了多少个" leaves a slot after 转化了 and before 个, so a span that sits right
after 转化了 in the sentence fills it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .answer_rules import _DATE, _LIST, _NUMBER, _QUOTE, RuleExtractor, coverage
from .answer_units import Word
from .query import Query

# Question kinds: the analyser's answer types, with "other" split by what it asks.
KINDS = ("date", "number", "person", "place", "list", "source", "why", "how", "yesno", "what")
_WHY = re.compile(r"为什么|为何|原因|因何|何故|why", re.IGNORECASE)
_HOW = re.compile(r"如何|怎样|怎么|how", re.IGNORECASE)
_YESNO = re.compile(r"是否|有没有|是不是|能否|可否|吗[？?]?$")
_WH = re.compile(r"什么|哪[个些里儿年位种一家座所条国]?|谁|多少|几|何[时地处人]?|怎样|如何|怎么|为什么|为何|是否|多[大高长远久重]")
_PUNCT = re.compile(r"[\s，,。.！!？?、；;：:“”\"'‘’「」『』（）()《》〈〉【】\[\]—\-…·]")
_QUESTION_CHARS = set("什么哪谁多少几何怎样如为是否吗呢请问的了")
_PARTICLE_START = re.compile(r"^[的了是在和与及而并、等]")
_PARTICLE_END = re.compile(r"[的了和与及而并在是]$")
_TIME_END = re.compile(r"[年月日号]$")
_LATIN = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"[\d０-９一二两三四五六七八九十百千万亿]")
SLOT_GAP = 3  # characters allowed between the question's context words and the slot they frame


@dataclass
class QuestionView:
    """What every candidate of one question is compared with, computed once."""

    query: Query
    kind: str
    chars: frozenset[str]  # content characters of the question
    bigrams: frozenset[str]
    left: str  # up to four characters just before the question word ("转化了")
    right: str  # up to four characters just after it ("个")
    head: str = ""  # the noun the question word asks for: "什么颜色" → 颜色


def question_kind(query: Query) -> str:
    if query.answer_type != "other":
        return query.answer_type
    for kind, pattern in (("why", _WHY), ("yesno", _YESNO), ("how", _HOW)):
        if pattern.search(query.simplified or query.text):
            return kind
    return "what"


def question_view(query: Query) -> QuestionView:
    text = query.text
    content = [c for c in _PUNCT.sub("", _WH.sub("", text)) if c not in _QUESTION_CHARS]
    flat = _PUNCT.sub("", text)
    cues = _PUNCT.sub("", query.simplified or text)
    # Question words are found in the Simplified form; offsets carry over when the lengths agree.
    wh = _WH.search(cues if len(cues) == len(flat) else flat)
    left = right = ""
    if wh:
        # "校长是谁" over "校长为某某": the copula before the question word varies, the noun does not.
        before = re.sub(r"[是为有在了的叫]+$", "", flat[: wh.start()])
        left = before[-4:]
        right = re.sub(r"^[的是个名项家位种年条次人]?", "", flat[wh.end() : wh.end() + 5])[:4]
    bigrams = {flat[i : i + 2] for i in range(len(flat) - 1)} - {flat[wh.start() : wh.start() + 2]} if wh else \
        {flat[i : i + 2] for i in range(len(flat) - 1)}
    head = re.match(r"(?:样的|樣的|一?[个個家种種类類位所条條座部本件项項名])?([\u4e00-\u9fff]{2})", flat[wh.end() :]) if wh else None
    noun = head.group(1) if head and not re.match(r"[的是了呢吗]", head.group(1)) else ""
    return QuestionView(query, question_kind(query), frozenset(content), frozenset(bigrams), left, right, noun)


def char_overlap(view: QuestionView, text: str) -> float:
    return len(view.chars & set(text)) / len(view.chars) if view.chars else 0.0


def bigram_overlap(view: QuestionView, text: str) -> float:
    if not view.bigrams:
        return 0.0
    return sum(b in text for b in view.bigrams) / len(view.bigrams)


def _suffix_ends(context: str, sent: str) -> list[tuple[int, int]]:
    """(end offset, length) of the longest suffixes (≥2 chars) of ``context`` found in ``sent``."""
    out = []
    for size in range(min(4, len(context)), 1, -1):
        piece = context[-size:]
        out.extend((m.end(), size) for m in re.finditer(re.escape(piece), sent))
        if out:
            break
    return out


def left_frame_ends(view: QuestionView, sent: str) -> list[int]:
    """Where the question's words just before its question word end in ``sent`` (the longest of
    their last 4 to 2 characters found): the answer's slot starts there ("政协主席|干文宏")."""
    return [end for end, _ in _suffix_ends(view.left, sent)] if view.left else []


def _prefix_starts(context: str, sent: str) -> list[tuple[int, int]]:
    out = []
    for size in range(min(4, len(context)), 0, -1):
        piece = context[:size]
        if size == 1 and not re.match(r"[\u4e00-\u9fff]", piece):
            break
        out.extend((m.start(), size) for m in re.finditer(re.escape(piece), sent))
        if out:
            break
    return out


# ---------------------------------------------------------------- sentences
SENTENCE_FEATURES = (
    "coverage", "coverage_vs_best", "passage_coverage", "char_overlap", "bigram_overlap",
    "bigram_vs_best", "dense", "dense_vs_best", "passage_rank_inv", "passage_is_top", "hit_score_vs_top",
    "position_inv", "is_first", "log_length", "rule_has_span", "rule_score", "slot_left", "slot_right",
    "previous_coverage", "next_coverage", "is_card", "card_x_publication", "local_coverage",
    "local_coverage_vs_best", "local_char_overlap", "local_char_vs_best", "untitled_coverage",
    "head_present", *(f"has_typed_x_{k}" for k in KINDS),
)


@dataclass
class SentenceContext:
    """One sentence and where it sits: passage rank, retrieval score, neighbours."""

    text: str
    passage_rank: int  # 0-based
    hit_score_vs_top: float
    position: int  # in siblings
    passage_coverage: float
    is_card: bool
    dense: float
    siblings: tuple[str, ...] = ()  # every sentence of the same passage, this one included
    title: str = ""

    @property
    def previous(self) -> str:
        return self.siblings[self.position - 1] if 0 < self.position <= len(self.siblings) else ""

    @property
    def following(self) -> str:
        return self.siblings[self.position + 1] if self.position + 1 < len(self.siblings) else ""


def typed_presence(view: QuestionView, sent: str) -> bool:
    """Whether the sentence holds anything of the kind asked for (cheap, regex only)."""
    kind = view.kind
    if kind == "number":
        return bool(_NUMBER.search(sent))
    if kind == "date":
        return bool(_DATE.search(sent))
    if kind == "list":
        return bool(_LIST.search(sent))
    if kind == "why":
        return bool(re.search(r"因为|由于|因此|所以|导致|为了|原因", sent))
    if kind == "how":
        return bool(re.search(r"通过|采取|采用|利用|方式|方法|措施", sent))
    return bool(_QUOTE.search(sent)) if kind == "what" else False


def sentence_rows(view: QuestionView, contexts: list[SentenceContext], rules: RuleExtractor,
                  publication: bool) -> list[list[float]]:
    """One feature row per sentence (relative features compare with the question's best)."""
    query = view.query
    covs = [coverage(query, c.text) for c in contexts]
    grams = [bigram_overlap(view, c.text) for c in contexts]
    best_cov, best_gram = max(covs, default=0.0), max(grams, default=0.0)
    best_dense = max((c.dense for c in contexts), default=0.0)
    local = [local_overlaps(view, c) for c in contexts]
    best_local = max((x[0] for x in local), default=0.0)
    best_local_char = max((x[1] for x in local), default=0.0)
    rows = []
    for ctx, cov, gram, (local_cov, local_char) in zip(contexts, covs, grams, local):
        rule = rules._score_sentence(query, ctx.text, (0, len(ctx.text)), ctx.is_card)
        typed = typed_presence(view, ctx.text)
        row = [
            cov, cov - best_cov, ctx.passage_coverage, char_overlap(view, ctx.text), gram, gram - best_gram,
            ctx.dense, ctx.dense - best_dense, 1 / (1 + ctx.passage_rank), float(ctx.passage_rank == 0),
            ctx.hit_score_vs_top, 1 / (1 + ctx.position), float(ctx.position == 0), math.log1p(len(ctx.text)),
            float(rule.span is not None), rule.score, *slot_cues(view, ctx.text),
            coverage(query, ctx.previous) if ctx.previous else 0.0,
            coverage(query, ctx.following) if ctx.following else 0.0,
            float(ctx.is_card), float(ctx.is_card and publication), local_cov, local_cov - best_local,
            local_char, local_char - best_local_char, untitled_coverage(query, ctx),
            float(bool(view.head) and view.head in ctx.text), *(float(typed and view.kind == k) for k in KINDS),
        ]
        rows.append(row)
    return rows


def slot_cues(view: QuestionView, text: str) -> tuple[float, float]:
    """Whether the question's words just before / just after the question word occur in ``text``
    (the sentence that frames the slot the question word leaves)."""
    return float(bool(_suffix_ends(view.left, text))), float(bool(view.right and _prefix_starts(view.right, text)))


def _rare_share(items: list[tuple[str, float]], ctx: SentenceContext) -> float:
    """Weighted share of ``items`` in the sentence, each also weighted by how rare it is among its siblings."""
    siblings = ctx.siblings or (ctx.text,)
    total = found = 0.0
    for item, weight in items:
        rarity = 1.0 - sum(item in t for t in siblings) / len(siblings) + 1.0 / len(siblings)
        total += weight * rarity
        found += weight * rarity * (item in ctx.text)
    return found / total if total else 0.0


def local_term_coverage(view: QuestionView, ctx: SentenceContext) -> float:
    """Coverage of the question's terms, each weighted by how *rare* it is among the passage's
    sentences: the topic ("纽西兰鸡毛松") is in most of them and tells them apart little; what is
    asked about ("多高" → 树高) is in few."""
    return _rare_share([(alts[0], w) for alts, w in view.query.key_terms if alts], ctx)


def local_overlaps(view: QuestionView, ctx: SentenceContext) -> tuple[float, float]:
    """:func:`local_term_coverage`, and the same for the question's characters."""
    return local_term_coverage(view, ctx), _rare_share([(c, 1.0) for c in view.chars], ctx)


def untitled_coverage(query: Query, ctx: SentenceContext) -> float:
    """Coverage by the question terms that are not in the document title (the title is the topic)."""
    terms = [(alts, w) for alts, w in query.key_terms if not any(a in ctx.title for a in alts)]
    total = sum(w for _, w in terms)
    if not total:
        return 0.0
    return sum(w for alts, w in terms if any(a in ctx.text for a in alts)) / total


# ---------------------------------------------------------------- spans
_SPAN_SHAPES = ("number", "date", "person", "place", "org", "other_name", "unknown_word", "noun_end",
                "verb_end", "list", "quoted", "latin", "time_end", "clause", "long", "enumeration")
# Which number a question wants when a sentence holds several: "从900个减少到300个".
_DIRECTIONS = (
    ("from", re.compile(r"原有|原来|原先|以前|过去|此前|起初|从|由"), re.compile(r"(?:从|由|原有|原来|原先|原)\s*$")),
    ("to", re.compile(r"到|至|变成|成为|现在|目前|如今|达到|现有"), re.compile(r"(?:到|至|为|成|达|达到)\s*$")),
    ("change", re.compile(r"(?:增加|减少|下降|提高|增长|上升|降低|扩大|缩小)了"),
     re.compile(r"(?:增加|减少|下降|提高|增长|上升|降低|扩大|缩小)了?\s*$")),
)
ENUMERATION = re.compile(r"[一二三四五六七八九十]是|第[一二三四五六七八九十]|[（(][1-9一二三四五六七八九][)）]|[一二三四五六七八九十]、")
SPAN_FEATURES = (
    "log_chars", "words", "in_question", "question_char_share", "unit_score", "focus_score", "rule_pick",
    "rule_overlap", "slot_left", "slot_left_gap0", "slot_right", "slot_right_gap0", "anchor_before_inv",
    "anchor_after_inv", "anchor_in_clause", "clause_coverage", "position", "starts_particle",
    "ends_particle", "starts_clause", "ends_clause", "is_whole_clause",
    *(f"after_{name}_word" for name, _, _ in _DIRECTIONS), *(f"asks_{name}_x_after" for name, _, _ in _DIRECTIONS),
    *(f"shape_{s}" for s in _SPAN_SHAPES),
    *(f"{k}_x_{s}" for k in KINDS for s in _SPAN_SHAPES),
    *(f"{k}_x_length_{b}" for k in KINDS for b in range(5)),
)
_LENGTH_BUCKETS = (2, 4, 8, 15)  # characters: 1–2, 3–4, 5–8, 9–15, 16+
_CLAUSE_BREAK = re.compile(r"[，,；;。！？!?：:]")


@dataclass
class SentenceSpans:
    """A sentence prepared for span scoring: its words, clause bounds and question anchors."""

    text: str
    words: list[Word]
    clause_starts: list[int]
    clause_ends: list[int]
    anchors: list[tuple[int, int]]
    left_ends: list[tuple[int, int]]
    right_starts: list[tuple[int, int]]
    rule_span: tuple[int, int] | None


def prepare_sentence(view: QuestionView, sent: str, words: list[Word], rules: RuleExtractor) -> SentenceSpans:
    breaks = [m.start() for m in _CLAUSE_BREAK.finditer(sent)]
    starts = [0] + [b + 1 for b in breaks]
    ends = breaks + [len(sent)]
    found = rules._span(view.query, sent)
    return SentenceSpans(sent, words, starts, ends, rules._anchors(view.query, sent),
                         _suffix_ends(view.left, sent), _prefix_starts(view.right, sent) if view.right else [],
                         found[0] if found else None)


def enumeration_spans(sent: str) -> list[tuple[int, int]]:
    """ "一是…；二是…；三是…": from the first marker to the end, when there are two or more."""
    markers = list(ENUMERATION.finditer(sent))
    if len(markers) < 2:
        return []
    return [(markers[0].start(), len(sent.rstrip("。！？!? ")))]


def clause_spans(prepared: SentenceSpans) -> list[tuple[int, int]]:
    """Whole clauses (trimmed), for the why/how questions whose answers are clauses."""
    spans = []
    for s, e in zip(prepared.clause_starts, prepared.clause_ends):
        while s < e and prepared.text[s] in " 　":
            s += 1
        if e - s >= 2:
            spans.append((s, e))
    return spans


def _shapes(prepared: SentenceSpans, span: tuple[int, int], inside: list[Word]) -> dict[str, bool]:
    s, e = span
    text = prepared.text[s:e]
    flags = [w.flag for w in inside]
    number = _NUMBER.fullmatch(text) is not None or (bool(_DIGIT.search(text)) and len(text) <= 12)
    date = bool(_DATE.fullmatch(text)) or bool(_TIME_END.search(text) and _DIGIT.search(text))
    before, after = prepared.text[s - 1 : s], prepared.text[e : e + 1]
    return {
        "number": number, "date": date, "person": "nr" in flags, "place": "ns" in flags, "org": "nt" in flags,
        "other_name": "nz" in flags, "unknown_word": "un" in flags, "noun_end": bool(flags) and flags[-1].startswith("n"),
        "verb_end": bool(flags) and flags[-1].startswith("v"), "list": "、" in text,
        "quoted": before in "“「\"《『" and after in "”」\"》』" and bool(before) and bool(after),
        "latin": bool(_LATIN.search(text)), "time_end": bool(_TIME_END.search(text)),
        "clause": s in prepared.clause_starts and e in prepared.clause_ends, "long": len(text) > 10,
        "enumeration": len(ENUMERATION.findall(text)) >= 2,
    }


def _nearest(points: list[tuple[int, int]], target: int, after: bool) -> tuple[float, float]:
    """(1/(1+gap), size) of the closest point at or before (after=False) / after the target."""
    best_gap, best_size = None, 0
    for pos, size in points:
        gap = target - pos if not after else pos - target
        if 0 <= gap <= SLOT_GAP and (best_gap is None or gap < best_gap):
            best_gap, best_size = gap, size
    if best_gap is None:
        return 0.0, 0.0
    return best_size / 4, float(best_gap == 0)


def span_rows(view: QuestionView, prepared: SentenceSpans, spans: list[tuple[int, int]],
              rules: RuleExtractor) -> list[list[float]]:
    query, sent = view.query, prepared.text
    asks = [bool(cue.search(query.simplified or query.text)) for _, cue, _ in _DIRECTIONS]
    rows = []
    for span in spans:
        s, e = span
        text = sent[s:e]
        inside = [w for w in prepared.words if w.start >= s and w.end <= e]
        shapes = _shapes(prepared, span, inside)
        bucket = sum(len(text) > edge for edge in _LENGTH_BUCKETS)
        clause_start = max((c for c in prepared.clause_starts if c <= s), default=0)
        clause_end = min((c for c in prepared.clause_ends if c >= e), default=len(sent))
        clause = sent[clause_start:s] + sent[e:clause_end]
        before = [s - a_end for a_start, a_end in prepared.anchors if a_end <= s]
        after = [a_start - e for a_start, a_end in prepared.anchors if a_start >= e]
        in_clause = any(clause_start <= a_start and a_end <= clause_end and (a_end <= s or a_start >= e)
                        for a_start, a_end in prepared.anchors)
        rule = prepared.rule_span
        overlap = 0.0
        if rule:
            common = max(0, min(e, rule[1]) - max(s, rule[0]))
            overlap = 2 * common / ((e - s) + (rule[1] - rule[0]))
        after_words = [bool(marker.search(sent[max(0, s - 4) : s])) for _, _, marker in _DIRECTIONS]
        slot_left, left_exact = _nearest(prepared.left_ends, s, after=False)
        slot_right, right_exact = _nearest(prepared.right_starts, e, after=True)
        row = [
            math.log1p(len(text)), float(len(inside)),
            float(text in query.text), char_overlap_share(view, text), rules._unit_score(query, text),
            rules._focus_score(query, sent, span), float(rule == span), overlap,
            slot_left, left_exact, slot_right, right_exact,
            1 / (1 + min(before)) if before else 0.0, 1 / (1 + min(after)) if after else 0.0, float(in_clause),
            coverage(query, clause) if clause.strip() else 0.0, s / max(len(sent), 1),
            float(bool(_PARTICLE_START.search(text))), float(bool(_PARTICLE_END.search(text))),
            float(s == clause_start), float(e == clause_end), float(s == clause_start and e == clause_end),
            *(float(a) for a in after_words), *(float(a and q) for a, q in zip(after_words, asks)),
            *(float(shapes[n]) for n in _SPAN_SHAPES),
            *(float(shapes[n] and view.kind == k) for k in KINDS for n in _SPAN_SHAPES),
            *(float(view.kind == k and bucket == b) for k in KINDS for b in range(5)),
        ]
        rows.append(row)
    return rows


def char_overlap_share(view: QuestionView, text: str) -> float:
    """Share of the span's characters that the question already contains (echoes score low)."""
    chars = [c for c in text if not _PUNCT.match(c)]
    return sum(c in view.query.text for c in chars) / len(chars) if chars else 1.0
