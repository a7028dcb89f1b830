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


@pytest.mark.parametrize("mmap", [True, False])
def test_a_loaded_index_scores_and_ranks_as_bm25s_with_ties_by_row(tmp_path, mmap):
    import random

    import bm25s
    import numpy as np

    from qa.keyword_index import SavedScores

    rng = random.Random(3)
    words = [f"w{i}" for i in range(60)]
    docs = [[rng.choice(words) for _ in range(rng.randint(1, 12))] for _ in range(300)]
    docs += [list(docs[5]) for _ in range(4)]  # ties: identical passages score alike
    built = KeywordIndex.build(docs)
    built.save(tmp_path)
    ours, theirs = KeywordIndex.load(tmp_path, mmap=mmap), bm25s.BM25.load(str(tmp_path), mmap=mmap)
    assert isinstance(ours._retriever, SavedScores)
    for _ in range(50):
        query = [rng.choice(words + ["unseen"]) for _ in range(rng.randint(1, 6))] + docs[5][:2]
        known = [t for t in query if t in ours.doc_freq]
        assert np.array_equal(ours._retriever.get_scores(known), theirs.get_scores(known))
        rows, scores = theirs.retrieve([known], k=25, show_progress=False)
        expected = [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if s > 0]
        got = ours.search(query, 25)
        # The same scores rank for rank; rows scoring above the last one are the same rows; equal
        # scores come by row number (bm25s leaves their order, and which tie makes the cut, to argpartition).
        assert [s for _, s in got] == [s for _, s in expected]
        assert {r for r, s in got if s > got[-1][1]} == {r for r, s in expected if s > expected[-1][1]}
        assert got == sorted(got, key=lambda p: (-p[1], p[0]))
        assert ours.score_rows(query, range(100, 200)) == built.score_rows(query, range(100, 200))


def test_an_index_saved_with_a_non_occurrence_term_is_read_by_bm25s(tmp_path):
    import json

    import numpy as np

    from qa.keyword_index import SavedScores

    tok, index = build()
    index.save(tmp_path)
    params = json.loads((tmp_path / "params.index.json").read_text())
    (tmp_path / "params.index.json").write_text(json.dumps({**params, "method": "bm25l"}))
    vocab = json.loads((tmp_path / "vocab.index.json").read_text())
    np.save(tmp_path / "nonoccurrence_array.index.npy", np.zeros(len(vocab), np.float32))
    assert SavedScores.open(tmp_path) is None
    loaded = KeywordIndex.load(tmp_path)
    assert not isinstance(loaded._retriever, SavedScores) and loaded.search(tok.tokens("秀洲面积"), 2)[0][0] == 2


def test_top_rows_is_exact_on_mostly_zero_scores_with_ties():
    import numpy as np

    from qa.keyword_index import top_rows

    rng = np.random.default_rng(0)
    scores = np.zeros(20_000, np.float32)
    hit = rng.choice(len(scores), 500, replace=False)
    scores[hit] = rng.integers(1, 20, 500).astype(np.float32)  # many equal scores
    for k in (1, 7, 50, 499, 500, 600, 20_000):
        assert top_rows(scores, k).tolist() == sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    assert top_rows(scores[:0], 5).tolist() == [] and top_rows(scores, 0).tolist() == []
