"""Build multilingual-e5-small as an ONNX graph from the packaged weights (no torch).

The graph takes the summed input embeddings ``[batch, seq, hidden]`` (word + position +
type, looked up in numpy so the 250k-row word table stays 4-bit) and a 0/1 mask, and
returns mean-pooled hidden states ``[batch, hidden]``. Each BERT layer is written with
ONNX Runtime's fused CPU operators (``Attention``, ``SkipLayerNormalization``, ``BiasGelu``
from the ``com.microsoft`` domain): the same arithmetic as the reference, fewer passes over
memory.
"""

from __future__ import annotations

import numpy as np

from .e5_weights import E5Weights

MS = "com.microsoft"
OPSET = 17


def build_graph(weights: E5Weights, head: str = "pool"):
    """The float32 model as an ``onnx.ModelProto``. ``head``: "pool" returns mean-pooled states
    (the encoder); "span" returns start/end logits per token ``[batch, seq, 2]`` from the
    tensors ``head.w`` ``[2, hidden]`` and ``head.b`` (the span reader, :mod:`qa.reader`)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    cfg = weights.config
    inits: list = []
    nodes: list = []

    def const(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def linear_t(name: str) -> str:  # stored [out, in]; MatMul wants [in, out]
        return const(name, weights.tensor(name).T)

    def add_norm(out: str, value: str, residual: str, norm: str, bias: str) -> None:
        """out = LayerNorm(value + bias + residual), one fused operator."""
        nodes.append(helper.make_node("SkipLayerNormalization", [value, residual, const(norm + ".w", weights.tensor(norm + ".w")),
                                      const(norm + ".b", weights.tensor(norm + ".b")), const(bias, weights.tensor(bias))],
                                      [out], domain=MS, epsilon=cfg.eps))

    x = "embeddings"
    nodes.append(helper.make_node("Cast", ["mask"], ["mask_i32"], to=TensorProto.INT32))
    nodes.append(helper.make_node("LayerNormalization", [x, const("emb.ln.w", weights.tensor("emb.ln.w")),
                                  const("emb.ln.b", weights.tensor("emb.ln.b"))], ["h0"], axis=-1, epsilon=cfg.eps))
    x = "h0"
    for layer in range(cfg.layers):
        p = f"l{layer}."
        qkv_w = np.concatenate([weights.tensor(p + n + ".w").T for n in ("q", "k", "v")], axis=1)
        qkv_b = np.concatenate([weights.tensor(p + n + ".b") for n in ("q", "k", "v")])
        nodes.append(helper.make_node("Attention", [x, const(p + "qkv.w", qkv_w), const(p + "qkv.b", qkv_b), "mask_i32"],
                                      [p + "ctx"], domain=MS, num_heads=cfg.heads))
        nodes.append(helper.make_node("MatMul", [p + "ctx", linear_t(p + "ao.w")], [p + "ao"]))
        add_norm(p + "h1", p + "ao", x, p + "aln", p + "ao.b")
        nodes.append(helper.make_node("MatMul", [p + "h1", linear_t(p + "fi.w")], [p + "fi"]))
        nodes.append(helper.make_node("BiasGelu", [p + "fi", const(p + "fi.b", weights.tensor(p + "fi.b"))], [p + "gelu"],
                                      domain=MS))
        nodes.append(helper.make_node("MatMul", [p + "gelu", linear_t(p + "fo.w")], [p + "fo"]))
        add_norm(p + "out", p + "fo", p + "h1", p + "oln", p + "fo.b")
        x = p + "out"
    if head == "span":
        nodes.append(helper.make_node("MatMul", [x, linear_t("head.w")], ["head"]))
        nodes.append(helper.make_node("Add", ["head", const("head.b", weights.tensor("head.b"))], ["logits"]))
        output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", 2])
    else:
        _mean_pool(nodes, inits, x)
        output = helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", cfg.hidden])
    graph = helper.make_graph(
        nodes, "multilingual-e5-small" if head == "pool" else "multilingual-e5-small-reader",
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "seq", cfg.hidden]),
         helper.make_tensor_value_info("mask", TensorProto.INT64, ["batch", "seq"])],
        [output],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)],
                              producer_name="qa-zh")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _mean_pool(nodes: list, inits: list, hidden: str) -> None:
    """pooled = Σ hidden·mask / Σ mask over the sequence axis."""
    from onnx import TensorProto, helper, numpy_helper

    inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis1"))
    inits.append(numpy_helper.from_array(np.array([2], np.int64), "axis2"))
    nodes += [
        helper.make_node("Cast", ["mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "axis2"], ["mask3"]),
        helper.make_node("Mul", [hidden, "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask_f", "axis1"], ["count"], keepdims=1),
        helper.make_node("Div", ["summed", "count"], ["pooled"]),
    ]
