"""The question-answering pipeline: analyse → retrieve → answer, over one opened index.

>>> assistant = Assistant.open(Settings())          # doctest: +SKIP
>>> assistant.ask("温州后进支部转化了多少个").text    # doctest: +SKIP
'581个'
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .answer_model import AnswerModels
from .answer_rules import RuleExtractor
from .answering import AnswerExtractor
from .config import Settings
from .crosslingual import Translator
from .encoders import Encoder, load_encoder
from .query import Query, QueryAnalyzer
from .retrieval import HybridRetriever
from .schema import Answer
from .store import open_index
from .stores.base import SearchIndex
from .tokenizer import Tokenizer
from .yes_no import YesNoAnswerer

METHODS = ("rules", "learned", "reader")


def _extractor(settings: Settings, tokenizer: Tokenizer, encoder: Encoder, models: AnswerModels | None):
    method = settings.answer.method
    if method not in METHODS:
        raise ValueError(f"unknown answer method '{method}' (choose from {', '.join(METHODS)})")
    if method == "rules":
        return RuleExtractor(tokenizer, settings.answer)
    if method == "reader":
        from .reader import ReaderExtractor, SpanReader

        reader = SpanReader(settings.answer.reader, settings.encoder.threads, settings.encoder.cache_dir, encoder)
        return ReaderExtractor(settings.answer, reader, english=RuleExtractor(tokenizer, settings.answer),
                               is_name=tokenizer.is_name)
    return AnswerExtractor(tokenizer, settings.answer, encoder, models)


class QuestionError(ValueError):
    """The question cannot be asked (empty); the message is shown as is."""


@dataclass
class Assistant:
    settings: Settings
    index: SearchIndex
    encoder: Encoder
    analyzer: QueryAnalyzer
    retriever: HybridRetriever
    extractor: AnswerExtractor | RuleExtractor
    yes_no: YesNoAnswerer | None = None

    @classmethod
    def open(cls, settings: Settings, encoder: Encoder | None = None,
             tokenizer: Tokenizer | None = None, models: AnswerModels | None = None) -> Assistant:
        """Open the index in ``settings.index_dir`` with the encoder it was built with; ``models``
        replaces the shipped answer models (``settings.answer.method`` "learned")."""
        index = open_index(settings.index_dir)
        if encoder is None or encoder.name != index.model:
            encoder = load_encoder(index.model, settings.encoder)
        tokenizer = tokenizer or index.tokenizer()
        settings = replace(settings, model=index.model)
        return cls(
            settings,
            index,
            encoder,
            QueryAnalyzer(tokenizer, index.terms, Translator()),
            HybridRetriever(index, encoder, settings.retrieval),
            _extractor(settings, tokenizer, encoder, models),
            YesNoAnswerer(settings.answer) if settings.answer.yes_no else None,
        )

    def prepare(self, question: str) -> tuple[str, list[str]]:
        """Validate a question: empty is an error, over-long is truncated with a note."""
        question = " ".join(question.split())
        if not question:
            raise QuestionError("the question is empty")
        limit = self.settings.answer.max_question_chars
        if len(question) > limit:
            return question[:limit], [f"question truncated to {limit} characters"]
        return question, []

    def ask(self, question: str, top_k: int | None = None, mode: str | None = None,
            doc: str | None = None) -> Answer:
        return self.ask_many([question], top_k=top_k, mode=mode, doc=doc)[0]

    def ask_many(self, questions: list[str], top_k: int | None = None, mode: str | None = None,
                 doc: str | None = None) -> list[Answer]:
        """Answer many questions, encoding them in one batch."""
        prepared = [self.prepare(q) for q in questions]
        queries = [self.analyzer.run(text) for text, _ in prepared]
        mode = mode or self.settings.retrieval.mode
        vectors = self.retriever.encode(queries) if mode != "bm25" else [None] * len(queries)
        answers = []
        for query, vector, (_, notes) in zip(queries, vectors, prepared):
            answers.append(self.answer_query(query, vector, top_k, mode, notes, doc))
        return answers

    def answer_query(self, query: Query, vector, top_k: int | None, mode: str, notes: list[str],
                     doc: str | None = None, exclude: str | None = None) -> Answer:
        """Retrieve and answer one analysed question (its vector may come from a batch); ``doc``
        keeps retrieval within one document, ``exclude`` leaves one out."""
        k = top_k or self.settings.retrieval.top_k
        # Look at least as deep as the extractor does, then report the top k.
        depth = max(k, self.settings.answer.passages_considered)
        hits = self.retriever.run(query, vector=vector, mode=mode, top_k=depth, doc=doc, exclude=exclude)
        if self.yes_no is not None and query.answer_type == "yesno" and not query.english:
            answer = self.yes_no.run(query, hits)
        else:
            if vector is None and isinstance(self.extractor, AnswerExtractor):
                # bm25 mode: the answer models still compare sentences with the question
                vector = self.encoder.encode_queries([query.text])[0]
            answer = self.extractor.run(query, hits, vector)
        cited = answer.cited
        # Show the top k, and always the passage the answer is cited to.
        answer.passages = answer.passages[:k] + ([cited] if cited and cited.rank > k else [])
        answer.notes = notes + answer.notes
        return answer
