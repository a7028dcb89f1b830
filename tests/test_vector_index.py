import numpy as np

from qa.vector_index import VectorIndex


def test_exact_cosine_search_and_round_trip(tmp_path):
    vectors = np.eye(4, dtype=np.float32)
    index = VectorIndex.build(vectors)
    hits = index.search(np.array([[0, 0.8, 0.6, 0]], np.float32), k=2)[0]
    assert [row for row, _ in hits] == [1, 2]
    index.save(tmp_path / "v.faiss")
    again = VectorIndex.load(tmp_path / "v.faiss")
    assert again.size == 4 and np.allclose(again.vectors(), vectors)
