"""Soak: many questions through the web API from concurrent callers, watching latency and memory.

``python -m qa.soak [--questions 10000] [--callers 8] [--every 1000] [--index-dir DIR]`` starts
``qa serve`` on a free loopback port over the index (the seed index by default), sends the seed
questions round-robin from ``--callers`` gradio_client callers, and after every ``--every``
answers prints p50/p95 latency and the server's resident memory. It ends with the error count
and the memory growth from the first checkpoint to the last (``make soak``: the full 10,000).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import ROOT


@dataclass
class Checkpoint:
    answered: int
    p50_ms: float
    p95_ms: float
    rss_mb: float
    seconds: float


@dataclass
class SoakResult:
    questions: int
    callers: int
    errors: list[str] = field(default_factory=list)
    wrong: int = 0  # answers that differ from the same question's answer asked alone
    checkpoints: list[Checkpoint] = field(default_factory=list)

    @property
    def memory_growth(self) -> float:
        """Resident memory at the last checkpoint relative to the first (0.05 = 5% more)."""
        first, last = self.checkpoints[0].rss_mb, self.checkpoints[-1].rss_mb
        return last / first - 1

    def to_json(self) -> dict:
        return {"questions": self.questions, "callers": self.callers, "errors": len(self.errors),
                "wrong": self.wrong, "memory_growth": round(self.memory_growth, 4),
                "checkpoints": [c.__dict__ for c in self.checkpoints]}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index_dir: Path, log: Path, timeout_s: float = 180, workers: int | None = None
                 ) -> tuple[subprocess.Popen, str]:
    """``qa serve`` on loopback over ``index_dir``, once it answers HTTP."""
    import urllib.request

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--index-dir", str(index_dir), "--port",
                             str(port), "--no-build", *(["--workers", str(workers)] if workers is not None else [])],
                            stdout=log.open("w"), stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the web server exited: " + log.read_text("utf-8")[-2000:])
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"the web server did not answer within {timeout_s:.0f} s")


def seed_pool() -> list[dict]:
    """The seed questions, answerable and not."""
    lines = (ROOT / "eval" / "seed_questions.jsonl").read_text("utf-8").splitlines()
    return [item for item in map(json.loads, filter(None, lines))]


def soak(url: str, server_pid: int, questions: int, callers: int, every: int, print_fn=print) -> SoakResult:
    """Send ``questions`` from ``callers`` threads; a checkpoint every ``every`` answers. Each
    question is first asked alone; under load its answer must stay the same (``wrong`` counts
    the ones that changed)."""
    from gradio_client import Client

    pool = seed_pool()
    first = Client(url, verbose=False)
    alone = {item["question"]: first.predict(item["question"], 5, "hybrid", api_name="/ask")["answer"]
             for item in pool}
    local = threading.local()  # one client per caller thread: a Client is not shared between threads
    result = SoakResult(questions, callers)
    started = time.perf_counter()

    def call(i: int) -> tuple[dict, dict | None, float, str | None]:
        item = pool[i % len(pool)]
        t = time.perf_counter()
        if not hasattr(local, "client"):
            local.client = Client(url, verbose=False)
        try:
            answer = local.client.predict(item["question"], 5, "hybrid", api_name="/ask")
        except Exception as exc:  # any failure is counted and shown, never hidden
            return item, None, time.perf_counter() - t, f"{type(exc).__name__}: {exc}"
        return item, answer, time.perf_counter() - t, None

    with ThreadPoolExecutor(callers) as executor:
        for start in range(0, questions, every):
            batch = list(executor.map(call, range(start, min(start + every, questions))))
            latencies = [seconds * 1000 for _, _, seconds, _ in batch]
            result.errors += [err for _, _, _, err in batch if err]
            result.wrong += sum(1 for item, answer, _, err in batch
                                if not err and answer["answer"] != alone[item["question"]])
            point = Checkpoint(start + len(batch), round(float(np.percentile(latencies, 50)), 1),
                               round(float(np.percentile(latencies, 95)), 1), round(rss_mb(server_pid), 1),
                               round(time.perf_counter() - started, 1))
            result.checkpoints.append(point)
            print_fn(f"{point.answered:>6} answered  p50 {point.p50_ms:7.1f} ms  p95 {point.p95_ms:7.1f} ms  "
                     f"server RSS {point.rss_mb:7.1f} MB  {point.seconds:7.1f} s  errors {len(result.errors)}")
    return result


def main(argv: list[str] | None = None) -> int:
    from .config import go_offline

    go_offline()
    p = argparse.ArgumentParser(prog="python -m qa.soak", description=__doc__.splitlines()[0])
    p.add_argument("--questions", type=int, default=10_000)
    p.add_argument("--callers", type=int, default=8)
    p.add_argument("--every", type=int, default=1_000)
    p.add_argument("--index-dir", type=Path, default=ROOT / "index", help="a built index (default: index/)")
    p.add_argument("--workers", type=int, help="questions the server answers at once (default: one per core)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args(argv)
    log = Path(args.index_dir) / "soak-server.log"
    proc, url = start_server(args.index_dir, log, workers=args.workers)
    try:
        result = soak(url, proc.pid, args.questions, args.callers, args.every,
                      print_fn=lambda line: print(line, flush=True))
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"soak: {result.questions} questions, {result.callers} callers, {len(result.errors)} errors, "
          f"{result.wrong} wrong, server memory {result.memory_growth:+.1%} from the first checkpoint to the last")
    for err in result.errors[:5]:
        print("  error:", err)
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_json(), indent=1), "utf-8")
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
