from qa.sentences import split, split_spans


def test_split_keeps_punctuation_and_closing_quotes():
    text = "他说：“好。”然后走了！真的吗？是的；没错"
    assert split(text) == ["他说：“好。”", "然后走了！", "真的吗？", "是的；", "没错"]


def test_spans_tile_the_text_exactly():
    text = "  第一句。第二句……第三句?!最后"
    spans = split_spans(text)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))


def test_semicolons_can_be_kept_inside_sentences():
    text = "调查摸底、分类定级；健全组织、扩大覆盖。下一句。"
    assert split_spans(text, semicolons=False) == [(0, 20), (20, 24)]
