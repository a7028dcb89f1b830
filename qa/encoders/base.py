"""The encoder interface every embedding backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


class EncoderError(RuntimeError):
    """The model could not be loaded; the message says which and why."""


@runtime_checkable
class Encoder(Protocol):
    name: str
    dim: int
    #: Names of other encoders whose vectors this one reproduces (cosine ≥ 0.9999): an index
    #: they built is reused without re-embedding.
    compatible: frozenset[str]

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


def normalise(vectors: np.ndarray) -> np.ndarray:
    """L2-normalised float32 rows (inner product = cosine)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
