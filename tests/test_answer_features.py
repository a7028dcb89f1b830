from qa.answer_features import (
    KINDS,
    SPAN_FEATURES,
    bigram_overlap,
    char_overlap,
    prepare_sentence,
    question_kind,
    question_view,
    span_rows,
)
from qa.answer_rules import RuleExtractor
from qa.answer_units import tag_words
from qa.config import AnswerSettings
from qa.query import Query
from qa.tokenizer import Tokenizer


def _query(text: str, answer_type: str = "other") -> Query:
    return Query(text, False, answer_type, [], [([w], 1.0) for w in ("后进支部", "转化")])


def test_question_kinds_split_other_by_what_is_asked():
    assert question_kind(_query("为什么要建立党组织？")) == "why"
    assert question_kind(_query("如何实现全覆盖？")) == "how"
    assert question_kind(_query("张三是否同意离婚？")) == "yesno"
    assert question_kind(_query("这是什么？")) == "what"
    assert question_kind(_query("多少个", "number")) == "number"
    assert set(KINDS) >= {"why", "how", "yesno", "what", "number"}


def test_the_slot_left_by_the_question_word_is_found_in_the_sentence():
    view = question_view(_query("温州后进支部转化了多少个", "number"))
    assert view.left.endswith("转化")  # the particle 了 is dropped: texts vary in it
    sent = "全市后进支部转化了581个，重点疑难项目解决了880个。"
    tokenizer = Tokenizer()
    prepared = prepare_sentence(view, sent, tag_words(tokenizer.tag(sent), sent),
                                RuleExtractor(tokenizer, AnswerSettings()))
    right, wrong = (sent.index("581个"), sent.index("581个") + 4), (sent.index("880个"), sent.index("880个") + 4)
    rows = span_rows(view, prepared, [right, wrong], RuleExtractor(tokenizer, AnswerSettings()))
    slot = SPAN_FEATURES.index("slot_left")
    assert rows[0][slot] > 0 and rows[1][slot] == 0
    assert len(rows[0]) == len(SPAN_FEATURES)


def test_overlap_is_robust_to_segmentation():
    view = question_view(_query("后进支部转化了多少个"))
    assert char_overlap(view, "后进党支部的转化") > 0.8
    assert bigram_overlap(view, "后进支部转化") > bigram_overlap(view, "完全无关的句子")
