"""The web chat's upload limits, without a browser: checked before a file is read or copied."""

import shutil
from dataclasses import replace

import pytest

from qa.config import Settings, UploadSettings
from qa.web import ChatService


@pytest.fixture
def service(seed_settings, encoder, tmp_path):
    from qa.pipeline import Assistant

    index = tmp_path / "index"
    shutil.copytree(seed_settings.index_dir, index)
    settings = replace(seed_settings, index_dir=index, upload=UploadSettings(max_file_bytes=4096, max_files=3))
    return ChatService(settings, Assistant.open(settings, encoder=encoder))


def test_an_oversized_file_is_refused_by_name_before_it_is_read(service, tmp_path):
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:  # sparse: 8 MB on paper, nothing on disk
        fh.truncate(8 * 2**20)
    before = service.documents()
    message = service.add_files([str(big)])
    assert "big.txt: 8 MB is over the 4 KB upload limit" in message
    assert service.documents() == before
    assert not (service.settings.index_dir / "uploads").exists()


def test_too_many_files_at_once_are_refused_whole(service, tmp_path):
    files = []
    for i in range(4):
        path = tmp_path / f"n{i}.txt"
        path.write_text("龙泉镇今年新建了73座文化礼堂，全部对外开放。" * 3, "utf-8")
        files.append(str(path))
    before = service.documents()
    assert "4 files at once is over the limit of 3" in service.add_files(files)
    assert service.documents() == before


@pytest.mark.slow
def test_questions_are_answered_while_an_upload_is_indexed(seed_settings, encoder, tmp_path, monkeypatch):
    """8 callers keep asking during an upload: every answer is right, and they are not held
    until the build ends (only the swap to the new index waits)."""
    import json
    import threading
    import time
    from pathlib import Path

    from qa.pipeline import Assistant
    from tests.conftest import WENZHOU

    index = tmp_path / "index"
    shutil.copytree(seed_settings.index_dir, index)
    settings = replace(seed_settings, index_dir=index)
    service = ChatService(settings, Assistant.open(settings, encoder=encoder))
    sample = Path(__file__).parent / "fixtures" / "cleaning_sample.jsonl"
    files = []
    for line in sample.read_text("utf-8").splitlines()[:40]:
        doc = json.loads(line)
        files.append(tmp_path / "new" / f"{doc['set']}-{doc['id']}.txt")
        files[-1].parent.mkdir(exist_ok=True)
        files[-1].write_text(doc["text"], "utf-8")

    import qa.store

    building = []  # (start, end) of the index build inside the upload
    real_build = qa.store.build

    def timed_build(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real_build(*args, **kwargs)
        finally:
            building.append((start, time.perf_counter()))

    monkeypatch.setattr(qa.store, "build", timed_build)  # add_files imports it when called
    upload_done = threading.Event()
    results, during, errors = [], [], []

    def caller():
        while not upload_done.is_set():
            try:
                answer = service.ask("温州后进支部转化了多少个")
            except Exception as exc:  # noqa: BLE001 - any failure fails the test below
                errors.append(exc)
                return
            results.append((answer.text, answer.cited.hit.chunk.doc_id if answer.cited else None))
            if not upload_done.is_set():
                during.append(time.perf_counter())

    callers = [threading.Thread(target=caller) for _ in range(8)]
    for t in callers:
        t.start()
    message = service.add_files([str(f) for f in files])
    upload_done.set()
    for t in callers:
        t.join(timeout=60)
    assert message.startswith("✓ added 40 file(s)"), message
    assert not errors
    assert results and all(text == "581个" and doc == WENZHOU for text, doc in results)
    # Answers kept coming while the upload was being indexed, not only once it was done.
    (start, end), = building
    assert end - start > 0.5
    assert sum(start < t < end for t in during) >= 8
    assert len(service.documents()) == 45
    # The new documents answer as soon as the upload returns: a sentence of one, asked back,
    # is found in it.
    import re

    for path in files[:3]:
        sentence = max(re.split(r"[。！？\n]", path.read_text("utf-8")), key=len)[:60]
        answer = service.ask(sentence)
        assert answer.passages and answer.passages[0].hit.chunk.doc_id == path.name, sentence


def test_a_full_disk_while_copying_an_upload_adds_nothing_and_says_so(service, tmp_path, monkeypatch):
    import errno

    import qa.web

    real_copy, calls = shutil.copyfile, []

    def copy_then_fill_up(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the second file: half written, then the device is full
            with open(dst, "wb") as fh:
                fh.write(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_copy(src, dst)

    monkeypatch.setattr(qa.web.shutil, "copyfile", copy_then_fill_up)
    files = []
    for name in ("a.txt", "b.txt"):
        path = tmp_path / name
        path.write_text("龙泉镇今年新建了73座文化礼堂，全部对外开放。", "utf-8")
        files.append(str(path))
    before = service.documents()
    message = service.add_files(files)
    assert message.startswith("✗ nothing added: cannot copy the upload into") and "no space left" in message
    assert list((service.settings.index_dir / "uploads").iterdir()) == []  # no half file, not even the first
    assert service.documents() == before
    assert service.ask("温州后进支部转化了多少个").text == "581个"


@pytest.mark.slow
def test_a_really_full_disk_under_an_upload_leaves_the_index_answering(seed_settings, encoder, tmp_path):
    import subprocess

    from qa.pipeline import Assistant
    from tests.test_store import _mount_tmpfs

    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "2m"):
        pytest.skip("this machine does not let the test mount a small filesystem")
    try:
        index = disk / "index"
        # the index alone: other tests may leave a model cache or a history in the seed folder
        shutil.copytree(seed_settings.index_dir, index, ignore=shutil.ignore_patterns(".cache", ".qa_history"))
        settings = replace(seed_settings, index_dir=index)
        service = ChatService(settings, Assistant.open(settings, encoder=encoder))
        big = tmp_path / "big.txt"
        big.write_text("龙泉镇今年新建了73座文化礼堂。\n" * 60_000, "utf-8")  # ≈ 2.5 MB: more than is free
        message = service.add_files([str(big)])
        assert message.startswith("✗ nothing added: cannot copy the upload"), message
        assert [p.name for p in (index / "uploads").iterdir()] == []
        assert service.ask("温州后进支部转化了多少个").text == "581个"
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], capture_output=True)


def test_questions_run_in_parallel_and_a_swapped_index_closes_after_its_last_question(tmp_path):
    import threading
    from types import SimpleNamespace

    started, release, closed = threading.Barrier(3), threading.Event(), []

    def fake(name):
        def ask(question, top_k=None, mode=None):
            if name == "old":
                started.wait(timeout=10)  # both questions are inside ask() at once: not serialised
                release.wait(timeout=10)
            return name
        return SimpleNamespace(ask=ask, index=SimpleNamespace(close=lambda: closed.append(name), documents=[]))

    service = ChatService(replace(Settings(), index_dir=tmp_path), fake("old"))
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(service.ask("q"))) for _ in range(2)]
    for t in threads:
        t.start()
    started.wait(timeout=10)
    service.swap(fake("new"))
    assert closed == [] and service.ask("q") == "new"  # old questions still running: old index open
    release.set()
    for t in threads:
        t.join(timeout=10)
    assert sorted(answers) == ["old", "old"] and closed == ["old"]  # closed once, after the last


@pytest.mark.slow
def test_an_upload_with_a_looping_pdf_adds_the_rest_and_names_it(seed_settings, encoder, tmp_path):
    """The PDF's reader runs out of its memory limit in the worker; the server process, the other
    file of the upload and the live index are unharmed."""
    from qa.config import ReadSettings
    from qa.pipeline import Assistant
    from tests import formats

    index = tmp_path / "index"
    shutil.copytree(seed_settings.index_dir, index)
    settings = replace(seed_settings, index_dir=index, read=ReadSettings(memory_mb=1024))
    service = ChatService(settings, Assistant.open(settings, encoder=encoder))
    loop = formats.looping_form_pdf(tmp_path / "loop.pdf")
    note = tmp_path / "note.txt"
    note.write_text("龙泉镇今年新建了73座文化礼堂，全部对外开放。", "utf-8")
    before = len(service.documents())
    message = service.add_files([str(loop), str(note)])
    assert "loop.pdf" in message and "crashed" in message, message
    assert len(service.documents()) == before + 1
    assert service.ask("龙泉镇今年新建了多少座文化礼堂？").text == "73座"
    assert service.ask("温州后进支部转化了多少个").text == "581个"
