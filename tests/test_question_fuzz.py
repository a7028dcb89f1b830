"""Any question text, through the whole assistant and the command line: an answer or a clean
refusal, never a crash, and every answer's citation indexes into its passage."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.pipeline import QuestionError

PIECES = st.one_of(
    st.sampled_from(["温州", "后进支部", "转化了", "多少个", "谁", "哪里", "什么时候", "How many", "<script>", "'; DROP",
                     "？", "。", "\u200b", "\x00", "\ufeff", "𠀀", "１２３", "%s", "{}", "\\", "臺灣", "🙂"]),
    st.text(max_size=8),  # any code point: controls, surrogates, combining marks
)
QUESTION = st.lists(PIECES, max_size=30).map("".join)


def check(answer) -> None:
    if answer.abstained:
        assert answer.cited is None
        return
    cited = answer.cited
    start, end = cited.answer_span
    assert 0 <= start < end <= len(cited.hit.chunk.text)
    assert cited.hit.chunk.text[start:end] == answer.text
    json.dumps(answer.to_json(), ensure_ascii=False)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(QUESTION)
def test_any_question_is_answered_or_refused_cleanly(assistant, question):
    try:
        answer = assistant.ask(question)
    except QuestionError:
        assert not question.split()  # only an empty question is refused
        return
    check(answer)


@pytest.mark.slow
def test_fuzzed_questions_on_stdin_get_one_json_line_each(seed_settings):
    rng = random.Random(20261203)
    alphabet = "温州后进支部转化多少个谁哪里？。 abcXYZ019<>&\"'\\\t\u3000\u200b\ufeff臺灣🙂𠀀%{}"
    questions = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(40)]
    questions = [q for q in questions if q.strip()]
    out = subprocess.run([sys.executable, "-m", "qa.cli", "ask", "--json", "--index-dir", str(seed_settings.index_dir)],
                         input="\n".join(questions) + "\n", capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == len(questions)
    for line in lines:
        data = json.loads(line)
        assert set(data) >= {"question", "answer", "abstained", "passages"}
