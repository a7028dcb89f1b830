"""Incremental local builds (qa/segments.py): a small change writes a delta beside the base."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from qa.keyword_index import KeywordIndex, TermStats
from qa.segments import DELTA_DIR, DeltaKeyword
from qa.store import build, open_index
from tests.conftest import ROOT, SEEDS, WENZHOU, write

pytestmark = pytest.mark.slow
NEW = "龙泉镇文化建设\n龙泉镇今年新建了73座文化礼堂，全部对外开放，群众文化生活更加丰富。\n"


def test_delta_bm25_scores_equal_bm25s_over_the_whole_corpus():
    from qa.tokenizer import Tokenizer

    tok = Tokenizer()
    texts = [line for line in (SEEDS / WENZHOU).read_text("utf-8").splitlines() if len(line) > 20]
    tokenised = [tok.tokens(t) for t in texts]
    whole = KeywordIndex.build(tokenised)
    base = TermStats.count(tokenised)  # the delta's weights with the whole corpus's statistics
    delta = DeltaKeyword.build(tokenised[-3:], TermStats(base.doc_freq, base.size - 3), base.avgdl)
    for query in (tok.tokens("后进支部转化了多少个"), tok.tokens("温州 项目 解决")):
        expected = dict(whole.score_rows(query, range(len(texts) - 3, len(texts))))
        got = delta.scores(query)
        for i, score in enumerate(got):
            assert score == pytest.approx(expected.get(len(texts) - 3 + i, 0.0), rel=1e-4)


@pytest.fixture
def setup(seed_settings, tmp_path):
    corpus = tmp_path / "docs"
    shutil.copytree(SEEDS, corpus)
    settings = replace(seed_settings, index_dir=tmp_path / "index",
                       store=replace(seed_settings.store, delta_min_passages=0, delta_max_share=0.5))
    return corpus, settings


def _generation(settings) -> Path:
    manifest = json.loads((settings.index_dir / "manifest.json").read_text("utf-8"))
    return settings.index_dir / manifest["generation"]


def test_adding_a_file_writes_only_a_delta_and_links_the_base(setup, encoder):
    from qa.pipeline import Assistant

    corpus, settings = setup
    first = build([corpus], settings, encoder, progress=False)
    base = {p.name: p.stat().st_ino for p in _generation(settings).glob("*") if p.is_file()}
    write(corpus / "new.txt", NEW)
    report = build([corpus], settings, encoder, progress=False)
    assert report.embedded == 1 and report.reused == first.chunks
    gen = _generation(settings)
    assert (gen / DELTA_DIR).is_dir()
    for name in ("passages.sqlite", "vectors.faiss"):
        assert (gen / name).stat().st_ino == base[name]  # the same file, not rewritten
    index = open_index(settings.index_dir)  # verified: the linked files' checksums still hold
    assert index.size == first.chunks + 1 and len(index.documents) == 6
    assistant = Assistant.open(settings, encoder=encoder)
    answer = assistant.ask("龙泉镇今年新建了多少座文化礼堂？")
    assert answer.text == "73座" and answer.cited.hit.chunk.doc_id == "new.txt"
    assert assistant.ask("温州后进支部转化了多少个").text == "581个"
    assert [row for row, _ in index.keyword_search(index.tokenizer().tokens("龙泉镇文化礼堂"), 5, doc="new.txt")] \
        == [first.chunks]


def test_changed_and_removed_files_leave_the_base_and_only_their_new_text_is_found(setup, encoder):
    from qa.pipeline import Assistant

    corpus, settings = setup
    settings = replace(settings, store=replace(settings.store, delta_max_share=0.9))  # two of five documents
    build([corpus], settings, encoder, progress=False)
    wenzhou = corpus / WENZHOU
    wenzhou.write_text(wenzhou.read_text("utf-8").replace("581", "599"), "utf-8")
    removed = next(p for p in sorted(corpus.glob("*.txt")) if "肥东" in p.read_text("utf-8"))
    removed.unlink()
    build([corpus], settings, encoder, progress=False)
    index = open_index(settings.index_dir)
    assert index.manifest["segments"]["deleted"] > 0
    assert sorted(d.doc_id for d in index.documents) == sorted(p.name for p in corpus.glob("*.txt"))
    live = list(index.iter_passages())
    assert len(live) == sum(d.chunks for d in index.documents)
    assert not any("581" in c.text for c in live) and all(c.doc_id != removed.name for c in live)
    for row, _ in index.keyword_search(index.tokenizer().tokens("581个后进支部 肥东县委书记"), 50):
        assert index.passages([row])[0].doc_id != removed.name and "581" not in index.passages([row])[0].text
    assistant = Assistant.open(settings, encoder=encoder)
    assert assistant.ask("温州后进支部转化了多少个").text == "599个"
    assert assistant.ask("肥东县委书记是谁？").text != "杨宏星"


def test_past_the_share_limit_everything_merges_into_one_base(setup, encoder):
    corpus, settings = setup
    build([corpus], settings, encoder, progress=False)
    write(corpus / "new.txt", NEW)
    build([corpus], settings, encoder, progress=False)
    assert (_generation(settings) / DELTA_DIR).is_dir()
    for i in range(40):  # 40 more passages: over half the base
        write(corpus / f"more{i}.txt", f"新文章{i}\n第{i}号通知：龙泉镇今年新修了{i + 3}公里道路，惠及群众三万余人。\n")
    report = build([corpus], settings, encoder, progress=False)
    assert report.embedded == 40
    assert not (_generation(settings) / DELTA_DIR).exists()
    index = open_index(settings.index_dir)
    assert "segments" not in index.manifest and len(index.documents) == 46


def test_answers_after_an_incremental_build_equal_a_full_rebuilds(setup, encoder, tmp_path):
    from qa.pipeline import Assistant

    corpus, settings = setup
    build([corpus], settings, encoder, progress=False)
    write(corpus / "new.txt", NEW)
    build([corpus], settings, encoder, progress=False)
    full = replace(settings, index_dir=tmp_path / "full", store=replace(settings.store, delta_min_passages=10**9))
    build([corpus], full, encoder, progress=False)
    assert (_generation(settings) / DELTA_DIR).is_dir() and not (_generation(full) / DELTA_DIR).exists()
    incremental, whole = Assistant.open(settings, encoder=encoder), Assistant.open(full, encoder=encoder)
    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "seed_questions.jsonl").open(encoding="utf-8")]
    for question in questions:
        a, b = incremental.ask(question), whole.ask(question)
        assert a.text == b.text, question
        assert [p.hit.chunk.text for p in a.passages[:1]] == [p.hit.chunk.text for p in b.passages[:1]], question


def test_an_incremental_build_reads_only_the_new_files(setup, encoder, monkeypatch):
    import qa.store

    corpus, settings = setup
    build([corpus], settings, encoder, progress=False)
    write(corpus / "new.txt", NEW)
    (corpus / "notes.xyz").write_text("?", "utf-8")
    read, real = [], qa.store.prepare
    monkeypatch.setattr(qa.store, "prepare", lambda paths, *a: read.append(list(paths)) or real(paths, *a))
    report = build([corpus], settings, encoder, progress=False)
    assert read == [[corpus / "new.txt"]]  # the five unchanged seed pages were not read again
    assert report.documents == 6 and report.chunks == open_index(settings.index_dir).size
    assert [s.reason for s in report.skipped] == ["unsupported file type '.xyz'"]
    assert qa.store.is_current([corpus], settings)
