"""A shortened soak through the real web API (the full 10,000 questions: `make soak`)."""

import pytest

pytestmark = pytest.mark.slow
QUESTIONS, CALLERS, EVERY = 800, 8, 200


def test_a_short_soak_has_no_errors_no_wrong_answers_and_flat_memory(web_server_process):
    from qa.soak import soak

    proc, url = web_server_process
    lines = []
    result = soak(url, proc.pid, QUESTIONS, CALLERS, EVERY, print_fn=lines.append)
    print("\n" + "\n".join(lines))
    assert result.errors == []
    assert result.wrong == 0  # every answer under load is the one the question gets alone
    assert [c.answered for c in result.checkpoints] == [200, 400, 600, 800]
    assert result.memory_growth < 0.25  # loose floor; the full soak's figure is in the README
