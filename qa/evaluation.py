"""Evaluate retrieval and answers on a question set (JSON Lines).

Each line: ``{"id", "question", "answers": [...], "doc": name|stem|prefix|null, "evidence"?}``.
A retrieved passage is a *hit* when it contains the evidence (whitespace ignored), or comes
from ``doc`` and contains one of the answers. A question with no answers is right when the
assistant abstains.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .answer_metrics import exact_match, f1
from .config import Settings
from .schema import Answer, Chunk

KS = (1, 3, 5, 10)


@dataclass
class Question:
    id: str
    question: str
    answers: list[str]
    doc: str | None
    evidence: str | None = None
    split: str | None = None  # train | test, where the question set has one (qa/squad.py)
    # Asked again with its own document left out of the collection (qa eval --withheld): the
    # collection does not answer it, so the right outcome is to abstain.
    withheld: bool = False

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass
class Outcome:
    question: Question
    answer: Answer
    mode: str
    rank: int | None  # first hit rank, 1-based
    relevant: int  # relevant passages in the whole index (for nDCG)
    gains: list[int]
    seconds: float

    @property
    def said(self) -> str:
        """The answer as scored: a yes/no verdict as YES / NO where the gold is written so (CJRC);
        elsewhere its words (能 / 不能 …, as DRCD writes them)."""
        if self.answer.verdict and any(a.upper() in ("YES", "NO") for a in self.question.answers):
            return self.answer.verdict.upper()
        return self.answer.text or ""

    @property
    def answer_correct(self) -> bool:
        return self.question.answerable and not self.answer.abstained and contains_any(
            self.said, self.question.answers)

    @property
    def sentence_correct(self) -> bool:
        """The cited sentence holds a gold answer."""
        return self.question.answerable and not self.answer.abstained and contains_any(
            self.answer.sentence or "", self.question.answers)

    def span_scores(self) -> tuple[float, float]:
        """(EM, F1), CMRC official; an unanswerable question scores 1 when abstained (SQuAD 2.0)."""
        if not self.question.answerable:
            return (float(self.answer.abstained),) * 2
        if self.answer.abstained:
            return 0.0, 0.0
        return exact_match(self.said, self.question.answers), f1(self.said, self.question.answers)


@dataclass
class Metrics:
    mode: str
    answerable: int
    unanswerable: int
    recall: dict[int, float] = field(default_factory=dict)
    mrr10: float = 0.0
    ndcg10: float = 0.0
    answer_accuracy: float = 0.0
    sentence_accuracy: float = 0.0
    em: float = 0.0
    f1: float = 0.0
    abstention: float = 0.0  # unanswerable questions abstained
    wrong_abstention: float = 0.0  # answerable questions abstained
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    withheld: int = 0  # answerable questions asked again with their document left out
    withheld_refusal: float | None = None  # of those, the share abstained


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def contains_any(text: str, answers: list[str], squashed: bool = False) -> bool:
    """Whether ``text`` holds one of ``answers``, whitespace and case ignored."""
    flat = text if squashed else squash(text)
    return any(squash(a) and squash(a) in flat for a in answers)


# ---------------------------------------------------------------- reading the question set
def resolve_doc(ref: str, doc_ids: list[str]) -> str:
    """A file name, stem or unique leading part → the document id; ValueError otherwise."""
    for exact in (d for d in doc_ids if ref in (d, Path(d).stem)):
        return exact
    matches = [d for d in doc_ids if d.startswith(ref)]
    if len(matches) != 1:
        raise ValueError(f"doc '{ref}' matches {len(matches)} indexed documents")
    return matches[0]


def parse_line(line: str, doc_ids: list[str]) -> Question:
    data = json.loads(line)
    if not isinstance(data, dict) or not isinstance(data.get("question"), str) or not data["question"].strip():
        raise ValueError("needs a non-empty 'question' string")
    answers = data.get("answers", [])
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise ValueError("'answers' must be a list of strings")
    doc = data.get("doc")
    if answers and doc is None and not data.get("evidence"):
        raise ValueError("an answerable question needs 'doc' or 'evidence'")
    return Question(str(data.get("id", "")), data["question"], answers,
                    resolve_doc(str(doc), doc_ids) if doc is not None else None, data.get("evidence"), data.get("split"))


def read_questions(path: Path, doc_ids: list[str]) -> tuple[list[Question], list[str]]:
    """Questions and, for each bad line, a message naming its line number."""
    questions, problems = [], []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            question = parse_line(line, doc_ids)
        except (ValueError, TypeError) as exc:
            problems.append(f"{path}:{number}: skipped: {exc}")
            continue
        questions.append(question)
    return questions, problems


# ---------------------------------------------------------------- scoring
def hit_texts(chunk: Chunk) -> tuple[str, str]:
    """Squashed (passage with title, passage alone): what evidence and answers are matched in."""
    return squash(f"{chunk.title}\n{chunk.text}" if chunk.paragraph else chunk.text), squash(chunk.text)


def is_hit(question: Question, chunk: Chunk, texts: tuple[str, str] | None = None) -> bool:
    with_title, alone = texts or hit_texts(chunk)
    if question.evidence and squash(question.evidence) in with_title:
        return True
    return chunk.doc_id == question.doc and contains_any(alone, question.answers, squashed=True)


def ndcg(gains: list[int], relevant: int, k: int = 10) -> float:
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(relevant, k)))
    return dcg / ideal if ideal else 0.0


def summarise(outcomes: list[Outcome], mode: str) -> Metrics:
    withheld = [o for o in outcomes if o.question.withheld]
    outcomes = [o for o in outcomes if not o.question.withheld]
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    m = Metrics(mode, len(answerable), len(unanswerable))
    n = max(len(answerable), 1)
    m.recall = {k: sum(o.rank is not None and o.rank <= k for o in answerable) / n for k in KS}
    m.mrr10 = sum(1 / o.rank for o in answerable if o.rank and o.rank <= 10) / n
    m.ndcg10 = sum(ndcg(o.gains, o.relevant) for o in answerable) / n
    m.answer_accuracy = sum(o.answer_correct for o in answerable) / n
    m.sentence_accuracy = sum(o.sentence_correct for o in answerable) / n
    scores = [o.span_scores() for o in outcomes]
    m.em = sum(e for e, _ in scores) / max(len(scores), 1)
    m.f1 = sum(f for _, f in scores) / max(len(scores), 1)
    m.wrong_abstention = sum(o.answer.abstained for o in answerable) / n
    m.abstention = sum(o.answer.abstained for o in unanswerable) / max(len(unanswerable), 1)
    m.withheld = len(withheld)
    m.withheld_refusal = sum(o.answer.abstained for o in withheld) / len(withheld) if withheld else None
    times = sorted(o.seconds * 1000 for o in outcomes)
    if times:
        m.latency_p50_ms = times[len(times) // 2]
        m.latency_p95_ms = times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)]
    return m


def evaluate(assistant, questions: list[Question], mode: str, top_k: int = 10,
             progress: bool = True, within_doc: bool = False, withheld: bool = False) -> list[Outcome]:
    """Run every question through the same path as `qa ask`, encoding questions in one batch;
    ``withheld``: each answerable question is asked again with its document left out of the
    collection (how users ask about what is not there; the right outcome is to abstain)."""
    from tqdm import tqdm

    chunks = list(assistant.index.iter_passages())  # read from the store once, not once per question
    texts = [hit_texts(c) for c in chunks]  # squash each passage once, not once per question
    started = time.perf_counter()
    queries = [assistant.analyzer.run(assistant.prepare(q.question)[0]) for q in questions]
    vectors = assistant.retriever.encode(queries) if mode != "bm25" else [None] * len(queries)
    shared = (time.perf_counter() - started) / max(len(questions), 1)  # batch cost per question
    outcomes = []
    for question, query, vector in tqdm(list(zip(questions, queries, vectors)), desc=f"eval {mode}",
                                        unit="q", disable=not progress):
        t = time.perf_counter()
        doc = question.doc if within_doc else None
        answer = assistant.answer_query(query, vector, top_k, mode, [], doc)
        seconds = time.perf_counter() - t + shared
        gains = [int(is_hit(question, p.hit.chunk)) for p in answer.passages]
        rank = next((i + 1 for i, g in enumerate(gains) if g), None)
        relevant = sum(is_hit(question, c, t) for c, t in zip(chunks, texts)) if question.answerable else 0
        outcomes.append(Outcome(question, answer, mode, rank, relevant, gains, seconds))
        if withheld and question.answerable and question.doc:
            t = time.perf_counter()
            answer = assistant.answer_query(query, vector, top_k, mode, [], exclude=question.doc)
            asked = Question(f"{question.id}~withheld", question.question, [], None, split=question.split,
                             withheld=True)
            outcomes.append(Outcome(asked, answer, mode, None, 0, [], time.perf_counter() - t + shared))
    return outcomes


# ---------------------------------------------------------------- output
def table(metrics: list[Metrics]) -> str:
    head = ["mode", "R@1", "R@3", "R@5", "MRR@10", "nDCG@10", "answer acc", "sentence acc", "EM", "F1",
            "abstain (unans.)", "wrong abstain", "refused, doc withheld", "p50 ms", "p95 ms"]
    rows = [[m.mode, *(f"{m.recall[k]:.3f}" for k in (1, 3, 5)), f"{m.mrr10:.3f}", f"{m.ndcg10:.3f}",
             f"{m.answer_accuracy:.3f}", f"{m.sentence_accuracy:.3f}", f"{m.em:.3f}", f"{m.f1:.3f}", f"{m.abstention:.3f}", f"{m.wrong_abstention:.3f}",
             "—" if m.withheld_refusal is None else f"{m.withheld_refusal:.3f}", f"{m.latency_p50_ms:.1f}", f"{m.latency_p95_ms:.1f}"] for m in metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def result_line(outcome: Outcome, with_mode: bool) -> str:
    data = {"id": outcome.question.id, **outcome.answer.to_json()}
    if with_mode:
        data["mode"] = outcome.mode
    return json.dumps(data, ensure_ascii=False)


def run_cli(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline import Assistant

    path = Path(args.questions)
    if not path.is_file():
        print(f"qa: error: no such question file: {path}", file=sys.stderr)
        return 1
    assistant = Assistant.open(settings)
    questions, problems = read_questions(path, [d.doc_id for d in assistant.index.documents])
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.split:
        questions = [q for q in questions if q.split == args.split]
    if not questions:
        print(f"qa: error: no usable questions in {path}", file=sys.stderr)
        return 1
    modes = ["hybrid", "bm25", "dense"] if args.mode == "all" else [args.mode]
    top_k = args.top_k or 10
    if args.within_doc and any(q.doc is None for q in questions):
        print("qa: error: --within-doc needs a 'doc' on every question", file=sys.stderr)
        return 1
    if args.within_doc and args.withheld:
        print("qa: error: --withheld leaves each question's document out; --within-doc searches only it",
              file=sys.stderr)
        return 1
    runs = {mode: evaluate(assistant, questions, mode, top_k, within_doc=args.within_doc, withheld=args.withheld)
            for mode in modes}
    metrics = [summarise(outcomes, mode) for mode, outcomes in runs.items()]
    print(f"{len(questions)} questions ({metrics[0].answerable} answerable, {metrics[0].unanswerable} "
          f"unanswerable) on {settings.index_dir}")
    print(table(metrics))
    if args.results:
        with open(args.results, "w", encoding="utf-8") as fh:
            for outcomes in runs.values():
                fh.writelines(result_line(o, len(modes) > 1) + "\n" for o in outcomes)
    if args.report:
        from .report import write

        write(Path(args.report), metrics, runs, str(path), table(metrics))
        print(f"report written to {args.report}/report.md")
    return 0
