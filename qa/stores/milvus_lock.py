"""One milvus-lite server per embedded Milvus file, across processes.

milvus-lite serves a ``*.db`` file from one process at a time, by a POSIX lock on ``.NAME.lock``
beside it. When a second process fails to take that lock, the failed server's clean-up deletes
the lock file (milvus-lite 2.5.1: ``Server.__del__`` → ``stop`` → ``unlink``), so the process
after it creates a new lock file, takes *that* lock and starts a second server on the same data
file, next to the live one. So the lock is tried here first: a busy file is refused before
milvus-lite sees it, and a free one stays locked by this process until its server is released
(POSIX locks belong to the process, so milvus-lite's own lock on the file succeeds). The
descriptor stays open until then because closing any descriptor of the file drops every lock
the process holds on it, milvus-lite's too.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

#: A killed process's orphaned milvus-lite server holds the file while it shuts down (it takes
#: the lock when its parent dies, then stops): a build killed a moment ago, then `qa ask`.
#: Busy for longer than this, the file is open in a live process.
BUSY_GRACE_S = 3.0
BUSY_POLL_S = 0.1

# Lock file → its open descriptor, for each embedded file this process serves: a per-process OS
# resource, like milvus-lite's own registry of the servers it started.
_held: dict[str, int] = {}


def lock_file(db: Path) -> Path:
    """The file milvus-lite locks to serve ``db``."""
    return db.parent / f".{db.name}.lock"


def held(db: Path) -> bool:
    return str(lock_file(db)) in _held


def claim(db: Path, grace_s: float = BUSY_GRACE_S) -> bool:
    """Lock ``db`` for this process (at once if it already does), waiting up to ``grace_s``
    for a process that is letting go; False when another process still holds it."""
    key = str(lock_file(db))
    if key in _held:
        return True
    deadline = time.monotonic() + grace_s
    while True:
        fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # this process holds no lock on the file: closing drops nothing
            if time.monotonic() >= deadline:
                return False
            time.sleep(BUSY_POLL_S)
            continue
        _held[key] = fd
        return True


def release(db: Path) -> None:
    """Let go of ``db`` once its server is stopped (or failed to start)."""
    fd = _held.pop(str(lock_file(db)), None)
    if fd is not None:
        os.close(fd)
