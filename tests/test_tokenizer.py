from qa.store import keyword_text, open_index
from qa.tokenizer import Tokenizer


def test_tokens_drop_stopwords_and_punctuation():
    assert Tokenizer().tokens("温州后进支部转化了多少个？") == ["温州", "后进", "支部", "转化"]


def test_corpus_lexicon_cuts_corpus_text_like_the_full_dictionary(seed_settings):
    index = open_index(seed_settings.index_dir)
    small, full = index.tokenizer(), Tokenizer()
    assert small.lexicon is not None
    for c in index.chunks:
        assert small.tokens(keyword_text(c)) == full.tokens(keyword_text(c))
    assert small.tokens("温州后进支部转化了多少个") == full.tokens("温州后进支部转化了多少个")


def test_is_name_knows_places_people_and_organisations_in_either_script():
    tokenizer = Tokenizer()
    for word in ("南浔区", "南潯區", "湖州", "冯志礼"):
        assert tokenizer.is_name(word), word
    for word in ("干部", "每周", "转化", "公开晒工作"):
        assert not tokenizer.is_name(word), word
