import json
import subprocess
import sys

import pytest

from qa.config import Settings, VectorIndexSettings
from qa.scale_bench import bench_scale
from qa.store import read_documents, read_manifest

SCALE_KEYS = {"n", "vector_index", "vector_recall_at_10", "vector_p50_ms", "hybrid_p50_ms", "open_s", "add_one_doc_s",
              "peak_rss_mb", "ask_s", "ask_peak_rss_mb"}


@pytest.mark.slow
def test_scale_bench_uses_ivf_pq_past_the_exact_limit_and_keeps_recall(tmp_path):
    settings = Settings(vector_index=VectorIndexSettings(exact_max=1000))
    result = bench_scale(3000, settings, tmp_path / "index")
    assert SCALE_KEYS <= result.keys() and result["n"] == 3000
    assert result["vector_index"] == "ivf-pq" and result["vector_recall_at_10"] >= 0.95
    # The calibration's kind of query, fresh: near what the build measured on its own.
    assert result["moved_recall_at_10"] >= result["calibration_recall_at_10"] - 0.05
    assert result["open_s"] < 30 and result["hybrid_p50_ms"] > 0
    layout = read_documents(tmp_path / "index" / read_manifest(tmp_path / "index")["generation"])
    assert result["add_one_doc_s"] > 0 and "added-document" in {d.doc_id for d in layout}  # really added, and timed
    assert result["ask_s"] > 0 and result["ask_peak_rss_mb"] > 50  # a real one-shot qa ask on that index


@pytest.mark.slow
def test_bench_json_on_the_seed_corpus(tmp_path):
    out = subprocess.run([sys.executable, "-m", "qa.cli", "bench", "--questions-limit", "5", "--out", str(tmp_path),
                          "--json"], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    keys = {"corpus", "passages", "index_passages_per_s", "cold_ask_s", "query_p50_ms", "query_p95_ms", "peak_rss_mb",
            "index_mb", "scale"}
    assert keys <= result.keys() and result["scale"] is None
    assert result["passages"] > 50 and result["index_passages_per_s"] > 0 and 0 < result["cold_ask_s"] < 30
    assert (tmp_path / "bench-seeds.json").exists() and (tmp_path / "bench-seeds.md").exists()
