"""What every index store offers the layers above it: searches by row id, passages by id, stats."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..keyword_index import TermStats
from ..schema import Chunk
from ..tokenizer import Tokenizer

#: (row id, score) pairs, best first.
Scored = list[tuple[int, float]]


class SearchIndex(ABC):
    """An opened index. Row ids are the store's passage ids; a search returns positive scores only.

    ``doc`` keeps a search within one document; ``exclude`` searches as if that document were
    not in the collection.
    """

    folder: Path
    manifest: dict
    documents: list  # DocumentInfo, in the order the build indexed them

    @property
    def model(self) -> str:
        return self.manifest["encoder"]["name"]

    @property
    @abstractmethod
    def terms(self) -> TermStats:
        """Corpus token statistics (document frequencies) for query analysis."""

    @property
    @abstractmethod
    def size(self) -> int:
        """Number of passages."""

    @abstractmethod
    def keyword_search(self, tokens: list[str], k: int, doc: str | None = None,
                       exclude: str | None = None) -> Scored: ...

    @abstractmethod
    def vector_search(self, vector: np.ndarray, k: int, doc: str | None = None,
                      exclude: str | None = None) -> Scored: ...

    @abstractmethod
    def passages(self, rows: list[int]) -> list[Chunk]:
        """The passages with these ids, in the order asked."""

    @abstractmethod
    def iter_passages(self) -> Iterator[Chunk]:
        """Every passage once (evaluation reads them all)."""

    @abstractmethod
    def vectors_by_text(self) -> dict[str, np.ndarray]:
        """Stored vectors keyed by the text that was embedded, so a rebuild embeds only what changed."""

    @abstractmethod
    def stats(self) -> dict:
        """What `qa info`-style reports show: store kind, passages, documents, vector index."""

    def tokenizer(self) -> Tokenizer:
        """A tokenizer that cuts questions exactly as the corpus was cut (jieba plus the corpus
        lexicon each store keeps in its generation folder), and loads fast."""
        lexicon = self.folder / self.manifest["generation"] / "lexicon.txt"
        total = self.manifest.get("lexicon_total")
        return Tokenizer(lexicon, total) if total and lexicon.exists() else Tokenizer()

    def close(self) -> None:  # noqa: B027 - optional hook: most stores hold nothing to release
        """Release connections (the web app reopens the index after an upload)."""
