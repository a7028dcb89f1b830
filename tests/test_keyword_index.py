from pathlib import Path

import pytest

from qa.keyword_index import KeywordIndex
from qa.tokenizer import Tokenizer


def build():
    tok = Tokenizer()
    docs = ["后进支部已完成转化581个", "温州市基层组织建设", "秀洲党员服务中心总面积800平方米", ""]
    return tok, KeywordIndex.build([tok.tokens(d) for d in docs])


def test_search_ranks_the_matching_row_first_and_skips_zero_scores():
    tok, index = build()
    hits = index.search(tok.tokens("后进支部转化了多少个"), k=10)
    assert hits[0][0] == 0 and all(score > 0 for _, score in hits)
    assert index.search(["不存在的词"], k=3) == []


def test_idf_prefers_rare_terms_and_round_trips(tmp_path):
    tok, index = build()
    assert index.idf("不存在") > index.idf("温州")
    index.save(tmp_path)
    again = KeywordIndex.load(tmp_path)
    assert again.size == 4 and again.doc_freq == index.doc_freq
    assert again.search(tok.tokens("秀洲面积"), 2)[0][0] == 2


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_load_maps_the_score_matrix(tmp_path):
    tok, index = build()
    index.save(tmp_path)
    mapped, copied = KeywordIndex.load(tmp_path), KeywordIndex.load(tmp_path, mmap=False)
    assert str(tmp_path) in Path("/proc/self/maps").read_text()
    query = tok.tokens("温州后进支部")
    assert mapped.search(query, 4) == copied.search(query, 4) == index.search(query, 4)
