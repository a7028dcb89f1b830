"""The cleaner keeps real prose: measured on public sets whose documents carry no clutter at all."""

import json
from pathlib import Path

import pytest

from qa.cleaning import clean, keep_all
from qa.schema import RawFile
from tests.conftest import SEEDS

FIXTURE = Path(__file__).parent / "fixtures" / "cleaning_sample.jsonl"
BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"


def raw(name: str, text: str) -> RawFile:
    return RawFile(name, name, text, "utf-8", "")


def kept_share(docs) -> tuple[float, list[str]]:
    removed = total = 0
    lossy = []
    for name, text in docs:
        r = clean(raw(name, text)).removed
        removed, total = removed + r.chars, total + r.total_chars
        if r.fraction > 0.10:
            lossy.append(name)
    return 1 - removed / total, lossy


def test_cleaner_keeps_the_body_of_clean_documents():
    docs = [(d["id"], d["text"]) for d in map(json.loads, FIXTURE.read_text("utf-8").splitlines())]
    share, lossy = kept_share(docs)
    assert share >= 0.995
    assert lossy == []


@pytest.mark.slow
@pytest.mark.skipif(not BENCHMARKS.is_dir(), reason="../shared/benchmarks is not beside the repository")
def test_cleaner_keeps_the_body_of_every_public_set():
    import sys

    sys.path.insert(0, str(FIXTURE.parent))
    from make_cleaning_sample import SETS, documents

    for file in SETS.values():
        share, lossy = kept_share(documents(BENCHMARKS / file))
        assert share >= 0.995, file
        assert lossy == [], file


def test_keyword_in_prose_is_kept_without_clutter_beside_it():
    text = ("侵权纠纷\n经审理查明，被告未经许可在其网站提供涉案作品的下载服务，侵犯了原告享有的版权，"
            "应当承担停止侵权、赔偿损失的民事责任。\n本院认为，原告的诉讼请求成立。\n")
    doc = clean(raw("judgment.txt", text))
    assert any("下载服务" in p for p in doc.paragraphs)
    assert doc.removed.chars == 0


def test_a_block_of_notices_beside_clutter_is_removed_and_counted():
    notice = "本站所有内容均由网友上传，如有侵权请联系网站删除，付费下载后不支持退款。"
    text = f"标题在此\n正文第一段讲述了一件事情，内容相当充实，足以成为正文。\n{notice}\n{notice}\n查看更多\n"
    doc = clean(raw("page.txt", text))
    assert not any("本站" in p for p in doc.paragraphs)
    assert doc.removed.lines == 3
    assert doc.removed.chars == 2 * len(notice) + len("查看更多")


def test_spaced_english_words_are_not_a_navigation_bar():
    doc = clean(raw("song.txt", "This Is Where I Came In\n这是比吉斯乐队的一张专辑，于2001年发行，收录了多首作品。\n"))
    assert doc.removed.chars == 0


def test_removed_records_the_seed_pages_clutter():
    from qa.loading import read_file

    doc = clean(read_file(next(SEEDS.glob("001_*.txt"))))
    assert 0.1 < doc.removed.fraction < 0.5
    assert doc.removed.lines > 10


def test_keep_all_keeps_every_line():
    from qa.loading import read_file

    source = read_file(next(SEEDS.glob("001_*.txt")))
    doc = keep_all(source)
    assert doc.removed.chars == 0
    body = "\n".join(doc.paragraphs)
    assert "404 Not Found" in body and "后进支部已完成转化581个" in body

