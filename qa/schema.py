"""Typed records that flow through the pipeline: load → clean → chunk → index → retrieve → answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def char_count(texts) -> int:
    """Characters of normalised lines, spaces not counted: what :class:`Removed` counts."""
    return sum(len(t.replace(" ", "")) for t in texts)


@dataclass(frozen=True)
class Removed:
    """What cleaning took out of one document (characters exclude whitespace)."""

    chars: int = 0
    lines: int = 0
    total_chars: int = 0  # the document's characters before cleaning

    @property
    def fraction(self) -> float:
        return self.chars / self.total_chars if self.total_chars else 0.0


@dataclass(frozen=True)
class Section:
    """One paragraph of a structured file (PDF, Word, sheet, slides) and where it sits in it."""

    text: str
    location: str = ""  # shown in citations: "p. 12", "slide 3", "销售 rows 2–6", "table 1 row 4"
    ocr_confidence: float | None = None  # mean recogniser confidence, for text read by OCR


@dataclass(frozen=True)
class RawFile:
    """A file read from disk, before cleaning: decoded text, or a structured file's sections."""

    path: str
    name: str
    text: str
    encoding: str  # the text encoding, or the format read ("pdf", "docx", …)
    sha256: str
    is_html: bool = False
    # Structured formats: the document's own paragraphs, in order, with their locations. They skip
    # the web-page cleaner (a Word file has no navigation bar); ``text`` is their lines joined.
    sections: tuple[Section, ...] = ()
    title: str = ""  # from the file's own properties, when it has them
    author: str = ""
    removed: Removed | None = None  # what the reader dropped (PDF running headers, page numbers)


@dataclass(frozen=True)
class Skipped:
    """A file that could not be used, with the reason shown to the user."""

    path: str
    reason: str


@dataclass
class Metadata:
    """Article metadata found in the page; every field is optional."""

    title: str = ""
    date: str = ""
    source: str = ""
    author: str = ""
    editor: str = ""

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}


@dataclass
class Document:
    """A cleaned article: its body paragraphs and its metadata."""

    doc_id: str  # file name, unique within an index
    path: str
    sha256: str
    meta: Metadata
    paragraphs: list[str]
    removed: Removed = field(default_factory=Removed)
    sections: list[Section] = field(default_factory=list)  # parallel to paragraphs, or empty

    @property
    def title(self) -> str:
        return self.meta.title or self.doc_id


@dataclass
class Chunk:
    """A retrievable passage. Offsets are into the paragraph it came from."""

    chunk_id: int
    doc_id: str
    title: str
    paragraph: int  # 1-based paragraph number in the cleaned document; 0 = metadata card
    start: int
    end: int
    text: str
    meta: dict[str, str] = field(default_factory=dict)
    location: str = ""  # page, slide or sheet rows in a structured file; "" = use the paragraph

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Chunk:
        return cls(**data)


@dataclass
class Hit:
    """A chunk returned by retrieval, with its fused score and per-retriever ranks."""

    chunk: Chunk
    score: float
    bm25_rank: int | None = None
    dense_rank: int | None = None


@dataclass
class Passage:
    """A cited passage in an answer; answer_span is a [start, end) offset into text."""

    rank: int
    hit: Hit
    answer_span: tuple[int, int] | None = None
    sentence_span: tuple[int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        c = self.hit.chunk
        return {
            "rank": self.rank,
            "doc": c.doc_id,
            "title": c.title,
            "paragraph": c.paragraph,
            "location": c.location or None,
            "text": c.text,
            "score": round(float(self.hit.score), 6),
            "answer_span": list(self.answer_span) if self.answer_span else None,
            "sentence_span": list(self.sentence_span) if self.sentence_span else None,
            "date": c.meta.get("date", ""),
            "source": c.meta.get("source", ""),
        }


@dataclass
class Answer:
    """What the assistant says: a short answer with its citation, or an abstention."""

    question: str
    text: str | None
    abstained: bool
    passages: list[Passage]
    sentence: str = ""
    confidence: float = 0.0
    notes: list[str] = field(default_factory=list)
    verdict: str | None = None  # "yes" / "no" for a yes/no question (text is then 是 / 否)

    @property
    def cited(self) -> Passage | None:
        """The passage the answer is drawn from (None when abstaining)."""
        if self.abstained:
            return None
        return next((p for p in self.passages if p.answer_span), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            **({"verdict": self.verdict} if self.verdict else {}),
            "sentence": self.sentence or None,
            "passages": [p.to_json() for p in self.passages],
        }
