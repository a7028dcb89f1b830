from pathlib import Path

import numpy as np
import pytest

from qa.config import VectorIndexSettings
from qa.vector_index import VectorIndex


def test_exact_cosine_search_and_round_trip(tmp_path):
    vectors = np.eye(4, dtype=np.float32)
    index = VectorIndex.build(vectors)
    assert index.info == {"kind": "flat"}
    hits = index.search(np.array([[0, 0.8, 0.6, 0]], np.float32), k=2)[0]
    assert [row for row, _ in hits] == [1, 2]
    index.save(tmp_path / "v.faiss")
    again = VectorIndex.load(tmp_path / "v.faiss")
    assert again.size == 4 and np.allclose(again.vectors(), vectors)


def clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Points around the same 50 centres; ``seed`` picks fresh points, not fresh centres."""
    centres = np.random.default_rng(0).normal(size=(50, dim))
    rng = np.random.default_rng(seed + 1)
    x = (centres[rng.integers(0, 50, n)] + rng.normal(size=(n, dim))).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["ivf", "ivf-pq", "hnsw"])
def test_approximate_index_is_calibrated_to_the_recall_target(tmp_path, kind):
    vectors = clustered(6000)
    index = VectorIndex.build(vectors, VectorIndexSettings(kind=kind, target_recall=0.98))
    assert index.info["kind"] == kind and index.info["recall_at_10"] >= 0.98
    # Measured again on fresh queries from the same distribution, against exact search.
    import faiss

    queries = clustered(200, seed=5)
    _, truth = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    found = [[r for r, _ in hits] for hits in index.search(queries, 10)]
    assert np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)]) >= 0.95
    index.save(tmp_path / "v.faiss")
    again = VectorIndex.load(tmp_path / "v.faiss", index.info)
    assert again.info == index.info and again.search(queries[:3], 10) == index.search(queries[:3], 10)
    # After loading, the search breadth is the one the manifest records.
    breadth = faiss.extract_index_ivf(again._index).nprobe if kind != "hnsw" else again._index.hnsw.efSearch
    assert breadth == index.info["nprobe" if kind != "hnsw" else "ef_search"]
    assert np.allclose(again.vectors()[:5], vectors[:5], atol=1e-6)


def _calibration_recall(index: VectorIndex, vectors: np.ndarray, nprobe: int) -> float:
    import faiss

    from qa.vector_index import calibration_queries, recall_at_k

    queries = calibration_queries(vectors, VectorIndexSettings().calibration_queries)
    _, truth = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    probed = VectorIndex(index._index, {**index.info, "nprobe": nprobe})
    return recall_at_k([[r for r, _ in hits] for hits in probed.search(queries, 10)], truth)


def test_calibration_takes_the_smallest_breadth_not_the_next_power_of_two():
    vectors = clustered(6000)
    index = VectorIndex.build(vectors, VectorIndexSettings(kind="ivf", target_recall=0.98))
    nprobe = index.info["nprobe"]
    assert index.info["recall_goal"] == 0.98
    # IVF-Flat's recall only grows with the lists probed, and below 16 lists the bisection is
    # exact: one fewer must miss the target.
    assert _calibration_recall(index, vectors, nprobe) >= 0.98 > _calibration_recall(index, vectors, nprobe - 1)


def test_calibration_settles_at_the_floor_where_the_target_is_out_of_reach():
    vectors = clustered(6000)
    settings = VectorIndexSettings(kind="ivf", target_recall=1.0, recall_floor=0.95, ivf_scan_max=320)  # 8 of 153 lists
    index = VectorIndex.build(vectors, settings)
    nprobe = index.info["nprobe"]
    assert index.info["recall_goal"] == 0.95 and nprobe < 8  # not the widest probe allowed
    assert index.info["recall_at_10"] >= 0.95 > _calibration_recall(index, vectors, nprobe - 1)


def test_auto_chooses_exact_search_for_small_corpora_and_ivf_beyond():
    small = VectorIndex.build(clustered(500), VectorIndexSettings(exact_max=1000))
    large = VectorIndex.build(clustered(3000), VectorIndexSettings(exact_max=1000))
    assert small.info["kind"] == "flat" and large.info["kind"] == "ivf-pq" and large.info["nlist"] >= 1
    assert large.info["refine"] == VectorIndexSettings().pq_refine


def test_ivf_pq_rescores_its_candidates_exactly_whatever_k():
    """The codes only shortlist: the scores returned are exact inner products, and as many
    candidates are re-scored for k = 50 as for k = 10, so the top 10 agree."""
    vectors = clustered(3000)
    index = VectorIndex.build(vectors, VectorIndexSettings(kind="ivf-pq", pq_refine=200))
    queries = clustered(20, seed=3)
    for hits, query in zip(index.search(queries, 50), queries):
        rows = [r for r, _ in hits]
        assert np.allclose([s for _, s in hits], vectors[rows] @ query, atol=1e-5)
    assert [h[:10] for h in index.search(queries, 50)] == index.search(queries, 10)
    odd = VectorIndex.build(clustered(3000, dim=63), VectorIndexSettings(kind="ivf-pq"))
    assert odd.info["kind"] == "ivf"  # 4-bit codes pair dimensions: an odd one gets IVF-Flat


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown vector index kind"):
        VectorIndex.build(clustered(10), VectorIndexSettings(kind="lsh"))


def test_auto_builds_hnsw_when_ivf_cannot_reach_the_target():
    vectors = clustered(6000)
    # One list probed at most: IVF cannot reach 0.98 on these crowded points, HNSW can.
    settings = VectorIndexSettings(exact_max=1000, ivf_scan_max=40, target_recall=0.985, recall_floor=0.98)
    index = VectorIndex.build(vectors, settings)
    assert index.info["kind"] == "hnsw" and index.info["recall_at_10"] >= 0.98
    assert index.info["instead_of"]["kind"] == "ivf-pq" and index.info["instead_of"]["recall_at_10"] < 0.98


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("kind", ["flat", "ivf", "ivf-pq"])
def test_load_maps_the_file_instead_of_copying_it(tmp_path, kind):
    vectors = clustered(3000)
    index = VectorIndex.build(vectors, VectorIndexSettings(kind=kind))
    index.save(tmp_path / "v.faiss")
    mapped = VectorIndex.load(tmp_path / "v.faiss", index.info)
    assert str(tmp_path / "v.faiss") in Path("/proc/self/maps").read_text()
    copied = VectorIndex.load(tmp_path / "v.faiss", index.info, mmap=False)
    queries = clustered(20, seed=7)
    assert mapped.search(queries, 10) == copied.search(queries, 10) == index.search(queries, 10)
