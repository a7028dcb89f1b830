"""Index store: build, save and open the hybrid index, atomically and incrementally.

Layout of an index folder::

    manifest.json          the commit point: names the live generation and its checksums
    g-<time>-<pid>/        one generation: passages.sqlite, documents.json, vectors.faiss, bm25/

A build writes a new generation folder, then replaces ``manifest.json`` with ``os.replace``
(atomic). A crash or Ctrl-C before that leaves the previous manifest pointing at the previous,
intact generation. Vectors of chunks whose text is unchanged are copied from the previous
index, so re-running ``qa index`` only embeds what changed.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from .chunking import chunk
from .cleaning import clean, keep_all
from .config import INDEX_FORMAT, VERIFY_MAX_BYTES, Settings
from .encoders import Encoder
from .hashing import file_stamp, settled_stamp, sha256_file
from .keyword_index import KeywordIndex
from .loading import load
from .passage_store import FILE as PASSAGES_FILE
from .passage_store import open_passages, write_passages
from .readers import ExtractionCache, Readers
from .schema import Chunk, Document, Removed, Skipped
from .segments import DELTA_DIR, Concatenated, DeltaKeyword, SegmentedKeyword, SegmentedVector
from .stores.base import Scored, SearchIndex
from .tokenizer import Tokenizer, corpus_lexicon
from .vector_index import VectorIndex

MANIFEST = "manifest.json"


class StoreError(RuntimeError):
    """Base class: an index cannot be used. The message tells the user what to run."""


class IndexMissing(StoreError):
    pass


class IndexIncompatible(StoreError):
    pass


class IndexDamaged(StoreError):
    pass


class IndexBusy(StoreError):
    """Another writer holds the index folder's lock."""


class NothingToIndex(StoreError):
    pass


class IndexWriteFailed(StoreError):
    """The device refused the new generation (full, over quota, read-only)."""


@dataclass
class DocumentInfo:
    doc_id: str
    title: str
    path: str
    chunks: int
    meta: dict[str, str] = field(default_factory=dict)
    sha: str = ""  # of its passages as stored (document_sha): an unchanged document keeps its rows
    deleted: bool = False  # replaced or removed since its segment was written; its rows are skipped


def document_sha(chunks: Sequence[Chunk]) -> str:
    """What decides whether a document's rows can stay: its passages as they would be stored."""
    digest = hashlib.sha256()
    for c in chunks:
        digest.update(json.dumps([c.title, c.paragraph, c.start, c.end, c.text, c.meta, c.location],
                                 ensure_ascii=False, sort_keys=True).encode())
    return digest.hexdigest()


@dataclass
class HybridIndex(SearchIndex):
    """The local store, opened: chunks with their keyword and vector indexes (same row numbers),
    one segment or a base and a delta (:mod:`qa.segments`)."""

    folder: Path
    manifest: dict
    chunks: Sequence[Chunk]  # fetched from disk by row (passage_store)
    layout: list[DocumentInfo]  # every document's rows in row order, deleted ones included
    keyword: KeywordIndex | SegmentedKeyword
    vector: VectorIndex | SegmentedVector

    @property
    def documents(self) -> list[DocumentInfo]:  # type: ignore[override]
        return [d for d in self.layout if not d.deleted]

    @property
    def terms(self) -> KeywordIndex:
        return self.keyword

    @property
    def size(self) -> int:
        return len(self.chunks)

    def keyword_search(self, tokens: list[str], k: int, doc: str | None = None,
                       exclude: str | None = None) -> Scored:
        hits = self.keyword.search(tokens, k) if doc is None else self.keyword.score_rows(tokens, self.rows_of(doc))[:k]
        return self._without(hits, exclude)

    def vector_search(self, vector: np.ndarray, k: int, doc: str | None = None,
                      exclude: str | None = None) -> Scored:
        hits = self.vector.search(vector[None, :], k)[0] if doc is None else \
            self.vector.score_rows(vector, self.rows_of(doc))[:k]
        return self._without(hits, exclude)

    def _without(self, hits: Scored, exclude: str | None) -> Scored:
        if exclude is None:
            return hits
        gone = self.rows_of(exclude)
        return [(r, v) for r, v in hits if r not in gone]

    def passages(self, rows: list[int]) -> list[Chunk]:
        return [self.chunks[r] for r in rows]

    def iter_passages(self) -> Iterator[Chunk]:
        if all(not d.deleted for d in self.layout):
            return iter(self.chunks)
        live = sorted(r for span in self._document_rows.values() for r in span)
        return (self.chunks[r] for r in live)

    def vectors_by_text(self) -> dict[str, np.ndarray]:
        return dict(zip((embed_text(c) for c in self.chunks), self.vector.vectors()))

    def stats(self) -> dict:
        return {"store": "local", "folder": str(self.folder), "passages": self.size,
                "documents": len(self.documents), "vector_index": self.vector.info}

    def rows_of(self, doc_id: str) -> range:
        """Row numbers of one document's passages (a build writes each document's rows together)."""
        try:
            return self._document_rows[doc_id]
        except KeyError:
            raise KeyError(f"no indexed document named '{doc_id}'") from None

    @cached_property
    def _document_rows(self) -> dict[str, range]:
        rows, start = {}, 0
        for info in self.layout:
            if not info.deleted:
                rows[info.doc_id] = range(start, start + info.chunks)
            start += info.chunks
        return rows

    def close(self) -> None:
        if hasattr(self.chunks, "close"):
            self.chunks.close()


@dataclass
class BuildReport:
    documents: int
    chunks: int
    embedded: int
    reused: int
    skipped: list[Skipped]
    seconds: float
    folder: Path
    embed_seconds: float = 0.0
    vector_index: dict = field(default_factory=dict)
    removed: Removed = field(default_factory=Removed)  # all documents together
    lossy: list[tuple[str, Removed]] = field(default_factory=list)  # documents over the report share

    def to_json(self) -> dict:
        return {"documents": self.documents, "passages": self.chunks, "embedded": self.embedded, "reused": self.reused,
                "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
                "removed": {"chars": self.removed.chars, "lines": self.removed.lines,
                            "total_chars": self.removed.total_chars},
                "lossy": [{"doc": d, "removed_chars": r.chars, "total_chars": r.total_chars} for d, r in self.lossy],
                "seconds": round(self.seconds, 3),
                "embed_seconds": round(self.embed_seconds, 3), "vector_index": self.vector_index, "folder": str(self.folder)}


def embed_text(c: Chunk) -> str:
    """What the encoder sees: the title gives each passage its document's topic."""
    return c.text if c.paragraph == 0 else f"{c.title}\n{c.text}"


def keyword_text(c: Chunk) -> str:
    return c.text if c.paragraph == 0 else f"{c.title} {c.text}"


def _files_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def fingerprint(files: Iterable[tuple[str, str]], settings: Settings) -> str:
    """Identity of a corpus as indexed: file names and contents plus chunking settings."""
    knobs = {**settings.chunking.as_dict(), **settings.cleaning.as_dict()}
    digest = hashlib.sha256(json.dumps(knobs, sort_keys=True).encode())
    for name, sha in sorted(files):
        digest.update(f"{name}\0{sha}\n".encode())
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.exists():
        raise IndexMissing(f"no index in {folder}: run `qa index` first")
    try:
        manifest = json.loads(path.read_text("utf-8"))
        manifest["generation"], manifest["encoder"]["name"]  # noqa: B018 - shape check
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexDamaged(f"the index manifest {path} is damaged ({exc}): run `qa index` to rebuild") from exc
    if manifest.get("format") != INDEX_FORMAT:
        raise IndexIncompatible(
            f"the index in {folder} has format {manifest.get('format')}, this version reads format "
            f"{INDEX_FORMAT}: run `qa index` to rebuild it"
        )
    return manifest


def resolve_store(settings: Settings) -> Settings:
    """``store.kind`` "auto" becomes the store the index folder already uses (so `qa index` and
    uploads keep a Milvus index in Milvus), or local for a new folder."""
    if settings.store.kind != "auto":
        return settings
    try:
        manifest = read_manifest(settings.index_dir)
    except StoreError:
        return replace(settings, store=replace(settings.store, kind="local"))
    if store_kind(manifest) != "milvus":
        return replace(settings, store=replace(settings.store, kind="local"))
    kept = manifest["store"]
    return replace(settings, store=replace(settings.store, kind="milvus", uri=settings.store.uri or kept["uri"],
                                           collection=kept["collection"], analyzer=kept["analyzer"]))


def store_kind(manifest: dict) -> str:
    """Which store an index folder's manifest names (indexes from before Milvus are local)."""
    return manifest.get("store", {}).get("kind", "local")


#: Opening retries this many times when a rebuild replaced the generation it was opening.
OPEN_RETRIES = 3


def open_index(folder: Path, verify: bool = True) -> HybridIndex:
    """Open the live generation; damaged or mismatched files raise :class:`IndexDamaged`.

    A rebuild may commit, and remove the generation this call read from the manifest, while it
    is being opened: then the files are missing but the manifest names a newer generation, and
    opening starts again on that one instead of calling the index damaged.
    """
    manifest = read_manifest(folder)
    if store_kind(manifest) == "milvus":
        from .stores.milvus import open_milvus

        return open_milvus(folder, manifest, verify)
    for _attempt in range(OPEN_RETRIES):
        try:
            return _open_generation(folder, manifest, verify)
        except IndexDamaged:
            latest = read_manifest(folder)
            if latest["generation"] == manifest["generation"]:
                raise  # nothing moved under us: the index really is damaged
            manifest = latest
    return _open_generation(folder, manifest, verify)


def _open_generation(folder: Path, manifest: dict, verify: bool) -> HybridIndex:
    gen = folder / manifest["generation"]
    try:
        if verify:
            _verify(gen, manifest)
        chunks = open_passages(gen)
        documents = read_documents(gen)
        keyword = KeywordIndex.load(gen / "bm25")
        vector = VectorIndex.load(gen / "vectors.faiss", manifest.get("vector_index"))
        if (gen / DELTA_DIR).is_dir():
            chunks, keyword, vector = _with_delta(gen / DELTA_DIR, documents, chunks, keyword, vector)
    except IndexDamaged as exc:
        raise IndexDamaged(f"{exc}: run `qa index` to rebuild") from exc
    except Exception as exc:  # any parse/IO failure means the same thing to the user
        raise IndexDamaged(f"the index in {folder} is damaged ({exc.__class__.__name__}: {exc}): "
                           "run `qa index` to rebuild") from exc
    if not (len(chunks) == keyword.size == vector.size) or vector.dim != manifest["encoder"]["dim"]:
        raise IndexDamaged(f"the index in {folder} is inconsistent (row counts differ): run `qa index` to rebuild")
    return HybridIndex(folder, manifest, chunks, documents, keyword, vector)


def _with_delta(delta: Path, layout: list[DocumentInfo], chunks, keyword: KeywordIndex, vector: VectorIndex):
    """The base segment's parts joined with the delta's, deleted base rows masked."""
    dead = np.zeros(keyword.size, bool)
    start = 0
    for info in layout:
        if info.deleted and start < keyword.size:
            dead[start : start + info.chunks] = True
        start += info.chunks
    return (Concatenated(chunks, open_passages(delta)),
            SegmentedKeyword(keyword, DeltaKeyword.load(delta), dead),
            SegmentedVector(vector, VectorIndex.load(delta / "vectors.faiss"), dead))


def _verify(gen: Path, manifest: dict) -> None:
    """Sizes always; the sha256 of every file whose stamp is not the one recorded when it was
    written (changed, copied or touched since), while those are small enough to hash at an open.
    Hashing an unchanged 200k-passage index took 0.44 s of every one-shot ``qa ask``."""
    sizes = manifest.get("sizes", {})
    for name, size in sizes.items():
        if not (gen / name).exists() or (gen / name).stat().st_size != size:
            raise IndexDamaged(f"index file {gen / name} is missing or has the wrong size")
    stamps = manifest.get("stamps", {})
    unproven = {name: sha for name, sha in manifest["checksums"].items() if stamps.get(name) != file_stamp(gen / name)}
    if sum(sizes.get(name, 0) for name in unproven) > VERIFY_MAX_BYTES:
        return
    for name, sha in unproven.items():
        if sha256_file(gen / name) != sha:
            raise IndexDamaged(f"index file {gen / name} does not match its checksum")


def previous_vectors(folder: Path, encoder: Encoder) -> dict[str, np.ndarray]:
    """Vectors of the current index keyed by embedded text, when built by the same encoder."""
    try:
        old = open_index(folder, verify=False)
    except StoreError:
        return {}
    same = old.manifest["encoder"]["name"] == encoder.name or old.manifest["encoder"]["name"] in encoder.compatible
    if not same or old.manifest["encoder"]["dim"] != encoder.dim:
        return {}
    return old.vectors_by_text()


def prepare(paths: list[Path], keep_everything: bool = False, readers: Readers | None = None
            ) -> tuple[list[Document], list[Skipped], list[tuple[str, str]]]:
    """Load and clean every file; a file that fails to parse is reported, not fatal."""
    loaded = load(paths, readers)
    documents, skipped = [], list(loaded.skipped)
    cleaner = keep_all if keep_everything else clean
    for raw in loaded.files:
        try:
            doc = cleaner(raw)
        except Exception as exc:  # a parser bug on one page must not stop the rest
            skipped.append(Skipped(raw.path, f"could not parse: {exc}"))
            continue
        if not doc.paragraphs:
            skipped.append(Skipped(raw.path, "no article text found after cleaning"))
            continue
        documents.append(doc)
    return documents, skipped, loaded.fingerprints


def _embed(texts: list[str], encoder: Encoder, batch: int, progress: bool, partial: Path | None = None) -> np.ndarray:
    from tqdm import tqdm

    out = np.zeros((len(texts), encoder.dim), np.float32)
    done: list[int] = []
    # Length-sorted, so each batch pads little; the bar shows passages/s and time left.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    try:
        with tqdm(total=len(texts), desc="embedding", unit="passage", disable=not progress or not texts,
                  smoothing=0.1) as bar:
            for start in range(0, len(texts), batch):
                rows = order[start : start + batch]
                out[rows] = encoder.encode_passages([texts[i] for i in rows])
                done.extend(rows)
                bar.update(len(rows))
    except KeyboardInterrupt:
        if partial is not None and done:  # Ctrl-C: keep what was embedded for the next run
            save_partial(partial, encoder, [texts[i] for i in done], out[done])
        raise
    return out


PARTIAL_FILE = ".partial-embeddings.npz"


def save_partial(path: Path, encoder: Encoder, texts: list[str], vectors: np.ndarray) -> None:
    """Embeddings of an interrupted build (merged with earlier ones), written atomically."""
    kept = {**partial_vectors(path, encoder), **dict(zip(texts, vectors))}
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, encoder=np.array(encoder.name), texts=np.array(list(kept), dtype=str),
             vectors=np.asarray(list(kept.values()), np.float32).reshape(len(kept), encoder.dim))
    os.replace(tmp, path)


def partial_vectors(path: Path, encoder: Encoder) -> dict[str, np.ndarray]:
    """What an interrupted build embedded with this encoder (nothing if unreadable or other)."""
    try:
        with np.load(path) as data:
            if str(data["encoder"]) != encoder.name or data["vectors"].shape[1:] != (encoder.dim,):
                return {}
            return dict(zip(data["texts"].tolist(), data["vectors"]))
    except (OSError, ValueError, KeyError):
        return {}


LOCK_FILE = ".writer.lock"
EXTRACTED_DIR = ".extracted"  # what structured files were read as (qa/readers/cache.py)


@contextmanager
def writer_lock(folder: Path):
    """Hold the index folder's writer lock (an OS file lock: a killed writer releases it)."""
    from filelock import FileLock, Timeout

    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(folder / LOCK_FILE), timeout=0)
        lock.acquire()
    except Timeout as exc:
        raise IndexBusy(f"another `qa index` or upload is writing {folder}: wait for it to finish, "
                        "then run this again") from exc
    except OSError as exc:
        live = " the previous index is still live, unchanged;" if (folder / MANIFEST).exists() else ""
        raise IndexWriteFailed(f"cannot write the index folder {folder} ({exc.strerror or exc}):{live} "
                               f"make it writable or choose another with --index-dir") from exc
    try:
        yield
    finally:
        lock.release()


def build(
    paths: list[Path],
    settings: Settings,
    encoder: Encoder,
    progress: bool = True,
    tokenizer: Tokenizer | None = None,
    on_stage: Callable[[str], None] | None = None,
    readers: Readers | None = None,
) -> BuildReport:
    """Index ``paths`` into ``settings.index_dir``; the old index stays live until the end.

    One writer at a time: a second build on the same folder fails at once with
    :class:`IndexBusy` instead of racing the first to the manifest.
    """
    with writer_lock(settings.index_dir):
        return _build(paths, settings, encoder, progress, tokenizer, on_stage, readers)


def _build(paths: list[Path], settings: Settings, encoder: Encoder, progress: bool,
           tokenizer: Tokenizer | None, on_stage: Callable[[str], None] | None,
           readers: Readers | None) -> BuildReport:
    started = time.perf_counter()
    folder = settings.index_dir
    tokenizer = tokenizer or Tokenizer()
    stage = on_stage or (lambda _msg: None)
    if readers is None:  # a scan read by an earlier build is not OCR'd again
        with Readers(cache=ExtractionCache(folder / EXTRACTED_DIR), limits=settings.read) as own:
            return _build(paths, settings, encoder, progress, tokenizer, on_stage, own)
    settings = resolve_store(settings)
    if settings.store.kind == "milvus":
        from .stores.milvus import write_milvus as write
    elif settings.store.kind == "local":
        write = write_local
    else:
        raise StoreError(f"unknown store '{settings.store.kind}' (choose local or milvus)")
    carry = _carry(paths, settings) if settings.store.kind == "local" else None
    if carry is not None:  # only new and changed files are read; the base keeps the rest
        stage(f"reading {len(carry.fresh)} new or changed files ({len(carry.documents)} unchanged)")
        documents, skipped, _ = prepare(carry.fresh, settings.cleaning.keep_all, readers)
        corpus = Prepared.of(documents, settings, tokenizer, carry.files, paths)
        written = write_local(folder, settings, encoder, corpus, progress, stage, carried=carry.documents) \
            if documents or carry.documents else None
        if written is not None:
            if readers.cache is not None:  # the carried files' extractions stay for the next merge
                for path, sha in carry.paths:
                    readers.cache.keep(path, sha)
            return _report(folder, settings, started, documents, carry.skipped + skipped, written,
                           len(documents) + len(carry.documents), sum(d.chunks for d in carry.documents),
                           prune=readers.cache)
    stage("reading and cleaning documents")
    documents, skipped, files = prepare(paths, settings.cleaning.keep_all, readers)
    if not documents:
        raise NothingToIndex("no documents to index" + (f" ({len(skipped)} files skipped)" if skipped else ""))
    corpus = Prepared.of(documents, settings, tokenizer, files, paths)
    written = write(folder, settings, encoder, corpus, progress, stage)
    return _report(folder, settings, started, documents, skipped, written, len(documents), 0,
                   prune=readers.cache)


def _report(folder: Path, settings: Settings, started: float, documents: list[Document], skipped: list[Skipped],
            written: Written, total_documents: int, carried_chunks: int,
            prune: ExtractionCache | None = None) -> BuildReport:
    (folder / PARTIAL_FILE).unlink(missing_ok=True)  # now in the index itself
    if prune is not None:
        prune.prune()
    chunks = written.passages + carried_chunks
    return BuildReport(total_documents, chunks, written.embedded, chunks - written.embedded, skipped,
                       time.perf_counter() - started, folder, written.embed_seconds, written.vector_index,
                       removed=_total_removed(documents),
                       lossy=[(d.doc_id, d.removed) for d in documents
                              if d.removed.fraction > settings.cleaning.report_fraction])


@dataclass
class Carry:
    """What an incremental build keeps without reading: the base's unchanged documents."""

    documents: list[DocumentInfo]  # in the base segment, file unchanged
    paths: list[tuple[Path, str]]  # their files and the files' sha256
    fresh: list[Path]  # files to read: new, changed, or in the old delta
    files: list[tuple[str, str]]  # (name, sha256) of every file found, for the manifest
    skipped: list[Skipped]  # unsupported file types met while looking


def _carry(paths: list[Path], settings: Settings) -> Carry | None:
    """Split the corpus into files the local base already holds unchanged and files to read;
    None when the previous index cannot take a delta (then everything is read)."""
    from .loading import file_digest, find_files

    try:
        manifest = read_manifest(settings.index_dir)
    except StoreError:
        return None
    if store_kind(manifest) != "local" or manifest.get("chunking") != settings.chunking.as_dict() \
            or manifest.get("cleaning") != settings.cleaning.as_dict():
        return None
    found, skipped = find_files(paths)
    if len({p.name for p in found}) != len(found):
        return None  # two files share a name: the full build reports which
    try:
        layout = read_documents(settings.index_dir / manifest["generation"])
    except (OSError, ValueError, TypeError):
        return None
    base_rows = manifest.get("segments", {}).get("base", sum(d.chunks for d in layout))
    if base_rows < settings.store.delta_min_passages:
        return None
    by_name = {p.name: p for p in found}
    digests = {p.name: file_digest(p) for p in found}
    old_files = manifest.get("files", {})
    carried, start = [], 0
    for info in layout:
        if start < base_rows and not info.deleted and info.sha and info.doc_id in by_name \
                and old_files.get(info.doc_id) == digests[info.doc_id]:
            carried.append(info)
        start += info.chunks
    kept = {d.doc_id for d in carried}
    return Carry(carried, [(by_name[d], digests[d]) for d in kept], [p for p in found if p.name not in kept],
                 [(p.name, digests[p.name]) for p in found], skipped)


@dataclass
class Prepared:
    """A corpus ready for a store: its passages, their keyword tokens and what the manifest records."""

    chunks: list[Chunk]
    infos: list[DocumentInfo]
    tokens: list[list[str]]
    lexicon: tuple[list[str], int] | None
    files: list[tuple[str, str]]
    sources: list[str]

    @classmethod
    def of(cls, documents: list[Document], settings: Settings, tokenizer: Tokenizer,
           files: list[tuple[str, str]], paths: list[Path]) -> Prepared:
        chunks: list[Chunk] = []
        infos: list[DocumentInfo] = []
        for doc in documents:
            doc_chunks = chunk(doc, settings.chunking, first_id=len(chunks))
            chunks.extend(doc_chunks)
            infos.append(DocumentInfo(doc.doc_id, doc.title, doc.path, len(doc_chunks), doc.meta.as_dict()))
        tokens = [tokenizer.tokens(keyword_text(c)) for c in chunks]
        return cls(chunks, infos, tokens, corpus_lexicon([keyword_text(c) for c in chunks]), files,
                   [str(p.resolve()) for p in paths])

    def spans(self) -> list[range]:
        """Each document's rows, in order."""
        spans, start = [], 0
        for info in self.infos:
            spans.append(range(start, start + info.chunks))
            start += info.chunks
        return spans

    def manifest(self, encoder: Encoder, settings: Settings, vector_info: dict) -> dict:
        return make_manifest(encoder.name, encoder.dim, settings, vector_info, files=self.files,
                             corpus_fingerprint=fingerprint(self.files, settings), sources=self.sources,
                             lexicon_total=self.lexicon[1] if self.lexicon else None)


@dataclass
class Written:
    embedded: int
    embed_seconds: float
    vector_index: dict
    passages: int = 0  # written by this build (a delta build: only the delta's)


def embed_missing(texts: list[str], cache: dict[str, np.ndarray], encoder: Encoder, settings: Settings,
                  progress: bool, partial: Path, stage: Callable[[str], None]) -> tuple[np.ndarray, int, float]:
    """Vectors for ``texts``: from ``cache`` where it has them, embedded otherwise.
    Returns (vectors, how many were embedded, seconds embedding took)."""
    cache = {**partial_vectors(partial, encoder), **cache}
    todo = [i for i, t in enumerate(texts) if t not in cache]
    stage(f"embedding {len(todo)} of {len(texts)} passages")
    started = time.perf_counter()
    fresh = _embed([texts[i] for i in todo], encoder, settings.batch_size, progress, partial)
    seconds = time.perf_counter() - started
    vectors = np.zeros((len(texts), encoder.dim), np.float32)
    for i, text in enumerate(texts):
        if text in cache:
            vectors[i] = cache[text]
    vectors[todo] = fresh
    return vectors, len(todo), seconds


def write_local(folder: Path, settings: Settings, encoder: Encoder, corpus: Prepared, progress: bool,
                stage: Callable[[str], None], known_vectors: dict[str, np.ndarray] | None = None,
                carried: Sequence[DocumentInfo] = ()) -> Written | None:
    """The local store: passages in SQLite, bm25s and FAISS files, one new generation folder;
    only a delta segment beside the previous base when little changed (:mod:`qa.segments`).
    ``known_vectors`` (embedded text → vector) spares the encoder those texts. ``carried``: base
    documents that were not read again because their files are unchanged; ``corpus`` is then
    only the rest, and None is returned when the change is too large for a delta (read it all)."""
    infos = [replace(info, sha=document_sha(corpus.chunks[span.start : span.stop]))
             for info, span in zip(corpus.infos, corpus.spans())]
    plan = _delta_plan(folder, settings, encoder, corpus, infos, carried)
    if plan is None and carried:
        return None
    if plan is not None:
        try:
            return _write_delta(folder, settings, encoder, corpus, infos, plan, progress, stage, known_vectors or {})
        finally:
            plan.old.close()
    texts = [embed_text(c) for c in corpus.chunks]
    cache = {**previous_vectors(folder, encoder), **(known_vectors or {})}
    vectors, embedded, seconds = embed_missing(texts, cache, encoder, settings, progress, folder / PARTIAL_FILE, stage)
    stage("building the keyword index")
    keyword = KeywordIndex.build(corpus.tokens)
    stage("building the vector index")
    vector = VectorIndex.build(vectors, settings.vector_index)
    _commit(folder, corpus.manifest(encoder, settings, vector.info), corpus.chunks, infos, keyword, vector,
            corpus.lexicon[0] if corpus.lexicon else None)
    return Written(embedded, seconds, vector.info, len(corpus.chunks))


@dataclass
class DeltaPlan:
    """An incremental build: the previous index, its base documents (newly deleted ones marked)
    and which of the corpus's documents make up the new delta."""

    old: HybridIndex
    base_layout: list[DocumentInfo]
    delta: list[int]  # indexes into the corpus's documents
    base_rows: int


def _delta_plan(folder: Path, settings: Settings, encoder: Encoder, corpus: Prepared,
                infos: list[DocumentInfo], carried: Sequence[DocumentInfo]) -> DeltaPlan | None:
    """A delta plan when the previous local index is compatible and little changed, else None."""
    if len(corpus.chunks) + sum(d.chunks for d in carried) < settings.store.delta_min_passages:
        return None
    try:
        old = open_index(folder, verify=False)
    except StoreError:
        return None
    base = old.keyword.base if isinstance(old, HybridIndex) and isinstance(old.keyword, SegmentedKeyword) else \
        getattr(old, "keyword", None)
    if not isinstance(old, HybridIndex) or base is None or base.avgdl is None \
            or old.manifest["encoder"] != {"name": encoder.name, "dim": encoder.dim} \
            or old.manifest["chunking"] != settings.chunking.as_dict() or any(not d.sha for d in old.layout):
        old.close()
        return None
    new_sha = {info.doc_id: info.sha for info in (*carried, *infos)}
    base_layout, delta_kept, start = [], [], 0
    for info in old.layout:
        keep = not info.deleted and new_sha.get(info.doc_id) == info.sha
        if start < base.size:
            base_layout.append(replace(info, deleted=not keep))
        elif keep:
            delta_kept.append(info.doc_id)
        start += info.chunks
    kept = {d.doc_id for d in base_layout if not d.deleted} | set(delta_kept)
    position = {info.doc_id: i for i, info in enumerate(infos)}
    delta = [position[d] for d in delta_kept] + [i for i, info in enumerate(infos) if info.doc_id not in kept]
    changed = sum(infos[i].chunks for i in delta) + sum(d.chunks for d in base_layout if d.deleted)
    if changed > settings.store.delta_max_share * base.size:
        old.close()
        return None  # merge: one base again
    return DeltaPlan(old, base_layout, delta, base.size)


def _write_delta(folder: Path, settings: Settings, encoder: Encoder, corpus: Prepared, infos: list[DocumentInfo],
                 plan: DeltaPlan, progress: bool, stage: Callable[[str], None],
                 known_vectors: dict[str, np.ndarray]) -> Written:
    """A new generation of hard links to the base's files, plus the delta written afresh."""
    old = plan.old
    spans = corpus.spans()
    rows = [r for d in plan.delta for r in spans[d]]
    chunks = [replace(corpus.chunks[r], chunk_id=plan.base_rows + n) for n, r in enumerate(rows)]
    texts = [embed_text(c) for c in chunks]
    cache = dict(known_vectors)
    if isinstance(old.vector, SegmentedVector):  # the old delta's documents that stay keep their vectors
        old_delta = old.chunks.delta if isinstance(old.chunks, Concatenated) else []
        cache.update(zip((embed_text(c) for c in old_delta), old.vector.delta.vectors()))
    vectors, embedded, seconds = embed_missing(texts, cache, encoder, settings, progress, folder / PARTIAL_FILE, stage)
    stage(f"writing a delta of {len(chunks)} passages beside the base of {plan.base_rows}")
    base_kw = old.keyword.base if isinstance(old.keyword, SegmentedKeyword) else old.keyword
    keyword = DeltaKeyword.build([corpus.tokens[r] for r in rows], base_kw, base_kw.avgdl)
    vector = VectorIndex.build(vectors, replace(settings.vector_index, kind="flat"))
    layout = plan.base_layout + [infos[d] for d in plan.delta]
    old_gen = folder / old.manifest["generation"]
    base_files = [p.relative_to(old_gen) for p in _files_of(old_gen)
                  if p.relative_to(old_gen).parts[0] in (PASSAGES_FILE, "bm25", "vectors.faiss", "lexicon.txt")]
    linked = {str(n): (old.manifest["checksums"][str(n)], old.manifest["sizes"][str(n)]) for n in base_files}
    base_info = old.manifest["vector_index"]
    manifest = {**corpus.manifest(encoder, settings, base_info), "lexicon_total": old.manifest.get("lexicon_total"),
                "segments": {"base": plan.base_rows, "delta": len(chunks),
                             "deleted": sum(d.chunks for d in plan.base_layout if d.deleted)}}

    def write(gen: Path) -> None:
        for name in base_files:
            _link(old_gen / name, gen / name)
        (gen / DELTA_DIR).mkdir()
        write_passages(gen / DELTA_DIR / PASSAGES_FILE, chunks)
        keyword.save(gen / DELTA_DIR)
        vector.save(gen / DELTA_DIR / "vectors.faiss")
        write_documents(gen, layout, None)

    commit_generation(folder, manifest, write, linked)
    return Written(embedded, seconds, {**base_info, "delta_passages": len(chunks)}, len(corpus.chunks))


def _link(source: Path, target: Path) -> None:
    """A hard link (no bytes copied; the old generation's removal leaves the data); a copy where
    the filesystem has no hard links."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError as exc:
        if _no_room(exc, target.parent):
            raise
        shutil.copy2(source, target)


def _total_removed(documents: list[Document]) -> Removed:
    return Removed(sum(d.removed.chars for d in documents), sum(d.removed.lines for d in documents),
                   sum(d.removed.total_chars for d in documents))


def make_manifest(encoder_name: str, dim: int, settings: Settings, vector_info: dict, *,
                  files: list[tuple[str, str]], corpus_fingerprint: str, sources: list[str],
                  lexicon_total: int | None) -> dict:
    """What an index records about how it was built (``_commit`` adds generation, sizes, checksums)."""
    return {
        "format": INDEX_FORMAT,
        "encoder": {"name": encoder_name, "dim": dim},
        "chunking": settings.chunking.as_dict(),
        "cleaning": settings.cleaning.as_dict(),
        "fingerprint": corpus_fingerprint,
        "sources": sources,
        "files": dict(files),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "lexicon_total": lexicon_total,
        "vector_index": vector_info,
    }


def _commit(folder: Path, manifest: dict, chunks: list[Chunk], infos: list[DocumentInfo],
            keyword: KeywordIndex, vector: VectorIndex, lexicon: list[str] | None) -> None:
    def write(gen: Path) -> None:
        write_passages(gen / PASSAGES_FILE, chunks)
        write_documents(gen, infos, lexicon)
        keyword.save(gen / "bm25")
        vector.save(gen / "vectors.faiss")

    commit_generation(folder, manifest, write)


DOCUMENTS_FILE = "documents.json"


def read_documents(gen: Path) -> list[DocumentInfo]:
    return [DocumentInfo(**d) for d in json.loads((gen / DOCUMENTS_FILE).read_text("utf-8"))]


def write_documents(gen: Path, infos: list[DocumentInfo], lexicon: list[str] | None) -> None:
    """What every store keeps in its generation folder: the document list and the corpus lexicon."""
    (gen / DOCUMENTS_FILE).write_text(
        json.dumps([i.__dict__ for i in infos], ensure_ascii=False, indent=1), "utf-8")
    if lexicon is not None:
        (gen / "lexicon.txt").write_text("\n".join(lexicon) + "\n", "utf-8")


def commit_generation(folder: Path, manifest: dict, write: Callable[[Path], None],
                      linked: dict[str, tuple[str, int]] | None = None) -> str:
    """Write a new generation folder with ``write``, then switch the manifest to it (atomic).

    Returns the generation's name. A failure before the switch leaves the previous manifest
    and generation live, and removes what was written. ``linked``: files ``write`` hard-linked
    from a committed generation, with their known (sha256, size): not hashed or synced again.
    """
    linked = linked or {}
    folder.mkdir(parents=True, exist_ok=True)
    generation = f"g-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.perf_counter_ns() % 10**6}"
    gen = folder / generation
    committed = False
    try:
        gen.mkdir()
        write(gen)
        written = {str(p.relative_to(gen)): p for p in _files_of(gen)}
        fresh = {name: p for name, p in written.items() if name not in linked}
        manifest = {**manifest, "generation": generation,
                    "checksums": {**{n: linked[n][0] for n in written if n in linked},
                                  **{name: sha256_file(p) for name, p in fresh.items()}},
                    "sizes": {name: p.stat().st_size for name, p in written.items()}}
        for path in fresh.values():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
        manifest["stamps"] = {name: file_stamp(p) if name in linked else settled_stamp(p) for name, p in written.items()}
        tmp = folder / f".{MANIFEST}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, folder / MANIFEST)  # the commit point
        committed = True
    except OSError as exc:
        if _no_room(exc, folder):  # say what happened and what to do, not a traceback
            reason = os.strerror(exc.errno).lower() if exc.errno else "no space left on device"
            raise IndexWriteFailed(
                f"cannot write the index in {folder}: {reason} ({free_space(folder)} free); the previous "
                "index is still live — free some space or choose another --index-dir, then run "
                "`qa index` again") from exc
        raise
    finally:
        if not committed:
            shutil.rmtree(gen, ignore_errors=True)  # the space it took is given back
    _remove_old_generations(folder, keep=generation)
    return generation


#: Write errors that mean the device cannot take the index: full, over quota, read-only.
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


#: Below this much free space a failed write is the device being full, whatever the error says
#: (numpy reports a short write as "83733 requested and 72672 written", with no errno).
FULL_BYTES = 1 << 20


def _no_room(exc: OSError, folder: Path) -> bool:
    free = _free_bytes(folder)
    return exc.errno in _NO_ROOM or (free is not None and free < FULL_BYTES)


def free_space(folder: Path) -> str:
    """The free space under ``folder``, for messages ("12.3 MB", or "unknown")."""
    free = _free_bytes(folder)
    return "unknown" if free is None else f"{free / 2**20:,.1f} MB"


def _free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _remove_old_generations(folder: Path, keep: str) -> None:
    for child in folder.glob("g-*"):
        if child.is_dir() and child.name != keep:
            shutil.rmtree(child, ignore_errors=True)
    for tmp in folder.glob(f".{MANIFEST}.*.tmp"):
        tmp.unlink(missing_ok=True)


def is_current(paths: list[Path], settings: Settings) -> bool:
    """True when the index exists, opens, and was built from exactly these files."""
    try:
        manifest = read_manifest(settings.index_dir)
    except StoreError:
        return False
    from .loading import file_digest, find_files

    found, _ = find_files(paths)
    # Hashes only: reading a PDF or running OCR just to learn nothing changed would take minutes.
    files = [(path.name, file_digest(path)) for path in found]
    return (manifest.get("fingerprint") == fingerprint(files, settings) and manifest["encoder"]["name"] == settings.model
            and settings.store.kind in ("auto", store_kind(manifest)))
