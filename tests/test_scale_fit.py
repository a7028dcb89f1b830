import numpy as np

from qa.scale_fit import HNSW_EF, IVF_NPROBE, Difficulty, _choice, difficulty, markdown


def test_difficulty_measures_recall_curves_that_fall_as_the_data_loses_structure():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((40, 48))
    clustered = centres[rng.integers(0, 40, 2000)] + 0.25 * rng.standard_normal((2000, 48))
    uniform = rng.standard_normal((2000, 48))
    rows = []
    for vectors in (clustered, uniform):
        vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
        queries = vectors[:100] + 0.1 * rng.standard_normal((100, 48)).astype(np.float32)
        rows.append(difficulty("x", vectors, queries / np.linalg.norm(queries, axis=1, keepdims=True)))
    easy, hard = rows
    assert list(easy.recall) == [f"hnsw ef {e}" for e in HNSW_EF] + [f"ivf nprobe {p}" for p in IVF_NPROBE]
    assert all(0 <= v <= 1 for v in easy.recall.values())
    assert easy.lid > 0 and hard.lid > 0
    assert easy.recall["ivf nprobe 1"] > hard.recall["ivf nprobe 1"] + 0.3  # clusters are what IVF lists find
    assert easy.recall["hnsw ef 10"] > hard.recall["hnsw ef 10"]
    assert easy.distance(easy) == 0 and easy.distance(hard) > 0


def test_the_choice_is_the_closest_curve_and_the_table_marks_it():
    real = Difficulty("real", 10, 30.0, 0.9, {"hnsw ef 10": 0.8})
    candidates = [Difficulty(f"noise {x}", 10, 40.0, 0.8, {"hnsw ef 10": r}) for x, r in ((0.1, 0.9), (0.2, 0.79))]
    choice = _choice(real, (0.1, 0.2), candidates)
    assert choice["noise"] == 0.2 and [c["distance"] for c in choice["candidates"]] == [0.1, 0.01]
    table = markdown(real.__dict__, choice)
    assert "| **noise 0.2** |" in table and "| noise 0.1 |" in table and table.count("\n") == 4


def test_calibration_queries_get_harder_with_more_noise():
    from qa.vector_index import calibration_queries

    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((500, 16)).astype(np.float32) + 2.0  # a narrow cone, as e5's vectors are
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    near, far = (calibration_queries(vectors, 100, noise, seed=3) for noise in (0.1, 0.8))
    best_near, best_far = (float(np.mean(np.max(q @ vectors.T, axis=1))) for q in (near, far))
    assert best_near > best_far and np.allclose(np.linalg.norm(far, axis=1), 1, atol=1e-5)
