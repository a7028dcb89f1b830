from qa.render import NOT_FOUND, render_answer


def test_answer_is_cited_with_the_span_marked(assistant):
    text = render_answer(assistant.ask("温州后进支部转化了多少个"))
    assert text.startswith("Answer: 581个")
    assert "001_9ea0c3a7cdccebec.txt, paragraph" in text
    assert "转化【581个】" in text


def test_abstention_says_not_found_and_offers_passages_as_related(assistant):
    text = render_answer(assistant.ask("北京地铁4号线什么时候开通？"))
    assert text.startswith(NOT_FOUND)
    assert "possibly related" in text and "【" not in text
