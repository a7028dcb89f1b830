import pytest

from tests.conftest import WENZHOU


@pytest.mark.parametrize(
    ("question", "answer", "doc"),
    [
        ("温州后进支部转化了多少个", "581个", WENZHOU),
        ("温州的重点疑难项目已经解决了多少个？", "880个", WENZHOU),
        ("温州社会党组织组建率是多少？", "69.4%", WENZHOU),
        ("构建城乡统筹基层党建新格局的作者是谁？", "程茂林", "000_d3fe511d564896c7.txt"),
        ("全县基层组织建设年推进会议在哪里召开？", "肥东宾馆", "003_9a99dd5f017c7b7d.txt"),
        ("秀洲党员服务中心什么时候全面建成启用？", "2008年11月", "002_7dbda32278aad421.txt"),
        ("温州打造的非公党建品牌叫什么？", "红色CEO", WENZHOU),
        ("构建城乡统筹的基层党建工作新机制的实施主体是谁？", "区委组织部", "002_7dbda32278aad421.txt"),
    ],
)
def test_short_answer_span_and_citation(assistant, question, answer, doc):
    result = assistant.ask(question)
    assert not result.abstained
    assert result.text == answer
    cited = result.cited
    assert cited.hit.chunk.doc_id == doc
    s, e = cited.answer_span
    assert cited.hit.chunk.text[s:e] == answer
    ss, se = cited.sentence_span
    assert ss <= s and e <= se  # the span lies inside the cited sentence


def test_list_answer_keeps_the_whole_enumeration(assistant):
    result = assistant.ask("基层组织建设年的“四句话”工作要求是什么？")
    assert "抓落实、全覆盖、求实效、受欢迎" in result.text


@pytest.mark.parametrize(
    "question",
    ["上月嘉兴市区住宅均价同比上涨了多少？",  # a headline only in a "related articles" list
     "北京地铁4号线什么时候开通？", "杭州亚运会在哪一年举办？", "What is the population of Shanghai?"],
)
def test_abstains_when_the_corpus_does_not_answer(assistant, question):
    result = assistant.ask(question)
    assert result.abstained and result.text is None and result.cited is None
    assert result.passages  # closest passages are still offered, marked as not an answer
    assert all(p.answer_span is None for p in result.passages)


def test_measure_words_and_older_dates_are_recognised():
    from qa.answer_rules import _DATE, _NUMBER

    assert _NUMBER.search("体重约只有8公斤重").group() == "8公斤"
    assert _NUMBER.search("面积约为0.304平方公里。").group() == "0.304平方公里"
    assert _NUMBER.search("下午14:30开始办公").group() == "14:30"  # not "14"
    assert [m.group() for m in _DATE.finditer("永禄5年（1562年）被任命，518年九月")] == ["永禄5年（1562年）", "518年"]


def test_weight_question_picks_the_weight(assistant):
    from qa.query import _unit

    assert _unit("尤金袋鼠的体重大约是多少？") == "公斤"
    assert _unit("用了多长时间？") == "time"
    assert _unit("这座塔有多高？") == "米"


@pytest.fixture(scope="module")
def learned(seed_settings, encoder):
    from dataclasses import replace

    from qa.pipeline import Assistant

    settings = replace(seed_settings, answer=replace(seed_settings.answer, method="learned"))
    return Assistant.open(settings, encoder=encoder)


@pytest.mark.parametrize(("question", "answer"), [("温州后进支部转化了多少个", "581个"),
                                                  ("温州社会党组织组建率是多少？", "69.4%")])
def test_learned_models_answer_with_a_span_inside_the_cited_sentence(learned, question, answer):
    result = learned.ask(question)
    assert not result.abstained and result.text == answer
    cited = result.cited
    s, e = cited.answer_span
    ss, se = cited.sentence_span
    assert ss <= s < e <= se and cited.hit.chunk.text[s:e] == answer
    assert 0 < result.confidence <= 1


def test_learned_models_abstain_on_what_the_seeds_do_not_hold(learned):
    result = learned.ask("北京地铁4号线什么时候开通？")
    assert result.abstained and result.cited is None


def test_within_one_document_only_its_passages_come_back(assistant):
    result = assistant.ask("温州后进支部转化了多少个", doc=WENZHOU)
    assert result.passages and all(p.hit.chunk.doc_id == WENZHOU for p in result.passages)
    other = assistant.ask("温州后进支部转化了多少个", doc="000_d3fe511d564896c7.txt")
    assert all(p.hit.chunk.doc_id == "000_d3fe511d564896c7.txt" for p in other.passages)


# Kinds of failure found on news-like text, each fixed by a rule that reads the question's intent.
KINDS_CORPUS = {
    "culture.txt": "龙泉镇文化建设\n龙泉镇的文化礼堂从2019年的12座增加到2023年的73座，覆盖全部行政村。"
                   "全镇文化活动参与人数由原来的3000人次增长到2.6万人次。\n",
    "finance.txt": "瓯海区财政报告\n2023年瓯海区一般公共预算收入达到58.6亿元，同比增长7.2%。其中税收收入为49.1亿元。\n",
}


@pytest.fixture(scope="module")
def kinds_assistant(encoder, tmp_path_factory):
    from dataclasses import replace

    from qa.config import Settings
    from qa.pipeline import Assistant
    from qa.store import build

    corpus = tmp_path_factory.mktemp("kinds")
    for name, text in KINDS_CORPUS.items():
        (corpus / name).write_text(text, "utf-8")
    settings = replace(Settings(), index_dir=tmp_path_factory.mktemp("kinds-index"))
    build([corpus], settings, encoder, progress=False)
    return Assistant.open(settings, encoder=encoder)


@pytest.mark.slow
@pytest.mark.parametrize(("question", "answer"), [
    ("龙泉镇的文化礼堂增加到了多少座", "73座"),  # the end of a 从…到 change
    ("龙泉镇原来有多少座文化礼堂", "12座"),  # its start
    ("文化活动参与人数增长到多少", "2.6万人次"),  # 人次 is one measure word, not 人
    ("瓯海区预算收入同比增长多少", "7.2%"),  # a rate of change is a percentage, even of money
    ("瓯海区税收收入是多少", "49.1亿元"),
])
def test_kinds_of_question_about_change(kinds_assistant, question, answer):
    assert kinds_assistant.ask(question).text == answer
