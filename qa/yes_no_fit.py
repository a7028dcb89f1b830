"""Fit the yes/no models (:mod:`qa.yes_no`) on the train split of question sets.

    python -m qa.yes_no_fit SET=INDEX[@doc] ... [--out qa/models/yes_no.json]

Every train-split question the analyser calls yes/no (as ``qa ask`` routes them) goes through
retrieval; its evidence features are labelled by the gold answers: answered (YES, NO or a span)
or not (no gold answer), and, where the gold is YES or NO, which. Both models are logistic
regressions (:func:`qa.answer_fit.fit_linear`); the abstain threshold is chosen as the
reader's is (:func:`qa.reader_fit.choose_threshold`: best F1, refusing at most
:data:`qa.reader_fit.MAX_WRONG_ABSTAIN`, 10%, of the answerable questions), the verdict
scoring 1 when right. No feature comes from the reader, so
its training questions may be used here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .answer_fit import Matrix, QuestionSet, fit_linear
from .answer_model import save_json
from .reader_data import open_set
from .reader_fit import MAX_WRONG_ABSTAIN, DevRead, choose_threshold, figures
from .yes_no import FEATURES, MODEL_FILE, YesNoModel, evidence

VERDICTS = {"YES": 1, "NO": 0}


def read_set(qset: QuestionSet, split: str = "train") -> list[tuple[list[float], bool, int | None]]:
    """(features, answerable, 1 = yes / 0 = no / None) of each yes/no question of ``split``."""
    from tqdm import tqdm

    assistant, questions = open_set(qset, lambda q: q.split == split)
    depth, rows = assistant.settings.answer.passages_considered, []
    for q in tqdm(questions, desc=f"yes/no {qset.name}", unit="q", mininterval=5):
        query = assistant.analyzer.run(assistant.prepare(q.question)[0])
        if query.answer_type != "yesno" or query.english:
            continue
        hits = assistant.retriever.run(query, top_k=depth, doc=q.doc if qset.within_doc else None)[:depth]
        found = evidence(query, hits, assistant.settings.answer.sentence_max_chars) if hits else None
        if found is not None:
            verdicts = {VERDICTS[a.upper()] for a in q.answers if a.upper() in VERDICTS}
            rows.append((found.features, bool(q.answers), verdicts.pop() if len(verdicts) == 1 else None))
    assistant.index.close()
    return rows


def fit(rows: list[tuple[list[float], bool, int | None]], max_wrong: float = MAX_WRONG_ABSTAIN) -> tuple[YesNoModel, dict]:
    answered, verdict = Matrix(), Matrix()
    for features, answerable, yes in rows:
        answered.add([features], [int(answerable)], 1.0)
        if yes is not None:
            verdict.add([features], [yes], 1.0)
    answers, yes = fit_linear(FEATURES, answered), fit_linear(FEATURES, verdict)
    said_yes = yes.probabilities([f for f, _, _ in rows]) >= 0.5
    reads = [DevRead("yes/no", answerable, features, float(label is not None and said == bool(label)))
             for (features, answerable, label), said in zip(rows, said_yes)]
    probabilities = answers.probabilities(answered.rows)
    threshold = choose_threshold(reads, probabilities, max_wrong)
    labelled = [(s, label) for s, (_, _, label) in zip(said_yes, rows) if label is not None]
    record = {**figures(reads, probabilities, threshold)["yes/no"],
              "verdict_accuracy": round(float(np.mean([s == bool(label) for s, label in labelled])), 4),
              "yes_share": round(float(np.mean([label for _, label in labelled])), 4)}
    return YesNoModel(answers, round(float(threshold), 6), yes), record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", metavar="QUESTIONS.jsonl=INDEX_DIR[@doc]")
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--max-wrong-abstain", type=float, default=MAX_WRONG_ABSTAIN)
    args = parser.parse_args(argv)
    rows = [row for spec in args.sets for row in read_set(QuestionSet.parse(spec))]
    if not any(label is not None for _, _, label in rows) or all(answerable for _, answerable, _ in rows):
        print("qa: error: the sets hold no yes/no questions with YES/NO gold answers and unanswerable ones",
              file=sys.stderr)
        return 1
    model, train = fit(rows, args.max_wrong_abstain)
    record = {**model.to_json(), "fitted_on": "train split, questions the analyser calls yes/no",
              "sets": [s.split("=")[0] for s in args.sets], "questions": len(rows), "train": train}
    save_json(args.out, record)
    print(json.dumps(record, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
