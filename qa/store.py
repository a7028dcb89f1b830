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
from .hashing import sha256_file
from .keyword_index import KeywordIndex
from .loading import load
from .passage_store import FILE as PASSAGES_FILE
from .passage_store import open_passages, write_passages
from .readers import ExtractionCache, Readers
from .schema import Chunk, Document, Removed, Skipped
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


@dataclass
class HybridIndex(SearchIndex):
    """The local store, opened: chunks with their keyword and vector indexes (same row numbers)."""

    folder: Path
    manifest: dict
    chunks: Sequence[Chunk]  # fetched from disk by row (passage_store)
    documents: list[DocumentInfo]
    keyword: KeywordIndex
    vector: VectorIndex

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
        return iter(self.chunks)

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
        for info in self.documents:
            rows[info.doc_id] = range(start, start + info.chunks)
            start += info.chunks
        return rows


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
    except IndexDamaged as exc:
        raise IndexDamaged(f"{exc}: run `qa index` to rebuild") from exc
    except Exception as exc:  # any parse/IO failure means the same thing to the user
        raise IndexDamaged(f"the index in {folder} is damaged ({exc.__class__.__name__}: {exc}): "
                           "run `qa index` to rebuild") from exc
    if not (len(chunks) == keyword.size == vector.size) or vector.dim != manifest["encoder"]["dim"]:
        raise IndexDamaged(f"the index in {folder} is inconsistent (row counts differ): run `qa index` to rebuild")
    return HybridIndex(folder, manifest, chunks, documents, keyword, vector)


def _verify(gen: Path, manifest: dict) -> None:
    """Sizes always; sha256 too while the index is small enough to hash at every open."""
    sizes = manifest.get("sizes", {})
    for name, size in sizes.items():
        if not (gen / name).exists() or (gen / name).stat().st_size != size:
            raise IndexDamaged(f"index file {gen / name} is missing or has the wrong size")
    if sum(sizes.values()) > VERIFY_MAX_BYTES:
        return
    for name, sha in manifest["checksums"].items():
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
    stage("reading and cleaning documents")
    if readers is None:  # a scan read by an earlier build is not OCR'd again
        with Readers(cache=ExtractionCache(folder / EXTRACTED_DIR), limits=settings.read) as own:
            return _build(paths, settings, encoder, progress, tokenizer, on_stage, own)
    documents, skipped, files = prepare(paths, settings.cleaning.keep_all, readers)
    if not documents:
        raise NothingToIndex("no documents to index" + (f" ({len(skipped)} files skipped)" if skipped else ""))
    corpus = Prepared.of(documents, settings, tokenizer, files, paths)
    settings = resolve_store(settings)
    if settings.store.kind == "milvus":
        from .stores.milvus import write_milvus as write
    elif settings.store.kind == "local":
        write = write_local
    else:
        raise StoreError(f"unknown store '{settings.store.kind}' (choose local or milvus)")
    written = write(folder, settings, encoder, corpus, progress, stage)
    (folder / PARTIAL_FILE).unlink(missing_ok=True)  # now in the index itself
    if readers.cache is not None:
        readers.cache.prune()
    return BuildReport(len(documents), len(corpus.chunks), written.embedded, len(corpus.chunks) - written.embedded,
                       skipped, time.perf_counter() - started, folder, written.embed_seconds, written.vector_index,
                       removed=_total_removed(documents),
                       lossy=[(d.doc_id, d.removed) for d in documents
                              if d.removed.fraction > settings.cleaning.report_fraction])


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

    def manifest(self, encoder: Encoder, settings: Settings, vector_info: dict) -> dict:
        return make_manifest(encoder.name, encoder.dim, settings, vector_info, files=self.files,
                             corpus_fingerprint=fingerprint(self.files, settings), sources=self.sources,
                             lexicon_total=self.lexicon[1] if self.lexicon else None)


@dataclass
class Written:
    embedded: int
    embed_seconds: float
    vector_index: dict


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
                stage: Callable[[str], None]) -> Written:
    """The local store: passages in SQLite, bm25s and FAISS files, one new generation folder."""
    texts = [embed_text(c) for c in corpus.chunks]
    vectors, embedded, seconds = embed_missing(texts, previous_vectors(folder, encoder), encoder, settings,
                                               progress, folder / PARTIAL_FILE, stage)
    stage("building the keyword index")
    keyword = KeywordIndex.build(corpus.tokens)
    stage("building the vector index")
    vector = VectorIndex.build(vectors, settings.vector_index)
    _commit(folder, corpus.manifest(encoder, settings, vector.info), corpus.chunks, corpus.infos, keyword, vector,
            corpus.lexicon[0] if corpus.lexicon else None)
    return Written(embedded, seconds, vector.info)


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


def commit_generation(folder: Path, manifest: dict, write: Callable[[Path], None]) -> str:
    """Write a new generation folder with ``write``, then switch the manifest to it (atomic).

    Returns the generation's name. A failure before the switch leaves the previous manifest
    and generation live, and removes what was written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    generation = f"g-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.perf_counter_ns() % 10**6}"
    gen = folder / generation
    committed = False
    try:
        gen.mkdir()
        write(gen)
        written = {str(p.relative_to(gen)): p for p in _files_of(gen)}
        manifest = {**manifest, "generation": generation,
                    "checksums": {name: sha256_file(p) for name, p in written.items()},
                    "sizes": {name: p.stat().st_size for name, p in written.items()}}
        _fsync_tree(gen)
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


def _fsync_tree(folder: Path) -> None:
    for path in _files_of(folder):
        with path.open("rb") as fh:
            os.fsync(fh.fileno())


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
