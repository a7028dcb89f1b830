"""One milvus-lite server per embedded file: a refused process must not unlock the file for the
next one, and a process letting go is waited for."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from qa.stores import milvus_lock

OPEN = ("import sys\nfrom qa.stores.milvus import connect\nfrom qa.store import IndexBusy\n"
        "try: connect(sys.argv[1]); print('opened')\nexcept IndexBusy: print('busy')")


def test_claim_is_refused_while_another_process_holds_the_lock_and_granted_after(tmp_path):
    db = tmp_path / "qa.db"
    hold = ("import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.lockf(f, fcntl.LOCK_EX); "
            "print('held', flush=True); time.sleep(float(sys.argv[2]))")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(milvus_lock.lock_file(db)), "1.0"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    assert not milvus_lock.claim(db, grace_s=0.0)  # held elsewhere, no waiting
    started = time.perf_counter()
    assert milvus_lock.claim(db, grace_s=10.0)  # the holder lets go within the grace: waited for
    assert 0.3 < time.perf_counter() - started < 10.0 and milvus_lock.held(db)
    assert milvus_lock.claim(db, grace_s=0.0)  # this process holds it already
    milvus_lock.release(db)
    assert not milvus_lock.held(db)
    holder.wait()


@pytest.mark.slow
def test_a_refused_process_leaves_the_file_locked_for_the_next(tmp_path):
    """milvus-lite's failed start deletes the lock file, which let the third process in beside
    the first; every later process must be refused while the first one serves the file."""
    from qa.stores.milvus import connect, stop_embedded

    uri = str(tmp_path / "db" / "qa.db")
    client = connect(uri)
    try:
        for _ in range(2):
            done = subprocess.run([sys.executable, "-c", OPEN, uri], capture_output=True, text=True, timeout=120)
            assert done.stdout.strip() == "busy", done.stderr[-2000:]
        assert milvus_lock.lock_file(tmp_path / "db" / "qa.db").exists()
    finally:
        client.close()
        stop_embedded(uri)
    done = subprocess.run([sys.executable, "-c", OPEN, uri], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "opened", done.stderr[-2000:]  # released here: free for the next
