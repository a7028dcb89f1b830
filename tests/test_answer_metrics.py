from qa.answer_metrics import exact_match, f1, tokens


def test_chinese_is_scored_by_character_and_punctuation_is_ignored():
    assert tokens("《温州》 581个, ok Go2") == ["温", "州", "581", "个", ",", "ok", "go2"]  # Latin and digit runs whole
    assert exact_match("“581个”", ["581个"]) == 1.0 and exact_match("581", ["581个"]) == 0.0


def test_f1_is_the_longest_common_substring_maximised_over_answers():
    # "后进支部" vs gold "转化后进支部": common 4 of predicted 4 and gold 6 → 2·1·(4/6)/(1+4/6) = 0.8
    assert abs(f1("后进支部", ["转化后进支部"]) - 0.8) < 1e-9
    assert f1("后进支部", ["无关", "后进支部"]) == 1.0
    # Common characters out of order do not count: only a shared substring does.
    assert abs(f1("部支", ["支部"]) - 0.5) < 1e-9
    assert f1("", ["支部"]) == 0.0
