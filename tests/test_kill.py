"""`kill -9` of `qa index` at 30 moments spread over a whole rebuild: the index always opens,
answers from the old or the new corpus, and the next build succeeds."""

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from qa.config import Settings
from tests.conftest import SEEDS, WENZHOU

pytestmark = pytest.mark.slow
POINTS = 30
SPAN = 1.15  # kills spread over the rebuild's duration and a little past it (the commit comes last)
EXTRA_POINTS = 5  # later kills, up to 2x the timed rebuild, while none has landed after the commit
NEW_DOC = "新文章\n龙泉镇今年新建了73座文化礼堂，全部对外开放，群众文化生活更加丰富多彩。\n"


def index_command(corpus, folder):
    return [sys.executable, "-m", "qa.cli", "index", str(corpus), "--index-dir", str(folder), "--quiet"]


def test_kill_9_at_any_moment_of_a_rebuild_leaves_a_working_index(seed_settings, encoder, tmp_path):
    from qa.pipeline import Assistant
    from qa.store import open_index

    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "new.txt").write_text(NEW_DOC, "utf-8")
    probe = tmp_path / "probe"
    shutil.copytree(seed_settings.index_dir, probe)
    started = time.perf_counter()
    subprocess.run(index_command(corpus, probe), check=True, capture_output=True)
    whole = time.perf_counter() - started  # one full rebuild, start-up included

    # 30 kills spread over the rebuild, then later ones while none has yet landed after the
    # commit: a rebuild can run slower than the one timed above (a busy machine), and the
    # kills must fall on both sides of the commit whatever the machine's speed.
    delays = [SPAN * whole * point / POINTS for point in range(POINTS)]
    delays += [whole * (1.2 + 0.2 * extra) for extra in range(EXTRA_POINTS)]
    outcomes = []
    for point, delay in enumerate(delays):
        if point >= POINTS and 6 in outcomes:
            break
        folder = tmp_path / f"i{point}"
        shutil.copytree(seed_settings.index_dir, folder)
        proc = subprocess.Popen(index_command(corpus, folder), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        documents = len(open_index(folder).documents)  # never damaged, never half-written
        assert documents in (5, 6), point
        outcomes.append(documents)
        settings = replace(Settings(), index_dir=folder)
        answer = Assistant.open(settings, encoder=encoder).ask("温州后进支部转化了多少个")
        assert answer.text == "581个" and answer.cited.hit.chunk.doc_id == WENZHOU, point
        assert len([g for g in os.listdir(folder) if g.startswith("g-")]) <= 2, point  # at most one stray
        if point % 6 == 0:  # and the next build goes through: no stale lock, strays cleared
            subprocess.run(index_command(corpus, folder), check=True, capture_output=True)
            assert len(open_index(folder).documents) == 6
            assert len([g for g in os.listdir(folder) if g.startswith("g-")]) == 1
    print("documents after each kill:", outcomes)
    # The kills landed both before and after the commit point.
    assert 5 in outcomes and 6 in outcomes, outcomes
