from qa.answer_units import sentence_units, tag_words, word_spans
from qa.tokenizer import Tokenizer

RUN_ON = ("经审理查明:原告与被告于2001年5月27日登记结婚,婚后生育一女,原、被告因夫妻感情破裂,在重庆市荣昌县人民法院"
          "调解离婚,约定小孩暂由原告代管,被告每月向原告支付生活费800元,此后被告未依照约定按时支付生活费,"
          "另查明:小孩现在城西小学上学,为城镇居民户口。下一句。")


def test_units_tile_the_text_and_respect_the_length_limit():
    units = sentence_units(RUN_ON, max_chars=60)
    assert "".join(RUN_ON[s:e] for s, e in units) == RUN_ON  # nothing lost, nothing doubled
    assert all(b[0] == a[1] for a, b in zip(units, units[1:]))
    assert all(e - s <= 60 for s, e in units[:-2])
    assert RUN_ON[units[-1][0] : units[-1][1]] == "下一句。"


def test_a_sentence_is_never_cut_before_its_full_stop_when_short():
    text = "第一句话很短。第二句，也短！"
    assert [text[s:e] for s, e in sentence_units(text, max_chars=120)] == ["第一句话很短。", "第二句，也短！"]
    assert sentence_units(text, 120, whole=True) == [(0, len(text))]
    assert sentence_units("", 120) == []


def test_word_spans_stay_inside_one_clause():
    sent = "被告每月支付生活费800元，此后未按时支付"
    words = tag_words(Tokenizer().tag(sent), sent)
    spans = word_spans(sent, words, max_words=4, max_chars=30)
    texts = [sent[s:e] for s, e in spans]
    assert "800元" in texts or "800" in texts
    assert all("，" not in t for t in texts)
    assert all(s < e for s, e in spans)


def test_a_clock_time_is_one_word_and_may_be_a_span():
    sent = "夏季办公时间调整为上午8:30至12:00，下午14:30至17:30。"
    words = tag_words(Tokenizer().tag(sent), sent)
    texts = [sent[s:e] for s, e in word_spans(sent, words, max_words=3, max_chars=30)]
    assert "14:30" in texts and "8:30" in texts
    assert not any(t in ("14", "30") for t in texts)
