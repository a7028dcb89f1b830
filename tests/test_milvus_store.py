"""The Milvus store against a real Milvus engine (milvus-lite 2.5.1 embeds Milvus's C++ core):
same answers as the local store, incremental by document, kill -9 at any moment, clear errors."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from qa.config import Settings, StoreSettings, VectorIndexSettings
from tests.conftest import SEED_QUESTIONS, SEEDS, WENZHOU, free_port

pytest.importorskip("milvus_lite")
NEW_DOC = "新文章\n龙泉镇今年新建了73座文化礼堂，全部对外开放，群众文化生活更加丰富多彩。\n"


def milvus_settings(folder, uri, **store) -> Settings:
    return replace(Settings(), index_dir=folder, store=StoreSettings(kind="milvus", uri=str(uri), **store))


@pytest.fixture(scope="module")
def milvus_index(seed_settings, encoder, tmp_path_factory):
    """The seed corpus in embedded Milvus, built over a copy of the local seed index (vectors reused)."""
    from qa.store import build

    folder = tmp_path_factory.mktemp("milvus") / "index"
    shutil.copytree(seed_settings.index_dir, folder)
    settings = milvus_settings(folder, folder.parent / "db" / "qa.db")
    report = build([SEEDS], settings, encoder, progress=False)
    assert report.embedded == 0 and report.reused == report.chunks  # switching store embeds nothing
    return settings


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A seed index in embedded Milvus written by a `qa index` process that has exited (so its
    file is complete and free), to copy for tests that change or kill things."""
    root = tmp_path_factory.mktemp("milvus-template")
    subprocess.run(_index_command(SEEDS, root / "index", root / "db" / "qa.db"), check=True, capture_output=True)
    return root


def copy_index(template, dest):
    """A copy of ``template``'s index folder and Milvus file, the manifest pointing at the copy."""
    shutil.copytree(template / "index", dest / "index")
    shutil.copytree(template / "db", dest / "db")
    manifest = json.loads((dest / "index" / "manifest.json").read_text("utf-8"))
    manifest["store"]["uri"] = str((dest / "db" / "qa.db").resolve())
    (dest / "index" / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return dest / "index", dest / "db" / "qa.db"


@pytest.fixture(scope="module")
def milvus_assistant(milvus_index, encoder):
    from qa.pipeline import Assistant

    return Assistant.open(replace(milvus_index, store=StoreSettings()), encoder=encoder)  # store read from the folder


@pytest.mark.slow
def test_the_581_question_is_answered_and_cited_from_milvus(milvus_assistant, assistant):
    answer = milvus_assistant.ask("温州后进支部转化了多少个")
    assert answer.text == "581个"
    assert answer.cited.hit.chunk.doc_id == WENZHOU
    start, end = answer.cited.answer_span
    assert answer.cited.hit.chunk.text[start:end] == "581个"  # the span highlighted in the cited passage
    local = assistant.ask("温州后进支部转化了多少个")
    assert [p.hit.chunk.text for p in answer.passages] == [p.hit.chunk.text for p in local.passages]
    assert milvus_assistant.index.stats()["store"] == "milvus"


@pytest.mark.slow
def test_seed_question_set_gives_the_local_stores_figures(milvus_assistant, assistant):
    from qa.evaluation import evaluate, read_questions, summarise

    questions, _ = read_questions(SEED_QUESTIONS, [d.doc_id for d in assistant.index.documents])
    for mode in ("hybrid", "bm25", "dense"):
        local = summarise(evaluate(assistant, questions, mode, progress=False), mode)
        remote = summarise(evaluate(milvus_assistant, questions, mode, progress=False), mode)
        assert abs(local.recall[1] - remote.recall[1]) <= 0.01, mode
        assert abs(local.answer_accuracy - remote.answer_accuracy) <= 0.01, mode
        assert remote.recall[1] >= 0.6, mode  # and the figures are real ones


@pytest.mark.slow
def test_search_within_and_without_one_document(milvus_assistant):
    index = milvus_assistant.index
    tokens = milvus_assistant.analyzer.run("后进支部转化").tokens
    within = index.keyword_search(tokens, 10, doc=WENZHOU)
    assert within and all(c.doc_id == WENZHOU for c in index.passages([r for r, _ in within]))
    without = index.keyword_search(tokens, 10, exclude=WENZHOU)
    assert all(c.doc_id != WENZHOU for c in index.passages([r for r, _ in without]))
    with pytest.raises(KeyError):
        index.keyword_search(tokens, 10, doc="no-such-document.txt")
    assert len(list(index.iter_passages())) == index.size == 59


@pytest.mark.slow
def test_documents_are_added_and_deleted_by_id(encoder, tmp_path):
    from qa.pipeline import Assistant
    from qa.store import build, open_index

    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    settings = milvus_settings(tmp_path / "index", tmp_path / "db" / "qa.db")
    first = build([corpus], settings, encoder, progress=False)
    gone = sorted(corpus.iterdir())[0]
    gone.unlink()
    (corpus / "new.txt").write_text(NEW_DOC, "utf-8")
    second = build([corpus], settings, encoder, progress=False)
    assert second.embedded == 1  # only the new document's passage
    index = open_index(settings.index_dir)
    ids = {d.doc_id for d in index.documents}
    assert "new.txt" in ids and gone.name not in ids
    rows = index.client.query(index.collection, filter="id >= 0", output_fields=["doc_id"])
    assert gone.name not in {r["doc_id"] for r in rows}  # its rows are deleted, not just hidden
    assert len(rows) == index.size == second.chunks < first.chunks
    answer = Assistant.open(settings, encoder=encoder).ask("龙泉镇新建了多少座文化礼堂")
    assert answer.text.startswith("73") and answer.cited.hit.chunk.doc_id == "new.txt"


def _index_command(corpus, folder, uri):
    return [sys.executable, "-m", "qa.cli", "index", str(corpus), "--index-dir", str(folder), "--store", "milvus",
            "--milvus-uri", str(uri), "--quiet"]


def _collections(uri):
    from qa.stores.milvus import connect

    client = connect(str(uri))
    try:
        return client.list_collections()
    finally:
        client.close()


@pytest.mark.slow
def test_kill_9_during_a_milvus_build_leaves_a_working_index(template, encoder, tmp_path):
    """Killed at moments spread over a rebuild (a new document, and a full rebuild into a new
    collection): the index opens and answers, and the next build clears what the killed one left."""
    from qa.pipeline import Assistant
    from qa.store import open_index
    from qa.stores.milvus import stop_embedded

    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "new.txt").write_text(NEW_DOC, "utf-8")
    variants = {"incremental": [], "new collection": ["--vector-index", "ivf"]}
    whole = {}
    for name, extra in variants.items():  # one uninterrupted run of each, start-up included
        folder, uri = copy_index(template, tmp_path / f"probe-{name}")
        started = time.perf_counter()
        subprocess.run(_index_command(corpus, folder, uri) + extra, check=True, capture_output=True)
        whole[name] = time.perf_counter() - started
    outcomes = []
    points = [(name, fraction) for name in variants for fraction in (0.4, 0.65, 0.85, 1.0, 1.3)]
    for point, (name, fraction) in enumerate(points):
        extra = variants[name]
        folder, uri = copy_index(template, tmp_path / f"i{point}")
        proc = subprocess.Popen(_index_command(corpus, folder, uri) + extra,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(whole[name] * fraction)  # start-up is most of it; the writes come last
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        documents = len(open_index(folder).documents)
        assert documents in (5, 6), point
        outcomes.append(documents)
        settings = replace(Settings(), index_dir=folder)
        assistant = Assistant.open(settings, encoder=encoder)
        answer = assistant.ask("温州后进支部转化了多少个")
        assert answer.text == "581个" and answer.cited.hit.chunk.doc_id == WENZHOU, point
        assert assistant.index.size == len(list(assistant.index.iter_passages())), point  # no half-inserted rows
        assistant.index.close()
        stop_embedded(str(uri))  # the next build is another process
        subprocess.run(_index_command(corpus, folder, uri) + extra, check=True, capture_output=True)
        index = open_index(folder)
        assert len(index.documents) == 6
        rows = index.client.query(index.collection, filter="id >= 0", output_fields=["id"])
        assert len(rows) == index.size, point  # stray rows of the killed build are gone
        assert len(_collections(uri)) == 1, point
        index.close()
        stop_embedded(str(uri))  # and so is a collection it created
    print("build seconds:", whole, "documents after each kill:", outcomes)
    assert 5 in outcomes and 6 in outcomes  # kills landed both before and after the commit point


@pytest.mark.slow
def test_token_is_never_written_and_busy_file_is_one_clear_error(milvus_index, milvus_assistant):
    from qa.store import IndexBusy

    text = (milvus_index.index_dir / "manifest.json").read_text("utf-8")
    assert '"token"' not in text
    # milvus_assistant holds the embedded file open in this process; another process cannot open it
    code = ("import sys; from qa.store import open_index, StoreError\n"
            f"try: open_index(__import__('pathlib').Path({str(milvus_index.index_dir)!r}))\n"
            "except StoreError as e: print(type(e).__name__, e); sys.exit(3)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr[-2000:]
    assert done.stdout.startswith(IndexBusy.__name__) and "qa serve" in done.stdout


@pytest.mark.slow
def test_unreachable_server_and_missing_collection_are_one_line_each(template, tmp_path):
    from qa.store import IndexMissing, open_index
    from qa.stores.milvus import MilvusUnreachable, connect

    started = time.perf_counter()
    with pytest.raises(MilvusUnreachable, match="cannot reach Milvus at http://127.0.0.1"):
        connect(f"http://127.0.0.1:{free_port()}", timeout=2)
    assert time.perf_counter() - started < 30

    folder, uri = copy_index(template, tmp_path)
    client = connect(str(uri))
    client.drop_collection(json.loads((folder / "manifest.json").read_text("utf-8"))["store"]["live"])
    client.close()
    with pytest.raises(IndexMissing, match="run `qa index --store milvus`"):
        open_index(folder)


def test_errors_name_what_to_do():
    from qa.store import StoreError
    from qa.stores.milvus import MilvusRefused, MilvusUnreachable, explain, vector_index_plan

    class Coded(Exception):
        def __init__(self, message, code):
            super().__init__(message)
            self.code = code

    assert isinstance(explain(Coded("<MilvusException: (code=1800, message=user hasn't authenticated)>", 1800),
                              "http://db:19530"), MilvusRefused)
    assert "QA_MILVUS_TOKEN" in str(explain(Coded("auth failed", 1800), "http://db:19530"))
    assert isinstance(explain(Coded("Fail connecting to server on db:19530", 2), "http://db:19530"), MilvusUnreachable)
    refused = explain(Coded("analyzer params are invalid", 1100), "http://old:19530")
    assert isinstance(refused, MilvusRefused) and "2.5 or newer" in str(refused)
    with pytest.raises(StoreError, match="FLAT and IVF_FLAT only"):
        vector_index_plan(10, True, VectorIndexSettings(kind="hnsw"))
    assert vector_index_plan(10, True, VectorIndexSettings())["index_type"] == "FLAT"
    assert vector_index_plan(200_000, True, VectorIndexSettings())["index_type"] == "FLAT"  # lite's IVF: see plan
    assert vector_index_plan(200_000, True, VectorIndexSettings(kind="ivf"))["index_type"] == "IVF_FLAT"
    with pytest.raises(StoreError, match="ivf-pq is the local store's"):
        vector_index_plan(200_000, False, VectorIndexSettings(kind="ivf-pq"))
    assert vector_index_plan(200_000, False, VectorIndexSettings())["index_type"] == "HNSW"


def test_a_local_uri_must_name_a_db_file(tmp_path):
    from qa.store import StoreError
    from qa.stores.milvus import connect

    with pytest.raises(StoreError, match=r"ends in \.db"):
        connect(str(tmp_path / "folder"))


@pytest.mark.slow
def test_a_web_upload_goes_into_the_milvus_collection(template, encoder, tmp_path):
    from qa.pipeline import Assistant
    from qa.web import ChatService

    folder, _ = copy_index(template, tmp_path)
    settings = replace(Settings(), index_dir=folder)  # store "auto": the folder's manifest says Milvus
    service = ChatService(settings, Assistant.open(settings, encoder=encoder))
    upload = tmp_path / "longquan.txt"
    upload.write_text(NEW_DOC, "utf-8")
    message = service.add_files([str(upload)])
    assert message.startswith("✓ added 1 file(s): 1 new passages embedded, 6 documents"), message
    assert service.assistant.index.stats()["store"] == "milvus"
    answer = service.ask("龙泉镇新建了多少座文化礼堂")
    assert answer.text.startswith("73") and answer.cited.hit.chunk.doc_id == "longquan.txt"
    assert service.ask("温州后进支部转化了多少个").text == "581个"


@pytest.mark.slow
def test_moving_an_index_from_milvus_back_to_local_embeds_nothing(template, encoder, tmp_path):
    from qa.store import build, open_index

    folder, _ = copy_index(template, tmp_path)
    settings = replace(Settings(), index_dir=folder, store=StoreSettings(kind="local"))
    report = build([SEEDS], settings, encoder, progress=False)
    assert report.embedded == 0 and report.reused == report.chunks
    assert open_index(folder).stats()["store"] == "local"
