"""File checksums and stamps, shared by the index store and the encoder's model cache.

A stamp (size, modification time, inode) recorded when a file is written tells, at the next
open, that it is still the file written: then it is trusted without hashing it again. A file
changed, copied, replaced or touched since has another stamp and is hashed against its checksum.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

#: A file just written is back-dated this far before its stamp is recorded (:func:`settled_stamp`):
#: a later write then always changes the stamp, even one within the same tick of a coarse
#: file-system clock as the writer's own last write (git's "racily clean" files).
STAMP_BACKDATE_NS = 2 * 10**9


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def file_stamp(path: Path) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}


def settled_stamp(path: Path) -> dict:
    """The stamp of a file this process has just written, back-dated first (STAMP_BACKDATE_NS)."""
    past = time.time_ns() - STAMP_BACKDATE_NS
    os.utime(path, ns=(past, past))
    return file_stamp(path)
