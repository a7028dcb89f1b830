"""The `qa` command as users run it: real subprocesses against a real index."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import SEEDS, WENZHOU

QA = [sys.executable, "-m", "qa.cli"]


def run(*args, stdin=None, timeout=120):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([*QA, *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=env)


def test_ask_json_answers_581_cited_to_wenzhou(seed_settings):
    out = run("ask", "温州后进支部转化了多少个", "--json", "--index-dir", str(seed_settings.index_dir))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["answer"] == "581个" and not data["abstained"]
    cited = next(p for p in data["passages"] if p["answer_span"])
    assert cited["doc"] == WENZHOU and "581个" in cited["text"]


def test_ask_abstains_on_an_unanswerable_question(seed_settings):
    out = run("ask", "北京地铁4号线什么时候开通？", "--index-dir", str(seed_settings.index_dir))
    assert out.returncode == 0 and out.stdout.startswith("Not found in the documents")


def test_questions_piped_on_stdin_are_answered_in_turn(seed_settings):
    out = run("ask", "--json", "--index-dir", str(seed_settings.index_dir),
              stdin="温州后进支部转化了多少个\n\n肥东县委书记是谁？\n")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [d["answer"] for d in lines] == ["581个", "杨宏星"]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["ask", "   "], "the question is empty"),
     (["ask", "温州", "--index-dir", "/nonexistent/index"], "run `qa index` first"),
     (["index", "/nonexistent/folder"], "no such file or folder"),
     (["eval", "/nonexistent/q.jsonl"], "no such question file"),
     (["ask", "温州", "--doc", "no-such-document"], "--doc no-such-document: doc 'no-such-document' matches 0"),
     (["fit-answers", "questions.jsonl"], "expected QUESTIONS.jsonl=INDEX_DIR")],
)
def test_user_errors_are_one_line_without_traceback(seed_settings, args, message):
    if "--index-dir" not in args and args[0] not in ("index", "fit-answers"):
        args = [*args, "--index-dir", str(seed_settings.index_dir)]
    out = run(*args)
    assert out.returncode != 0
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_index_command_summarises_and_reports_skipped_files(tmp_path):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.txt").write_text((SEEDS / WENZHOU).read_text("utf-8"), "utf-8")
    (corpus / "bad.txt").write_bytes(b"\x00\x01binary")
    out = run("index", str(corpus), "--index-dir", str(tmp_path / "idx"))
    assert out.returncode == 0, out.stderr
    assert "indexed 1 documents" in out.stdout
    assert "skipped" in out.stderr and "bad.txt" in out.stderr and "binary" in out.stderr
    assert "embedding" in out.stderr  # the tqdm progress bar
    # The scraped page is a quarter navigation and notices: said, not silently dropped.
    assert "cleaning removed" in out.stderr and "a.txt: 26% removed" in out.stderr


def test_interactive_prompt_in_a_terminal(seed_settings):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(QA[0], [*QA[1:], "ask", "--index-dir", str(seed_settings.index_dir)],
                          encoding="utf-8", timeout=60, env={**os.environ, "HOME": str(seed_settings.index_dir)})
    child.expect("问> ")
    child.sendline("温州后进支部转化了多少个")
    child.expect("581个")
    child.expect("问> ")
    child.sendline("exit")
    child.expect(pexpect.EOF)


def test_ask_within_one_document_with_the_learned_models(seed_settings):
    out = run("ask", "温州后进支部转化了多少个", "--json", "--answers", "learned", "--doc", WENZHOU[:3],
              "--index-dir", str(seed_settings.index_dir))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["answer"] == "581个" and {p["doc"] for p in data["passages"]} == {WENZHOU}
