"""Milvus store: the index as one Milvus collection, embedded (milvus-lite) or on a server.

The index folder keeps what every store keeps — ``manifest.json`` (the commit point; it names
the URI and the live collection, never the token) and a generation folder with the document
list, the corpus lexicon and document frequencies for query analysis — and the collection holds
the passages: text, scalar fields, the dense vector, and a sparse BM25 vector that Milvus's own
BM25 function derives from the text.

Keyword and vector search are two Milvus searches fused by the project's own fusion
(qa/retrieval.py), not ``hybrid_search``: its rankers (RRF, weighted) see ranks or squashed
scores, while the fusion the answers were tuned with divides BM25 by its best score — the
same answers on both stores need the same fusion.

Builds are incremental by document. A document whose passages are unchanged is left alone; a
new or changed one is inserted under fresh ids with the new generation number ``gen``; every
search filters on ``gen <= live generation``, so rows of a build that has not committed are
invisible. After the manifest switch the old rows of changed and removed documents are deleted.
A build killed at any point leaves a pending note that the next build reads to delete what the
killed one wrote (or dropped). A change of encoder, analyzer or vector index kind writes a new
collection and switches to it the same way.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..config import Settings, StoreSettings, VectorIndexSettings
from ..encoders import Encoder
from ..keyword_index import TermStats
from ..schema import Chunk
from ..store import (
    PARTIAL_FILE,
    DocumentInfo,
    IndexBusy,
    IndexDamaged,
    IndexMissing,
    Prepared,
    StoreError,
    Written,
    _verify,
    commit_generation,
    document_sha,
    embed_missing,
    embed_text,
    previous_vectors,
    read_documents,
    read_manifest,
    store_kind,
    write_documents,
)
from . import milvus_lock
from .base import Scored, SearchIndex

TOKEN_ENV = "QA_MILVUS_TOKEN"
PENDING_FILE = ".milvus-pending.json"
ROWS_FILE = "rows.json"  # per document: content hash and the generation its rows carry
#: Milvus analyzers per ``StoreSettings.analyzer``: "project" reads the project's jieba tokens,
#: space-separated; "chinese" is Milvus's built-in jieba analyzer with its punctuation filter.
ANALYZERS = {"project": {"tokenizer": "whitespace"}, "chinese": {"type": "chinese"}}
#: BM25 parameters of the local store (bm25s's defaults), so both stores score alike.
BM25_K1, BM25_B = 1.5, 0.75
VARCHAR_BYTES = 65_535  # Milvus's largest VARCHAR
FIELDS = ["id", "doc_id", "title", "paragraph", "char_start", "char_end", "text", "meta", "location"]
DELETE_BATCH = 500  # documents named in one delete expression


class MilvusUnreachable(StoreError):
    pass


class MilvusRefused(StoreError):
    """Wrong credentials, or the server cannot do what the schema asks."""


# ---------------------------------------------------------------- connecting
def is_local(uri: str) -> bool:
    return not uri.startswith(("http://", "https://", "tcp://", "unix:", "grpc://"))


def connect(uri: str, token: str | None = None, timeout: float = 20.0):
    """A ``MilvusClient`` for ``uri``: a local ``*.db`` path is embedded milvus-lite, a URL a server.
    The token, when not given, comes from ``$QA_MILVUS_TOKEN``."""
    try:
        with warnings.catch_warnings():  # milvus-lite imports pkg_resources, which warns on import
            warnings.simplefilter("ignore")
            import milvus_lite  # noqa: F401 - loaded here, under the filter, not at the first local URI
            from pymilvus import MilvusClient
    except ImportError as exc:
        raise StoreError("the Milvus store needs its extra: pip install -e '.[milvus]' "
                         "(pymilvus 2.5 and milvus-lite 2.5.1)") from exc
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # we say what failed, in one line
    if is_local(uri):
        path = Path(uri).expanduser()
        if path.suffix != ".db":
            raise StoreError(f"a local Milvus URI is a file whose name ends in .db (got '{uri}'); "
                             "a server's is http://host:19530")
        path.parent.mkdir(parents=True, exist_ok=True)
        uri = str(path.resolve())
    claimed = is_local(uri) and not milvus_lock.held(Path(uri))
    if claimed and not milvus_lock.claim(Path(uri)):
        raise _busy(uri)
    token = os.environ.get(TOKEN_ENV, "") if token is None else token
    try:
        # Its own connection: pymilvus shares one per URI otherwise, and closing any client
        # would close it under every other index open on that URI (the web app's old and new).
        return MilvusClient(uri=uri, token=token, timeout=timeout, alias=f"qa-{uuid.uuid4().hex}")
    except Exception as exc:
        if claimed:
            milvus_lock.release(Path(uri))
        raise explain(exc, uri) from exc


def _busy(uri: str) -> IndexBusy:
    return IndexBusy(f"the embedded Milvus file {uri} is open in another process (a running `qa serve`?): "
                     "stop that process, or run a Milvus server to share one index (docs/milvus.md)")


def explain(exc: Exception, uri: str) -> StoreError:
    """One line that says what went wrong with Milvus and what to do."""
    text = str(exc).lower()
    if "open local milvus failed" in text:
        return _busy(uri)
    if any(w in text for w in ("auth", "credential", "password", "token", "permission denied")) or \
            getattr(exc, "code", None) == 1800:
        return MilvusRefused(f"Milvus at {uri} refused the credentials: set {TOKEN_ENV} to user:password "
                             "or an API key")
    if any(w in text for w in ("fail connecting", "unavailable", "deadline", "connection refused")):
        return MilvusUnreachable(f"cannot reach Milvus at {uri}: start the server (docs/milvus.md) or check "
                                 "--milvus-uri")
    if any(w in text for w in ("analyzer", "function", "bm25", "sparse")):
        return MilvusRefused(f"Milvus at {uri} cannot build the BM25 text index ({exc}): it needs Milvus 2.5 "
                             "or newer; upgrade the server or use the local store")
    return StoreError(f"Milvus at {uri} failed: {exc}")


def _literal(value: str) -> str:
    """A string literal for a Milvus filter expression (JSON's escaping is what it parses)."""
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------- the opened index
@dataclass
class MilvusIndex(SearchIndex):
    folder: Path
    manifest: dict
    documents: list[DocumentInfo]
    client: object
    collection: str
    term_stats: TermStats
    generation: int
    search_params: dict

    @property
    def terms(self) -> TermStats:
        return self.term_stats

    @property
    def size(self) -> int:
        return sum(d.chunks for d in self.documents)

    def _filter(self, doc: str | None, exclude: str | None) -> str:
        parts = [f"gen <= {self.generation}"]  # rows of a build that has not committed stay hidden
        for name in (doc, exclude):
            if name is not None and name not in self._known:
                raise KeyError(f"no indexed document named '{name}'")
        if doc is not None:
            parts.append(f"doc_id == {_literal(doc)}")
        if exclude is not None:
            parts.append(f"doc_id != {_literal(exclude)}")
        return " and ".join(parts)

    @cached_property
    def _known(self) -> set[str]:
        return {d.doc_id for d in self.documents}

    def _search(self, data: list, field: str, params: dict, k: int, expr: str) -> Scored:
        try:
            result = self.client.search(self.collection, data=data, anns_field=field, limit=k, filter=expr,
                                        search_params=params)
        except Exception as exc:
            raise explain(exc, self.manifest["store"]["uri"]) from exc
        return [(int(hit["id"]), float(hit["distance"])) for hit in result[0] if hit["distance"] > 0]

    def keyword_search(self, tokens: list[str], k: int, doc: str | None = None,
                       exclude: str | None = None) -> Scored:
        known = [t for t in tokens if t in self.term_stats.doc_freq]  # as the local store: unseen words score 0
        if not known:
            return []
        return self._search([" ".join(known)], "sparse", {"metric_type": "BM25"}, k, self._filter(doc, exclude))

    def vector_search(self, vector: np.ndarray, k: int, doc: str | None = None,
                      exclude: str | None = None) -> Scored:
        params = {"metric_type": "IP", "params": self.search_params}
        return self._search([np.asarray(vector, np.float32).tolist()], "vec", params, k, self._filter(doc, exclude))

    def passages(self, rows: list[int]) -> list[Chunk]:
        if not rows:
            return []
        try:
            found = self.client.query(self.collection, filter=f"id in {[int(r) for r in rows]}", output_fields=FIELDS)
        except Exception as exc:
            raise explain(exc, self.manifest["store"]["uri"]) from exc
        by_id = {int(r["id"]): _chunk(r) for r in found}
        missing = [r for r in rows if r not in by_id]
        if missing:
            raise IndexDamaged(f"Milvus collection {self.collection} has lost passages {missing[:5]}: "
                               "run `qa index --store milvus` again")
        return [by_id[r] for r in rows]

    def _committed(self, fields: list[str]) -> Iterator[dict]:
        return _query_all(self.client, self.collection, fields, f"gen <= {self.generation}", batch_size=1000)

    def iter_passages(self) -> Iterator[Chunk]:
        return map(_chunk, self._committed(FIELDS))

    def vectors_by_text(self) -> dict[str, np.ndarray]:
        return {embed_text(_chunk(r)): np.asarray(r["vec"], np.float32) for r in self._committed([*FIELDS, "vec"])}

    def stats(self) -> dict:
        store = self.manifest["store"]
        return {"store": "milvus", "uri": store["uri"], "collection": self.collection, "analyzer": store["analyzer"],
                "passages": self.size, "documents": len(self.documents), "vector_index": self.manifest["vector_index"]}

    def close(self) -> None:
        """Close this index's connection (embedded Milvus keeps running: see :func:`stop_embedded`)."""
        self.client.close()


def stop_embedded(uri: str) -> None:
    """Stop this process's embedded Milvus for ``uri`` so that another process may open the file.
    Every index opened on it here must be closed first."""
    if is_local(uri):
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(uri)
        milvus_lock.release(Path(uri).expanduser().resolve())


def _chunk(row: dict) -> Chunk:
    meta = row.get("meta") or {}
    return Chunk(int(row["id"]), row["doc_id"], row["title"], int(row["paragraph"]), int(row["char_start"]),
                 int(row["char_end"]), row["text"], meta, row.get("location") or "")


def open_milvus(folder: Path, manifest: dict, verify: bool = True) -> MilvusIndex:
    store = manifest["store"]
    gen = folder / manifest["generation"]
    try:
        if verify:
            _verify(gen, manifest)
        documents = read_documents(gen)
        terms = TermStats.load_stats(gen)
    except (OSError, ValueError, KeyError, TypeError, IndexDamaged) as exc:
        raise IndexDamaged(f"the index in {folder} is damaged ({exc}): run `qa index --store milvus` to rebuild") \
            from exc
    client = connect(store["uri"])
    if not client.has_collection(store["live"]):
        raise IndexMissing(f"the Milvus collection {store['live']} that {folder} names is missing at {store['uri']}: "
                           "run `qa index --store milvus` to rebuild it")
    try:
        client.load_collection(store["live"])  # a restarted server holds collections released
    except Exception as exc:
        raise explain(exc, store["uri"]) from exc
    return MilvusIndex(folder, manifest, documents, client, store["live"], terms, int(store["gen"]),
                       manifest["vector_index"].get("search_params", {}))


# ---------------------------------------------------------------- building
def vector_index_plan(n: int, local: bool, settings: VectorIndexSettings) -> dict:
    """The Milvus vector index for ``n`` passages. On a server, the local store's threshold:
    exact (FLAT) up to ``exact_max``, HNSW beyond. Embedded Milvus stays exact at every size:
    milvus-lite 2.5.1's IVF_FLAT (it has no HNSW) ignores ``nprobe`` — recall@10 0.57 on the
    100k synthetic corpus, the same at 1 probe or all of them (README, "The Milvus store")."""
    kind = settings.kind
    if kind == "auto":
        kind = "flat" if local or n <= settings.exact_max else "hnsw"
    if kind == "flat":
        return {"kind": "flat", "index_type": "FLAT", "params": {}, "search_params": {}}
    if kind == "ivf":
        nlist = max(1, min(65_536, int(settings.ivf_lists_per_sqrt * math.sqrt(max(n, 1)))))
        return {"kind": "ivf", "index_type": "IVF_FLAT", "params": {"nlist": nlist},
                "search_params": {"nprobe": min(nlist, max(16, nlist // 4))}}
    if kind == "hnsw":
        if local:
            raise StoreError("embedded Milvus (milvus-lite) offers FLAT and IVF_FLAT only: use --vector-index flat "
                             "(its IVF_FLAT ignores nprobe), or a Milvus server for HNSW")
        return {"kind": "hnsw", "index_type": "HNSW",
                "params": {"M": settings.hnsw_m, "efConstruction": settings.hnsw_ef_construction},
                "search_params": {"ef": 256}}
    if kind == "ivf-pq":
        raise StoreError("ivf-pq is the local store's (FAISS fast-scan codes re-scored exactly): on Milvus "
                         "choose auto, flat, ivf or hnsw")
    raise StoreError(f"unknown vector index '{kind}' (choose auto, flat, ivf or hnsw)")


def create_collection(client, name: str, dim: int, analyzer: str, plan: dict, uri: str) -> None:
    from pymilvus import DataType, Function, FunctionType

    project = analyzer == "project"
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=VARCHAR_BYTES, enable_analyzer=not project,
                     **({} if project else {"analyzer_params": ANALYZERS["chinese"]}))
    schema.add_field("terms", DataType.VARCHAR, max_length=VARCHAR_BYTES, enable_analyzer=project,
                     **({"analyzer_params": ANALYZERS["project"]} if project else {}))
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=4096)
    schema.add_field("title", DataType.VARCHAR, max_length=VARCHAR_BYTES)
    schema.add_field("paragraph", DataType.INT64)
    schema.add_field("char_start", DataType.INT64)
    schema.add_field("char_end", DataType.INT64)
    schema.add_field("location", DataType.VARCHAR, max_length=4096)
    schema.add_field("meta", DataType.JSON)
    schema.add_field("gen", DataType.INT64)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=["terms" if project else "text"], output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                    params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
    index.add_index("vec", index_type=plan["index_type"], metric_type="IP", params=plan["params"])
    try:
        client.create_collection(name, schema=schema, index_params=index)
    except Exception as exc:
        raise explain(exc, uri) from exc


def _bounded(text: str, what: str) -> str:
    if len(text.encode()) > VARCHAR_BYTES:
        raise StoreError(f"a {what} of {len(text):,} characters is over Milvus's {VARCHAR_BYTES:,}-byte VARCHAR: "
                         "index with a smaller --max-chars")
    return text


def _rows(chunks: list[Chunk], tokens: list[list[str]], vectors: np.ndarray, first_id: int, gen: int) -> list[dict]:
    return [{"id": first_id + i, "text": _bounded(c.text, "passage"), "terms": _bounded(" ".join(toks), "passage"),
             "vec": vectors[i], "doc_id": c.doc_id, "title": c.title.encode()[:VARCHAR_BYTES].decode("utf-8", "ignore"),
             "paragraph": c.paragraph, "char_start": c.start, "char_end": c.end, "location": c.location or "",
             "meta": c.meta or {}, "gen": gen}
            for i, (c, toks) in enumerate(zip(chunks, tokens))]


@dataclass
class Previous:
    """The Milvus state the index folder's committed manifest describes."""

    collection: str
    generation: int
    next_id: int
    rows: dict[str, dict]  # doc_id → {"sha", "gen"}
    encoder: dict
    analyzer: str
    vector_kind: str


def _previous(folder: Path, store: StoreSettings, uri: str) -> Previous | None:
    try:
        manifest = read_manifest(folder)
    except StoreError:
        return None
    if store_kind(manifest) != "milvus" or manifest["store"]["uri"] != uri \
            or manifest["store"]["collection"] != store.collection:
        return None
    st = manifest["store"]
    try:
        rows = json.loads((folder / manifest["generation"] / ROWS_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return Previous(st["live"], int(st["gen"]), int(st["next_id"]), rows, manifest["encoder"], st["analyzer"],
                    manifest["vector_index"]["kind"])


def _recover(client, folder: Path, previous: Previous | None) -> None:
    """Undo what a killed build left: a collection it created, rows it inserted or failed to delete."""
    note = folder / PENDING_FILE
    try:
        pending = json.loads(note.read_text("utf-8"))
    except (OSError, ValueError):
        return
    live = previous.collection if previous else None
    for name in (pending.get("created"), pending.get("replaces")):
        if name and name != live and client.has_collection(name):
            client.drop_collection(name)  # never committed, or replaced by the committed one
    if previous is not None and client.has_collection(live):
        stale = [int(r["id"]) for r in _query_all(client, live, ["id", "doc_id", "gen"], "id >= 0", batch_size=5000)
                 if previous.rows.get(r["doc_id"], {}).get("gen") != int(r["gen"])]
        for start in range(0, len(stale), 10_000):
            client.delete(live, ids=stale[start : start + 10_000])
    note.unlink(missing_ok=True)


def _query_all(client, collection: str, fields: list[str], expr: str, batch_size: int) -> Iterator[dict]:
    """Every row matching ``expr``, fetched ``batch_size`` at a time (bounded memory at any size)."""
    it = client.query_iterator(collection, batch_size=batch_size, filter=expr, output_fields=fields)
    try:
        while batch := it.next():
            yield from batch
    finally:
        it.close()


def _write_pending(folder: Path, note: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (PENDING_FILE + ".tmp")
    tmp.write_text(json.dumps(note), "utf-8")
    os.replace(tmp, folder / PENDING_FILE)


def _uri_of(store: StoreSettings) -> str:
    if not store.uri:
        raise StoreError("--store milvus needs --milvus-uri: a local file ending in .db (embedded Milvus) "
                         "or http://host:19530")
    return str(Path(store.uri).expanduser().resolve()) if is_local(store.uri) else store.uri


def write_milvus(folder: Path, settings: Settings, encoder: Encoder, corpus: Prepared, progress: bool,
                 stage: Callable[[str], None], known_vectors: dict[str, np.ndarray] | None = None) -> Written:
    """Bring the collection to ``corpus``: insert new and changed documents, then commit, then delete
    what they replace. ``known_vectors`` (embedded text → vector) spares the encoder those texts."""
    store = settings.store
    if store.analyzer not in ANALYZERS:
        raise StoreError(f"unknown Milvus analyzer '{store.analyzer}' (choose {', '.join(ANALYZERS)})")
    uri = _uri_of(store)
    client = connect(uri, store.token, store.timeout_s)
    previous = _previous(folder, store, uri)
    _recover(client, folder, previous)
    plan = vector_index_plan(len(corpus.chunks), is_local(uri), settings.vector_index)
    gen = max(int(time.time() * 1000), previous.generation + 1 if previous else 0)
    reuse = previous is not None and client.has_collection(previous.collection) and \
        previous.encoder == {"name": encoder.name, "dim": encoder.dim} and previous.analyzer == store.analyzer \
        and previous.vector_kind == plan["kind"]
    collection = previous.collection if reuse else f"{store.collection}_{gen}"
    before = previous.rows if reuse else {}
    next_id = previous.next_id if reuse else 0
    _write_pending(folder, {"created": None if reuse else collection,
                            "replaces": previous.collection if previous and not reuse else None})
    if not reuse:
        stage(f"creating Milvus collection {collection}")
        create_collection(client, collection, encoder.dim, store.analyzer, plan, uri)

    spans, start = [], 0
    for info in corpus.infos:
        spans.append(range(start, start + info.chunks))
        start += info.chunks
    shas = [document_sha(corpus.chunks[s.start : s.stop]) for s in spans]
    kept = {info.doc_id for info, sha in zip(corpus.infos, shas) if before.get(info.doc_id, {}).get("sha") == sha}
    todo = [i for span, info in zip(spans, corpus.infos) if info.doc_id not in kept for i in span]
    cache = dict(known_vectors or {})
    if not reuse:  # a new collection reuses the old one's vectors
        cache.update(previous_vectors(folder, encoder))
    vectors, embedded, seconds = embed_missing([embed_text(corpus.chunks[i]) for i in todo], cache, encoder,
                                               settings, progress, folder / PARTIAL_FILE, stage)
    _insert(client, collection, [corpus.chunks[i] for i in todo], [corpus.tokens[i] for i in todo], vectors,
            next_id, gen, store, progress, uri)
    rows = {info.doc_id: (before[info.doc_id] if info.doc_id in kept else {"sha": sha, "gen": gen})
            for info, sha in zip(corpus.infos, shas)}
    vector_info = {**plan, "passages": len(corpus.chunks)}
    manifest = {**corpus.manifest(encoder, settings, vector_info),
                "store": {"kind": "milvus", "uri": uri, "collection": store.collection, "live": collection,
                          "analyzer": store.analyzer, "gen": gen, "next_id": next_id + len(todo)}}

    def write(folder_gen: Path) -> None:
        write_documents(folder_gen, corpus.infos, corpus.lexicon[0] if corpus.lexicon else None)
        TermStats.count(corpus.tokens).save_stats(folder_gen)
        (folder_gen / ROWS_FILE).write_text(json.dumps(rows, ensure_ascii=False), "utf-8")

    commit_generation(folder, manifest, write)
    stage("removing replaced passages")
    _delete_replaced(client, collection, [d for d in before if d not in kept], gen)
    if previous is not None and not reuse and client.has_collection(previous.collection):
        client.drop_collection(previous.collection)
    _point_alias(client, store.collection, collection, uri)
    (folder / PENDING_FILE).unlink(missing_ok=True)
    client.close()
    return Written(embedded, seconds, vector_info, len(corpus.chunks))


def _insert(client, collection: str, chunks: list[Chunk], tokens: list[list[str]], vectors: np.ndarray,
            first_id: int, gen: int, store: StoreSettings, progress: bool, uri: str) -> None:
    from tqdm import tqdm

    with tqdm(total=len(chunks), desc="milvus insert", unit="passage", disable=not progress or not chunks) as bar:
        for start in range(0, len(chunks), store.insert_batch):
            stop = start + store.insert_batch
            batch = _rows(chunks[start:stop], tokens[start:stop], vectors[start:stop], first_id + start, gen)
            try:
                client.insert(collection, batch)
            except Exception as exc:
                raise explain(exc, uri) from exc
            bar.update(len(batch))
    client.flush(collection)


def _delete_replaced(client, collection: str, doc_ids: list[str], gen: int) -> None:
    for start in range(0, len(doc_ids), DELETE_BATCH):
        names = ", ".join(_literal(d) for d in doc_ids[start : start + DELETE_BATCH])
        client.delete(collection, filter=f"doc_id in [{names}] and gen < {gen}")


def _point_alias(client, name: str, collection: str, uri: str) -> None:
    """On a server, the stable name ``name`` follows the live collection, for other clients to query."""
    if is_local(uri):
        return  # milvus-lite has no aliases; the manifest names the live collection
    try:
        client.alter_alias(collection, name)
    except Exception:
        try:
            client.create_alias(collection, name)
        except Exception as exc:  # a collection already named so: the alias is a convenience, not the index
            logging.getLogger(__name__).info("no alias %s → %s: %s", name, collection, exc)
