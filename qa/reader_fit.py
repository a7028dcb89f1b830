"""Fit the span reader's abstain threshold on training questions its weights never saw.

    python -m qa.reader_fit SET=INDEX[@doc] ... [--out qa/models/reader.json]

The reader is trained on the train split less a dev share of its documents
(:func:`qa.reader_data.is_dev`). Here every dev question goes through retrieval and the
reader as ``qa ask`` would run it, and the threshold on the best span's margin is the one
that maximises the mean CMRC F1 over those questions, an unanswerable question scoring 1
when abstained (SQuAD 2.0's best-F1 threshold). Each set weighs equally, so the many CJRC
questions do not decide alone. The file records the threshold and the dev figures at it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .answer_metrics import f1
from .reader import THRESHOLD_FILE
from .reader_data import NO_SPAN_ANSWERS, is_dev


@dataclass(frozen=True)
class DevRead:
    set: str
    answerable: bool
    margin: float  # best span's margin (-inf: nothing read)
    f1: float  # of the best span, if answered


def read_dev(questions_file: Path, index_dir: Path, within_doc: bool) -> list[DevRead]:
    from tqdm import tqdm

    from .config import AnswerSettings, Settings
    from .evaluation import read_questions
    from .pipeline import Assistant

    settings = Settings()
    settings = replace(settings, index_dir=index_dir, answer=replace(AnswerSettings(), method="reader"))
    assistant = Assistant.open(settings)
    reader, depth = assistant.extractor.reader, settings.answer.passages_considered
    name = questions_file.parent.name if questions_file.parent.name != "eval" else questions_file.stem
    questions, _ = read_questions(questions_file, [d.doc_id for d in assistant.index.documents])
    questions = [q for q in questions if q.split == "train" and is_dev(q.doc)
                 and not any(a.upper() in NO_SPAN_ANSWERS for a in q.answers)]
    out = []
    for q in tqdm(questions, desc=f"reader dev {name}", unit="q"):
        query = assistant.analyzer.run(assistant.prepare(q.question)[0])
        hits = assistant.retriever.run(query, top_k=depth, doc=q.doc if within_doc else None)
        spans = reader.read(query.text, [h.chunk.text for h in hits[:depth]])
        if not spans:
            out.append(DevRead(name, bool(q.answers), -np.inf, 0.0))
            continue
        best = spans[0]
        text = hits[best.passage].chunk.text[best.start : best.end]
        out.append(DevRead(name, bool(q.answers), best.margin, f1(text, q.answers) if q.answers else 0.0))
    assistant.index.close()
    return out


def choose_threshold(reads: list[DevRead]) -> tuple[float, dict]:
    """The margin threshold with the best per-set-averaged F1 (abstaining scores 1 when unanswerable)."""
    sets = sorted({r.set for r in reads})
    margins = sorted({r.margin for r in reads if np.isfinite(r.margin)})
    candidates = [margins[0] - 1.0, *((a + b) / 2 for a, b in zip(margins, margins[1:])), margins[-1] + 1.0]

    def score(threshold: float) -> float:
        return float(np.mean([np.mean([(r.f1 if r.margin >= threshold else 0.0) if r.answerable else
                                       float(r.margin < threshold) for r in reads if r.set == s]) for s in sets]))

    best = max(candidates, key=score)
    return best, figures(reads, best)


def figures(reads: list[DevRead], threshold: float) -> dict:
    out = {}
    for s in sorted({r.set for r in reads}):
        mine = [r for r in reads if r.set == s]
        answerable = [r for r in mine if r.answerable]
        unanswerable = [r for r in mine if not r.answerable]
        out[s] = {"questions": len(mine),
                  "f1": round(float(np.mean([(r.f1 if r.margin >= threshold else 0.0) if r.answerable
                                             else float(r.margin < threshold) for r in mine])), 4),
                  "wrong_abstain": round(float(np.mean([r.margin < threshold for r in answerable])), 4)
                  if answerable else None,
                  "abstained_unanswerable": round(float(np.mean([r.margin < threshold for r in unanswerable])), 4)
                  if unanswerable else None}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", metavar="QUESTIONS.jsonl=INDEX_DIR[@doc]")
    parser.add_argument("--out", type=Path, default=THRESHOLD_FILE)
    args = parser.parse_args(argv)
    reads: list[DevRead] = []
    for spec in args.sets:
        questions, _, index = spec.partition("=")
        reads += read_dev(Path(questions), Path(index.removesuffix("@doc")), index.endswith("@doc"))
    threshold, dev = choose_threshold(reads)
    record = {"threshold": round(threshold, 4), "fitted_on": "dev share of the train split (qa.reader_data.is_dev)",
              "sets": [s.split("=")[0] for s in args.sets], "dev": dev}
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", "utf-8")
    tmp.replace(args.out)
    print(json.dumps(record, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
