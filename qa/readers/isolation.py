"""Reading a file in a worker process, with a time and a memory limit.

PDFium, lxml, zlib and the image decoders are C code: a crafted or broken file can loop for ever,
ask for gigabytes or crash the process that reads it. Such files are read in one worker process
(started on first need, reused, replaced after a failure), so a file that loops is given up after
its time limit, one that eats memory hits the worker's limit, and one that crashes the parser is a
skipped file with its reason, while the index build (or the web chat) carries on.

The worker is a ``pebble`` process pool of one, from a ``forkserver``: a clean process, not a fork
of one that has ONNX Runtime's threads running. It watches the process that started it and exits
with it, so a ``kill -9`` of ``qa index`` leaves no reader behind.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ..config import ReadSettings
from ..schema import RawFile
from .base import ReadError


def _timeout_s(limits: ReadSettings, size: int) -> float:
    return limits.timeout_s + limits.timeout_s_per_mb * size / 2**20


class IsolatedReading:
    """Reads files in the worker; every way the worker can fail becomes a :class:`ReadError`."""

    def __init__(self, limits: ReadSettings, soffice: str | None) -> None:
        self.limits = limits
        self.soffice = soffice
        self._pool = None

    def read(self, path: Path, data: bytes, sha256: str) -> RawFile:
        from pebble import ProcessExpired

        timeout = _timeout_s(self.limits, len(data))
        future = self._started().schedule(_read_here, (self.soffice, path, data, sha256), timeout=timeout)
        try:
            return future.result()
        except TimeoutError as exc:  # pebble has already killed and replaced the worker
            raise ReadError(f"gave up after {timeout:.0f} s: the file loops or is pathological "
                            f"(ReadSettings.timeout_s allows more)") from exc
        except ProcessExpired as exc:
            raise ReadError(f"the reader crashed on this file ({_death(exc.exitcode)}; past its "
                            f"{self.limits.memory_mb:,} MB memory limit, if it was out of memory); "
                            f"it is skipped, nothing else was affected") from exc
        except MemoryError as exc:
            raise ReadError(f"reading it needs more than the {self.limits.memory_mb:,} MB memory limit "
                            f"(ReadSettings.memory_mb)") from exc

    def _started(self):
        if self._pool is None:
            import multiprocessing

            from pebble import ProcessPool

            self._pool = ProcessPool(max_workers=1, initializer=_worker_start, initargs=(self.limits.memory_mb,),
                                     context=multiprocessing.get_context("forkserver"))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None


def _death(exitcode: int | None) -> str:
    import signal

    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


def _worker_start(memory_mb: int) -> None:
    """In the worker: cap its address space, and exit when the process that started it dies."""
    import multiprocessing
    import multiprocessing.connection
    import resource
    import threading

    limit = memory_mb * 2**20
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    parent = multiprocessing.parent_process()
    if parent is not None:
        def watch() -> None:
            multiprocessing.connection.wait([parent.sentinel])
            os._exit(1)

        threading.Thread(target=watch, name="qa-reader-watch", daemon=True).start()


@functools.cache
def _worker_readers(soffice: str | None):
    """The worker's own readers (one OCR engine, loaded once for all the files it reads)."""
    from . import Readers

    return Readers(soffice=soffice, find_libreoffice=False, limits=ReadSettings(isolate=False))


def _read_here(soffice: str | None, path: Path, data: bytes, sha256: str) -> RawFile:
    reader = _worker_readers(soffice).for_path(path)
    if reader is None:
        raise ReadError(f"unsupported file type '{path.suffix}'")
    return reader.read(path, data, sha256)
