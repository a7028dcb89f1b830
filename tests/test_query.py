import pytest

from qa.query import answer_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [("温州后进支部转化了多少个", "number"), ("嘉兴市委书记是谁", "person"), ("会议在哪里召开", "place"),
     ("秀洲党员服务中心什么时候建成", "date"), ("基层组织建设年分哪几个阶段", "list"),
     ("这篇报道的来源是什么", "source"), ("基层组织建设年的主题是什么", "other")],
)
def test_chinese_answer_types(question, kind):
    assert answer_type(question, english=False) == kind


@pytest.mark.parametrize(
    ("question", "kind"),
    [("How many branches were transformed?", "number"), ("Who chaired the meeting?", "person"),
     ("Where was the meeting held?", "place"), ("When was the center opened?", "date")],
)
def test_english_answer_types(question, kind):
    assert answer_type(question, english=True) == kind


def test_analysis_finds_key_terms_unit_and_focus(assistant):
    q = assistant.analyzer.run("温州的重点疑难项目已经解决了多少个？")
    assert [alts[0] for alts, _ in q.key_terms] == ["温州", "重点", "疑难", "项目", "解决"]
    assert q.unit == "个" and q.focus == ["解决"] and q.look_after


def test_framing_words_are_not_key_terms(assistant):
    q = assistant.analyzer.run("温州那篇文章的来源是哪里？")
    assert [alts[0] for alts, _ in q.key_terms] == ["温州", "来源"]
