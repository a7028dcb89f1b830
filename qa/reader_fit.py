"""Fit the span reader's abstain decision on training questions its weights never saw.

    python -m qa.reader_fit SET=INDEX[@doc] ... [--out qa/models/reader.json]

The reader is trained on the train split less a dev share of its documents
(:func:`qa.reader_data.is_dev`). Here every dev question goes through retrieval and the
reader as ``qa ask`` runs it, and so, with its own document withheld from the collection,
does each answerable one of a set searched across documents (how users ask about what is not
there; CJRC's unanswerable questions cover the other kind, asked of the right judgment). A
logistic regression over :data:`qa.reader.ABSTAIN_FEATURES` learns whether the passages
answer; its probability threshold is the one with the best mean CMRC F1, an unanswerable
question scoring 1 when abstained (SQuAD 2.0's best-F1 threshold), each set weighing equally
so the many CJRC questions do not decide alone. The file records both and the dev figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .answer_metrics import f1
from .reader import ABSTAIN_FEATURES, THRESHOLD_FILE, AbstainModel, abstain_features
from .reader_data import NO_SPAN_ANSWERS, is_dev


@dataclass(frozen=True)
class DevRead:
    set: str
    answerable: bool
    features: list[float]
    f1: float  # of the best span (0 when unanswerable)


def read_dev(questions_file: Path, index_dir: Path, within_doc: bool) -> list[DevRead]:
    from tqdm import tqdm

    from .config import Settings
    from .evaluation import read_questions
    from .pipeline import Assistant
    from .reader import SpanReader

    settings = replace(Settings(), index_dir=index_dir)
    assistant = Assistant.open(settings)  # retrieval only: the reader is run here, unthresholded
    reader, depth = SpanReader(settings.answer.reader), settings.answer.passages_considered
    name = questions_file.parent.name if questions_file.parent.name != "eval" else questions_file.stem
    questions, _ = read_questions(questions_file, [d.doc_id for d in assistant.index.documents])
    questions = [q for q in questions if q.split == "train" and is_dev(q.doc)
                 and not any(a.upper() in NO_SPAN_ANSWERS for a in q.answers)]
    out = []
    for q in tqdm(questions, desc=f"reader dev {name}", unit="q"):
        query = assistant.analyzer.run(assistant.prepare(q.question)[0])
        asks = [(q.answers, {"doc": q.doc} if within_doc else {})]
        if q.answers and q.doc and not within_doc:
            asks.append(([], {"exclude": q.doc}))  # the same question, its document withheld
        for answers, where in asks:
            hits = assistant.retriever.run(query, top_k=depth, **where)[:depth]
            spans = reader.read(query.text, [h.chunk.text for h in hits])
            score = 0.0
            if spans and answers:
                best = spans[0]
                score = f1(hits[best.passage].chunk.text[best.start : best.end], answers)
            out.append(DevRead(name, bool(answers), abstain_features(query, hits, spans), score))
    assistant.index.close()
    return out


#: At most this share of any set's answerable dev questions may be refused (a wrong refusal
#: costs a user more than the F1 metric says: the answer was there).
MAX_WRONG_ABSTAIN = 0.05


def fit(reads: list[DevRead], max_wrong: float = MAX_WRONG_ABSTAIN) -> tuple[AbstainModel, dict]:
    """The abstain model (answerable or not, sets weighed equally) and its best-F1 threshold."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([r.features for r in reads], np.float64)
    y = np.array([r.answerable for r in reads], int)
    sets = [r.set for r in reads]
    counts = {s: sets.count(s) for s in set(sets)}
    weight = np.array([len(reads) / (len(counts) * counts[s]) for s in sets])
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-6] = 1.0  # a feature constant on the dev questions: left as it is
    model = LogisticRegression(C=1.0, max_iter=1000).fit((x - mean) / scale, y, sample_weight=weight)
    probabilities = model.predict_proba((x - mean) / scale)[:, 1]
    threshold = choose_threshold(reads, probabilities, max_wrong)
    abstain = AbstainModel(tuple(float(w) for w in model.coef_[0].round(6)), round(float(model.intercept_[0]), 6),
                           tuple(float(m) for m in mean.round(6)), tuple(float(v) for v in scale.round(6)),
                           round(float(threshold), 6))
    return abstain, figures(reads, probabilities, threshold)


def choose_threshold(reads: list[DevRead], probabilities: np.ndarray, max_wrong: float = 1.0) -> float:
    """The probability under which to abstain with the best per-set-averaged F1, among those
    that refuse at most ``max_wrong`` of any set's answerable questions."""
    ordered = np.sort(np.unique(probabilities))
    candidates = [0.0, *((ordered[:-1] + ordered[1:]) / 2), 1.0]
    allowed = [t for t in candidates if _worst_wrong(reads, probabilities, t) <= max_wrong] or [0.0]
    return max(allowed, key=lambda t: _score(reads, probabilities, t))


def _worst_wrong(reads: list[DevRead], probabilities: np.ndarray, threshold: float) -> float:
    by_set: dict[str, list[bool]] = {}
    for r, p in zip(reads, probabilities):
        if r.answerable:
            by_set.setdefault(r.set, []).append(p < threshold)
    return max((float(np.mean(v)) for v in by_set.values()), default=0.0)


def _score(reads: list[DevRead], probabilities: np.ndarray, threshold: float) -> float:
    by_set: dict[str, list[float]] = {}
    for r, p in zip(reads, probabilities):
        by_set.setdefault(r.set, []).append((r.f1 if p >= threshold else 0.0) if r.answerable else float(p < threshold))
    return float(np.mean([np.mean(v) for v in by_set.values()]))


def figures(reads: list[DevRead], probabilities: np.ndarray, threshold: float) -> dict:
    out = {}
    for s in sorted({r.set for r in reads}):
        mine = [(r, p) for r, p in zip(reads, probabilities) if r.set == s]
        answerable = [p < threshold for r, p in mine if r.answerable]
        unanswerable = [p < threshold for r, p in mine if not r.answerable]
        out[s] = {"questions": len(mine),
                  "f1": round(float(np.mean([(r.f1 if p >= threshold else 0.0) if r.answerable else float(p < threshold)
                                             for r, p in mine])), 4),
                  "wrong_abstain": round(float(np.mean(answerable)), 4) if answerable else None,
                  "abstained_unanswerable": round(float(np.mean(unanswerable)), 4) if unanswerable else None}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", metavar="QUESTIONS.jsonl=INDEX_DIR[@doc]")
    parser.add_argument("--out", type=Path, default=THRESHOLD_FILE)
    parser.add_argument("--max-wrong-abstain", type=float, default=MAX_WRONG_ABSTAIN)
    parser.add_argument("--reads", type=Path, help="keep the dev reads in (or reuse them from) this JSON file")
    args = parser.parse_args(argv)
    if args.reads and args.reads.exists():
        reads = [DevRead(**r) for r in json.loads(args.reads.read_text("utf-8"))]
    else:
        reads = []
        for spec in args.sets:
            questions, _, index = spec.partition("=")
            reads += read_dev(Path(questions), Path(index.removesuffix("@doc")), index.endswith("@doc"))
        if args.reads:
            args.reads.write_text(json.dumps([r.__dict__ for r in reads]), "utf-8")
    abstain, dev = fit(reads, args.max_wrong_abstain)
    record = {"abstain": {"features": list(ABSTAIN_FEATURES), "weights": list(abstain.weights), "bias": abstain.bias,
                          "mean": list(abstain.mean), "scale": list(abstain.scale), "threshold": abstain.threshold},
              "fitted_on": "dev share of the train split (qa.reader_data.is_dev), and its answerable questions "
                           "asked again with their document withheld",
              "max_wrong_abstain": args.max_wrong_abstain, "sets": [s.split("=")[0] for s in args.sets], "dev": dev}
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", "utf-8")
    tmp.replace(args.out)
    print(json.dumps(record, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
