"""``qa bench``: how fast indexing and questions are, and how the search scales.

On a real corpus it measures, each in its own process where start-up matters: indexing
throughput (whole build and embedding alone), a cold one-shot ``qa ask``, warm per-question
latency per retrieval mode, peak memory and index size. With ``--scale N`` it also builds a
synthetic corpus of N passages — real seed sentences recombined, their vectors mixed from the
sentences' real embeddings plus noise, so no model runs per passage — and measures the vector
index chosen for that size (recall@10 against exact search, latency), keyword and hybrid
search, opening the index, and memory.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from .config import ROOT, Settings


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _child_peak(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of one child process (wait4 gives its own peak)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    out = proc.stdout.read().decode("utf-8")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise RuntimeError(f"`{' '.join(cmd[2:5])} …` exited with {proc.returncode}")
    return wall, usage.ru_maxrss / 1024, out


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def _embedded_db_mb(settings: Settings) -> float:
    """Size of embedded Milvus's file (the passages and indexes live there, not in the index folder)."""
    store = settings.store
    if store.kind != "milvus" or not Path(store.uri).is_file():
        return 0.0
    return Path(store.uri).stat().st_size / 2**20


def read_questions(path: Path | None, limit: int) -> list[str]:
    if path is None or not path.exists():
        return ["温州后进支部转化了多少个"]
    questions = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            q = json.loads(line).get("question")
            if q:
                questions.append(q)
    return questions[:limit]


def bench_corpus(paths: list[Path], questions_file: Path | None, settings: Settings, work: Path,
                 n_questions: int = 200, cold_runs: int = 3) -> dict:
    """Index ``paths`` in a child process, then time cold and warm questions."""
    index_dir = work / "index"
    python = [sys.executable, "-m", "qa.cli"]
    build_cmd = python + ["index", *map(str, paths), "--index-dir", str(index_dir), "--model", settings.model,
                          "--threads", str(settings.encoder.threads), "--json", *store_arguments(settings)]
    wall, build_rss, out = _child_peak(build_cmd)
    report = json.loads(out.strip().splitlines()[-1])
    questions = read_questions(questions_file, n_questions)
    cold = []
    ask_rss = 0.0
    for _ in range(cold_runs):
        seconds, rss, _ = _child_peak(python + ["ask", questions[0], "--index-dir", str(index_dir), "--json"])
        cold.append(seconds)
        ask_rss = max(ask_rss, rss)
    warm = warm_latency(replace(settings, index_dir=index_dir), questions)
    return {
        "corpus": ", ".join(map(str, paths)),
        "model": settings.model,
        "documents": report["documents"],
        "passages": report["passages"],
        "index_seconds": report["seconds"],
        "index_passages_per_s": round(report["passages"] / report["seconds"], 2),
        "embed_passages_per_s": round(report["embedded"] / max(report["embed_seconds"], 1e-9), 2),
        "index_process_s": round(wall, 2),
        "cold_ask_s": round(statistics.median(cold), 3),
        "query_p50_ms": warm["hybrid"]["p50_ms"],
        "query_p95_ms": warm["hybrid"]["p95_ms"],
        "modes": warm,
        "questions": len(questions),
        "peak_rss_mb": round(max(build_rss, ask_rss), 1),
        "index_peak_rss_mb": round(build_rss, 1),
        "ask_peak_rss_mb": round(ask_rss, 1),
        "index_mb": round(folder_mb(index_dir) + _embedded_db_mb(settings), 2),
        "vector_index": report["vector_index"],
    }


def store_arguments(settings: Settings) -> list[str]:
    """`qa index` options that put the index in the store ``settings`` name."""
    store = settings.store
    if store.kind != "milvus":
        return ["--store", "local"]
    return ["--store", "milvus", "--milvus-uri", store.uri, "--collection", store.collection,
            "--milvus-analyzer", store.analyzer]


def bench_store(settings: Settings, work: Path, name: str) -> Settings:
    """The store a bench run writes to: embedded Milvus in the bench's own temporary folder unless
    a server URI was given (then collection ``qa_bench_<name>`` there)."""
    store = settings.store
    if store.kind != "milvus":
        return replace(settings, store=replace(store, kind="local"))
    from .stores.milvus import is_local

    if not store.uri or is_local(store.uri):
        return replace(settings, store=replace(store, uri=str(work / f"{name}.db")))
    return replace(settings, store=replace(store, collection=f"qa_bench_{name}"))


def warm_latency(settings: Settings, questions: list[str]) -> dict:
    """Per-question latency once the index is open, one question at a time, per mode."""
    from .pipeline import Assistant

    assistant = Assistant.open(settings)
    assistant.ask(questions[0])  # first-call allocations are not what a user waits for
    out = {}
    for mode in ("hybrid", "bm25", "dense"):
        times = []
        for q in questions:
            started = time.perf_counter()
            assistant.ask(q, mode=mode)
            times.append((time.perf_counter() - started) * 1000)
        out[mode] = {"p50_ms": round(_percentile(times, 50), 2), "p95_ms": round(_percentile(times, 95), 2)}
    return out


def main_corpus_defaults(name: str) -> tuple[list[Path], Path | None]:
    if name == "seeds":
        return [ROOT / "seeds"], ROOT / "eval" / "seed_questions.jsonl"
    if name == "cmrc":
        folder = ROOT / "eval" / "cmrc"
        if not (folder / "corpus").exists():
            from .squad import convert

            convert(ROOT.parent / "shared" / "benchmarks" / "cmrc2018_trial.json", folder)
        return [folder / "corpus"], folder / "questions.jsonl"
    return [Path(name)], None


def markdown(result: dict) -> str:
    lines = [f"# qa bench — {result['corpus']}", ""]
    if result.get("passages") is not None:
        lines += [
            "| store | corpus | passages | index passages/s | embed passages/s | cold ask s | hybrid p50 ms "
            "| hybrid p95 ms | bm25 p50 ms | dense p50 ms | peak RSS MB | index MB |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            f"| {result.get('store', 'local')} | {result['corpus']} | {result['passages']} | {result['index_passages_per_s']} | "
            f"{result['embed_passages_per_s']} | {result['cold_ask_s']} | {result['query_p50_ms']} | "
            f"{result['query_p95_ms']} | {result['modes']['bm25']['p50_ms']} | {result['modes']['dense']['p50_ms']} | "
            f"{result['peak_rss_mb']} | {result['index_mb']} |",
            "",
        ]
    for s in result.get("scales") or []:
        lines += [f"## synthetic scale: {s['n']:,} passages ({s.get('pool', 'seeds')} sentences)", "",
                  "| store | vector index | recall@10 (questions / moved passages: calibration, fresh) | vector p50 ms | keyword p50 ms | hybrid p50 ms | open s | "
                  "add one doc s | build s | peak RSS MB | server peak RSS MB | one-shot qa ask s / peak RSS MB |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|",
                  f"| {s.get('store', 'local')} | {s['vector_index']} {s['vector_params']} | {s['vector_recall_at_10']} / "
                  f"{s.get('calibration_recall_at_10') or '—'}, {s.get('moved_recall_at_10', '—')} | {s['vector_p50_ms']} | "
                  f"{s['keyword_p50_ms']} | {s['hybrid_p50_ms']} | {s['open_s']} | {s['add_one_doc_s']} | "
                  f"{s['build_s']} | {s['peak_rss_mb']} | {s.get('server_peak_rss_mb')} | "
                  f"{s.get('ask_s')} / {s.get('ask_peak_rss_mb')} |", ""]
    return "\n".join(lines)


def run_cli(args, settings: Settings) -> int:
    from .scale_bench import bench_scale, sentence_pool

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    result: dict = {"corpus": "synthetic" if args.scale_only else args.corpus, "passages": None}
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        if not args.scale_only:
            paths, questions = main_corpus_defaults(args.corpus)
            if args.questions:
                questions = Path(args.questions)
            for path in paths:
                if not path.exists():
                    raise FileNotFoundError(f"no such corpus: {path}")
            print(f"… indexing and asking on {args.corpus}", file=sys.stderr)
            result = bench_corpus(paths, questions, bench_store(settings, Path(tmp), "corpus"), Path(tmp),
                                  n_questions=args.questions_limit)
            result["store"] = settings.store.kind if settings.store.kind == "milvus" else "local"
        scales = []
        source = getattr(args, "pool", "public")
        pool = sentence_pool(settings, source) if args.scale else None  # embedded once for every size
        for n in args.scale or []:
            print(f"… synthetic corpus of {n:,} passages ({source} sentences)", file=sys.stderr)
            scales.append({**bench_scale(n, bench_store(settings, Path(tmp), f"scale_{n}"), Path(tmp) / f"scale-{n}",
                                         pool), "pool": source})
            shutil.rmtree(Path(tmp) / f"scale-{n}", ignore_errors=True)
    result["scale"] = scales[-1] if scales else None
    result["scales"] = scales
    stem = f"bench-{Path(result['corpus']).name}" + (f"-scale-{'-'.join(map(str, args.scale))}" if args.scale else "") \
        + ("-milvus" if settings.store.kind == "milvus" else "")
    (out_dir / f"{stem}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), "utf-8")
    (out_dir / f"{stem}.md").write_text(markdown(result) + "\n", "utf-8")
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(markdown(result))
        print(f"written to {out_dir / stem}.json and .md", file=sys.stderr)
    return 0
