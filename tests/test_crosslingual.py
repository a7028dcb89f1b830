from qa.crosslingual import Translator, english_words, is_english


def test_language_detection():
    assert is_english("How many party branches were transformed in Wenzhou?")
    assert not is_english("温州后进支部转化了多少个")
    assert not is_english("2008年秀洲农村居民人均收入是多少")


def test_english_words_drop_function_words():
    assert english_words("Who is the author of the article?") == ["author"]


def test_translation_keeps_only_corpus_words_and_bridges_pinyin_names():
    vocab = {w: 1 for w in "温州 后进 支部 转化 作者 杨宏星 讲话 亭湖区".split()}
    terms = Translator().translate("How many backward branches did Wenzhou transform?", vocab)
    chinese = {t.english: t.chinese for t in terms}
    assert "温州" in chinese["wenzhou"] and "转化" in chinese["transform"]
    assert all(c in vocab for t in terms for c in t.chinese)
    names = Translator().translate("Where did Yang Hongxing give the speech?", vocab)
    assert ["杨宏星"] in [t.chinese for t in names]


def test_unknown_proper_names_are_flagged():
    terms = Translator().translate("What is the population of Shanghai?", {"温州": 1})
    shanghai = next(t for t in terms if t.english == "shanghai")
    assert shanghai.proper and shanghai.chinese == []


def test_romanise():
    assert Translator().romanise("温州") == "wenzhou"
