import numpy as np
import pytest

from qa import scale_bench
from qa.config import EncoderSettings, Settings
from qa.scale_bench import SentencePool, synthetic, synthetic_queries


def clustered_pool(texts: int = 30, per_text: int = 6, dim: int = 32, seed: int = 0) -> SentencePool:
    """Sentences whose vectors cluster by the text they come from, as real ones do."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((texts, dim))
    sources = np.repeat(np.arange(texts), per_text)
    vectors = centres[sources] + 0.3 * rng.standard_normal((len(sources), dim))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    sentences = [f"text {s} sentence {i}" for i, s in enumerate(sources)]
    return SentencePool(sentences, sources, [s.split() for s in sentences], vectors, vectors.copy())


def test_a_synthetic_document_recombines_the_sentences_of_one_source_text():
    pool = clustered_pool()
    ids, vectors = synthetic(200, pool)
    assert ids.shape == (200, scale_bench.SENTENCES_PER_PASSAGE) and vectors.shape == (200, 32)
    documents = pool.sources[ids].reshape(10, -1)  # 20 passages a document
    assert all(len(set(row)) == 1 for row in documents.tolist())
    assert len(set(documents[:, 0].tolist())) > 3  # documents draw different texts
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_more_noise_moves_vectors_further_from_their_sentences():
    pool = clustered_pool()
    cosines = []
    for noise in (0.0, 0.2, 0.6):
        ids, vectors = synthetic(400, pool, noise=noise)
        mixed = pool.passage_vectors[ids].sum(1)
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        cosines.append(float(np.mean((mixed * vectors).sum(1))))
    assert cosines[0] > 0.98 and cosines[0] > cosines[1] > cosines[2]
    asked, queries = synthetic_queries(pool, 50, noise=0.0)
    assert np.allclose(queries, pool.query_vectors[asked], atol=1e-5)


def test_pool_vectors_are_embedded_once_and_then_read_from_the_cache(tmp_path, monkeypatch):
    calls = []

    class Encoder:
        def encode_passages(self, texts):
            calls.append(len(texts))
            return np.ones((len(texts), 4), np.float32)

        def encode_queries(self, texts):
            return np.zeros((len(texts), 4), np.float32)

    monkeypatch.setattr("qa.encoders.load_encoder", lambda *_a, **_k: Encoder())
    settings = Settings(encoder=EncoderSettings(cache_dir=tmp_path))
    first = scale_bench._pool_vectors(settings, "seeds", ["一句话。", "另一句话。"])
    again = scale_bench._pool_vectors(settings, "seeds", ["一句话。", "另一句话。"])
    other = scale_bench._pool_vectors(settings, "seeds", ["别的句子。"])
    assert calls == [2, 1] and np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert other[0].shape == (1, 4) and not list(tmp_path.glob("*.partial*"))


def test_an_unknown_pool_is_refused():
    with pytest.raises(ValueError, match="unknown sentence pool"):
        scale_bench.sentence_pool(Settings(), "everything")


def test_every_synthetic_passage_keeps_its_own_vector_when_sentences_repeat():
    from qa.store import embed_text

    pool = clustered_pool(texts=2, per_text=3)  # few sentences: many passages repeat a combination
    ids, _ = synthetic(200, pool)
    assert len({tuple(row) for row in ids.tolist()}) < 200
    corpus = scale_bench.synthetic_corpus(200, ids, pool)
    assert len({embed_text(c) for c in corpus.chunks}) == 200
    assert corpus.tokens[0] == [t for s in ids[0] for t in pool.tokens[s]]
