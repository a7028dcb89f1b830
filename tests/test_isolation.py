"""Files that loop, eat memory or crash the parser are read in a worker with limits
(qa/readers/isolation.py): each is one skipped file with its reason, in bounded time, and the
files after it still read."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

from qa.config import ReadSettings
from qa.loading import load, read_file
from qa.readers import Readers
from qa.schema import RawFile, Skipped
from tests import formats

ROOT = Path(__file__).resolve().parents[1]


def test_looping_and_broken_pdfs_are_skipped_in_bounded_time_and_the_rest_still_read(tmp_path):
    formats.looping_form_pdf(tmp_path / "a-loop.pdf")
    formats.page_tree_loop_pdf(tmp_path / "b-tree.pdf")
    formats.text_pdf(tmp_path / "c-good.pdf", [[formats.WENZHOU]])
    formats.docx_file(tmp_path / "d-good.docx")
    started = time.monotonic()
    with Readers(limits=ReadSettings(timeout_s=60, memory_mb=1024)) as readers:
        loaded = load([tmp_path], readers)
    seconds = time.monotonic() - started
    reasons = {Path(s.path).name: s.reason for s in loaded.skipped}
    assert sorted(f.name for f in loaded.files) == ["c-good.pdf", "d-good.docx"]
    assert "581" in loaded.files[0].text
    assert "crashed" in reasons["a-loop.pdf"] and "1,024 MB" in reasons["a-loop.pdf"]
    assert "b-tree.pdf" in reasons
    assert seconds < 60  # the looping file alone would run until the machine ran out of memory


def test_a_file_past_its_time_limit_is_given_up_and_the_worker_replaced(tmp_path):
    bomb = formats.deflate_bomb_pdf(tmp_path / "bomb.pdf")
    good = formats.text_pdf(tmp_path / "good.pdf", [[formats.WENZHOU]])
    with Readers(limits=ReadSettings(timeout_s=1, timeout_s_per_mb=0)) as readers:
        started = time.monotonic()
        item = read_file(bomb, readers)
        seconds = time.monotonic() - started
        after = read_file(good, readers)
    assert isinstance(item, Skipped) and item.reason.startswith("gave up after 1 s"), item
    assert seconds < 10  # PDFium takes ~17 s over it
    assert isinstance(after, RawFile) and "581" in after.text


def test_pure_python_formats_are_read_without_starting_a_worker(tmp_path):
    (tmp_path / "note.txt").write_text(formats.WENZHOU, "utf-8")
    with Readers() as readers:
        assert isinstance(read_file(tmp_path / "note.txt", readers), RawFile)
        assert readers._isolated._pool is None


def _workers_marked(mark: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if f"QA_TEST_MARK={mark}".encode() in environ.split(b"\0"):
            found.append(int(pid))
    return found


def test_a_killed_reader_leaves_no_worker_behind(tmp_path):
    """kill -9 of the process reading a looping file: its worker (and forkserver) exit with it."""
    path = formats.looping_form_pdf(tmp_path / "loop.pdf")
    mark = uuid.uuid4().hex
    script = textwrap.dedent(f"""
        from pathlib import Path
        from qa.config import ReadSettings
        from qa.loading import read_file
        from qa.readers import Readers
        if __name__ == "__main__":
            print("reading", flush=True)
            read_file(Path({str(path)!r}), Readers(limits=ReadSettings(timeout_s=600, memory_mb=8192)))
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "QA_TEST_MARK": mark})
    assert child.stdout.readline().strip() == "reading"
    deadline = time.monotonic() + 30
    while len(_workers_marked(mark)) < 3 and time.monotonic() < deadline:  # reader, forkserver, worker
        time.sleep(0.1)
    assert len(_workers_marked(mark)) >= 3
    time.sleep(0.5)  # the worker is inside PDFium now
    child.send_signal(signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + 10
    while _workers_marked(mark) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _workers_marked(mark) == []
