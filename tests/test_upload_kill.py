"""`kill -9` during a web upload (the code the web server runs, in a process of its own): the
index stays usable, and the next start of the web chat indexes every file the upload had
copied in — no uploaded text is lost without a word."""

import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from qa.config import Settings
from tests.conftest import WENZHOU

pytestmark = pytest.mark.slow
FRACTIONS = (0.3, 0.5, 0.65, 0.8, 0.9, 1.0, 1.2)
UPLOAD = "龙泉镇今年新建了73座文化礼堂，全部对外开放，群众文化生活更加丰富多彩。\n"
CODE = """
import sys
from dataclasses import replace
from pathlib import Path
from qa.config import Settings
from qa.web import ChatService
print(ChatService(replace(Settings(), index_dir=Path(sys.argv[1]))).add_files([sys.argv[2]]), flush=True)
"""


def upload_command(folder, path):
    return [sys.executable, "-c", CODE, str(folder), str(path)]


def test_kill_9_during_an_upload_loses_no_uploaded_file(seed_settings, encoder, tmp_path, capsys):
    from qa.pipeline import Assistant
    from qa.store import open_index, read_manifest
    from qa.web import ensure_index, pending_uploads

    source = tmp_path / "longquan.txt"
    source.write_text(UPLOAD, "utf-8")
    probe = tmp_path / "probe"
    shutil.copytree(seed_settings.index_dir, probe)
    started = time.perf_counter()
    done = subprocess.run(upload_command(probe, source), capture_output=True, text=True, check=True)
    whole = time.perf_counter() - started
    assert done.stdout.startswith("✓ added 1 file(s)"), done.stdout
    outcomes = []
    for point, fraction in enumerate(FRACTIONS):
        folder = tmp_path / f"i{point}"
        shutil.copytree(seed_settings.index_dir, folder)
        proc = subprocess.Popen(upload_command(folder, source), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(whole * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        before = len(open_index(folder).documents)  # never damaged
        assert before in (5, 6), point
        copied = (folder / "uploads" / source.name).exists()
        pending = pending_uploads(folder, read_manifest(folder))
        assert (before == 5 and copied) == bool(pending), point  # copied but not indexed = pending
        settings = replace(Settings(), index_dir=folder)
        ensure_index(settings)  # what `qa serve` does first on its next start
        after = open_index(folder)
        assert len(after.documents) == (6 if copied else 5), point  # every copied file is now indexed
        assert pending_uploads(folder, after.manifest) == []
        assistant = Assistant.open(settings, encoder=encoder)
        assert assistant.ask("温州后进支部转化了多少个").cited.hit.chunk.doc_id == WENZHOU
        if copied:
            answer = assistant.ask("龙泉镇新建了多少座文化礼堂")
            assert answer.text.startswith("73") and answer.cited.hit.chunk.doc_id == source.name, point
        outcomes.append((before, copied))
    print("after each kill (documents, copied):", outcomes)
    assert (5, True) in outcomes  # some kills landed between the copy and the commit
