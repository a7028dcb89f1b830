"""Load test: 8 concurrent gradio_client callers against the running app on loopback."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from qa.evaluation import contains_any
from tests.conftest import SEED_QUESTIONS

pytestmark = pytest.mark.slow
CALLERS, QUESTIONS = 8, 56


def test_concurrent_callers_all_get_correct_answers(web_server):
    from gradio_client import Client

    items = [json.loads(line) for line in SEED_QUESTIONS.read_text("utf-8").splitlines()]
    # Questions the assistant answers correctly alone; under load they must stay correct.
    pool = [i for i in items if i["id"] in {"wz-01", "wz-04", "wz-06", "wz-10", "wz-11", "wz-13", "xz-01",
                                             "xz-04", "xz-06", "fd-01", "fd-02", "fd-03", "th-02", "jx-04"}]
    work = [pool[i % len(pool)] for i in range(QUESTIONS)]
    # One client per caller thread, as qa/soak.py does: a Client is not safe to share between
    # threads, and items i and i + 8 could run at once on one client (a CancelledError in CI).
    local = threading.local()

    def call(item):
        if not hasattr(local, "client"):
            local.client = Client(web_server, verbose=False)
        started = time.perf_counter()
        result = local.client.predict(item["question"], 5, "hybrid", api_name="/ask")
        return item, result, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(CALLERS) as executor:
        results = list(executor.map(call, work, timeout=300))
    wall = time.perf_counter() - started
    latencies = sorted(seconds * 1000 for _, _, seconds in results)
    p50, p95 = latencies[len(latencies) // 2], latencies[int(0.95 * len(latencies)) - 1]
    print(f"\nload: {len(results)} questions, {CALLERS} callers, {wall:.1f} s, "
          f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, {len(results) / wall:.1f} q/s")
    wrong = [(i["question"], r["answer"]) for i, r, _ in results if r["abstained"] or not contains_any(r["answer"], i["answers"])]
    assert wrong == []
    assert all(set(r) >= {"question", "answer", "abstained", "passages"} for _, r, _ in results)


def test_fuzzed_api_calls_get_an_answer_or_a_clean_error(web_server):
    """Odd questions, top-k and modes through the /ask endpoint: an answer object or a Gradio
    error with a message, and the server keeps answering afterwards."""
    import random

    from gradio_client import Client
    from gradio_client.exceptions import AppError

    rng = random.Random(7)
    alphabet = "温州后进支部转化多少个谁？ <script>&\"'\\\x00\u200b\ufeff臺灣🙂𠀀%{}"
    client = Client(web_server, verbose=False)
    calls = [("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))), 5, "hybrid") for _ in range(20)]
    calls += [("温州后进支部转化了多少个", 0, "hybrid"), ("温州后进支部转化了多少个", 10_000, "bm25"),
              ("温州后进支部转化了多少个", 5, "nonsense"), ("", 5, "dense"), ("x" * 50_000, 5, "hybrid")]
    for question, top_k, mode in calls:
        try:
            result = client.predict(question, top_k, mode, api_name="/ask")
        except AppError as exc:
            assert str(exc).strip(), (question, top_k, mode)
            continue
        assert set(result) >= {"question", "answer", "abstained", "passages"}
    result = client.predict("温州后进支部转化了多少个", 5, "hybrid", api_name="/ask")
    assert result["answer"] == "581个"
