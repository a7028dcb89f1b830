"""``qa fit-answers``: fit the answer models on the train split of question sets, score the test split.

Each set is ``QUESTIONS.jsonl=INDEX_DIR`` (``@doc`` after it: retrieve within each question's own
document, as CJRC is scored). Only questions whose ``split`` is ``train`` are fitted on; the
``test`` questions are answered with the fitted models and their figures are stored with the
models (``provenance``) and printed, so what ships says how it did on questions it never saw.

Fitting, in order (each stage sees the one before it, as at answer time):
1. sentence model — every sentence of the top passages, labelled by whether it holds a gold answer;
2. span model (gradient-boosted trees) — candidate spans of the first sentence that holds one,
   the best-F1 ones (F1 ≥ ``SPAN_F1``) labelled right;
3. abstain model — the winners' scores, labelled answerable or not; its threshold refuses at
   most ``max_wrong_abstention`` of the answerable training questions.
A set of n questions weighs √n in every fit, so a small set (the news seed questions) counts
and no large one (CJRC) dominates.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .answer_features import SENTENCE_FEATURES, SPAN_FEATURES
from .answer_metrics import f1
from .answer_model import MODEL_FILE, AnswerModels, LinearModel, TreeModel
from .answering import ABSTAIN_FEATURES
from .config import Settings
from .evaluation import Question, contains_any, evaluate, read_questions, summarise

SPAN_F1 = 0.5  # the best candidates count as the answer when their F1 against the gold reaches this
SPAN_NEGATIVES = 60  # wrong spans kept per question (all right ones are kept)
REGULARISATION = 1.0  # scikit-learn's C on standardised features
MAX_WRONG_ABSTENTION = 0.05
# The span model's trees: on held-out spans (same features) they raised the best-candidate F1
# over logistic regression: DRCD 0.414 → 0.498, CJRC 0.550 → 0.593, CMRC 0.535 → 0.542.
TREES = 300
TREE_LEARNING_RATE = 0.08
TREE_LEAVES = 31
SET_WEIGHT_POWER = 0.5  # 0: every question alike; 1: every set alike
WITHHELD_SHARE = 0.3  # answerable training questions also asked once more without their document
YES_NO = ({"YES"}, {"NO"})


@dataclass
class QuestionSet:
    name: str
    questions: Path
    index_dir: Path
    within_doc: bool

    @classmethod
    def parse(cls, spec: str) -> QuestionSet:
        if "=" not in spec:
            raise ValueError(f"'{spec}': expected QUESTIONS.jsonl=INDEX_DIR[@doc]")
        questions, index = spec.split("=", 1)
        within = index.endswith("@doc")
        index = index.removesuffix("@doc")
        path = Path(questions)
        name = path.parent.name if path.stem == "questions" and path.parent.name else path.stem
        return cls(name, path, Path(index), within)


@dataclass
class Case:
    """One training question with what retrieval gave it (retrieval does not depend on the models)."""

    set_index: int
    question: Question
    query: object
    vector: np.ndarray
    hits: list
    withheld: bool = False  # its document was left out of retrieval: the collection does not answer it


@dataclass
class Matrix:
    rows: list[list[float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)

    def add(self, rows: list[list[float]], labels: list[int], weight: float) -> None:
        self.rows.extend(rows)
        self.labels.extend(labels)
        self.weights.extend([weight] * len(rows))


def fit_trees(features: tuple[str, ...], matrix: Matrix) -> TreeModel:
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(max_iter=TREES, learning_rate=TREE_LEARNING_RATE,
                                           max_leaf_nodes=TREE_LEAVES, l2_regularization=1.0, random_state=0)
    model.fit(np.asarray(matrix.rows, np.float64), np.asarray(matrix.labels), sample_weight=np.asarray(matrix.weights))
    return TreeModel.from_sklearn(features, model)


def fit_linear(features: tuple[str, ...], matrix: Matrix) -> LinearModel:
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(matrix.rows, np.float64)
    y = np.asarray(matrix.labels)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=REGULARISATION, max_iter=3000)
    model.fit((x - mean) / scale, y, sample_weight=np.asarray(matrix.weights))
    return LinearModel(list(features), mean.tolist(), scale.tolist(), model.coef_[0].tolist(),
                       float(model.intercept_[0]))


def collect(assistant, qset: QuestionSet, set_index: int, questions: list[Question],
            rng: random.Random) -> list[Case]:
    from tqdm import tqdm

    queries = [assistant.analyzer.run(assistant.prepare(q.question)[0]) for q in questions]
    vectors = assistant.retriever.encode(queries)
    k = assistant.settings.answer.passages_considered
    cases = []
    for question, query, vector in tqdm(list(zip(questions, queries, vectors)), desc=f"retrieve {qset.name}",
                                        unit="q", mininterval=5):
        hits = assistant.retriever.run(query, vector=vector, top_k=k, doc=question.doc if qset.within_doc else None)
        cases.append(Case(set_index, question, query, vector, hits))
        if question.answerable and question.doc and rng.random() < WITHHELD_SHARE:
            # The same question over the collection without its document: a question the
            # documents do not answer, as users ask them (the abstain model learns from both).
            other = assistant.retriever.run(query, vector=vector, top_k=k, exclude=question.doc)
            cases.append(Case(set_index, question, query, vector, other, withheld=True))
    return cases


def _learned(settings: Settings) -> Settings:
    return replace(settings, answer=replace(settings.answer, method="learned"))


def _is_yes_no(question: Question) -> bool:
    return set(question.answers) in YES_NO


def fit(sets: list[QuestionSet], settings: Settings, seed: int = 0, limit: int | None = None) -> AnswerModels:
    from tqdm import tqdm

    from .pipeline import Assistant

    rng = random.Random(seed)
    untrained = AnswerModels.untrained(SENTENCE_FEATURES, SPAN_FEATURES, ABSTAIN_FEATURES)
    cases, assistants = [], []
    settings = _learned(settings)
    for i, qset in enumerate(sets):
        assistant = Assistant.open(replace(settings, index_dir=qset.index_dir), models=untrained)
        assistant.extractor.vectors.capacity = 500_000
        questions, problems = read_questions(qset.questions, [d.doc_id for d in assistant.index.documents])
        for problem in problems:
            print(problem, file=sys.stderr)
        cases += collect(assistant, qset, i, [q for q in questions if q.split == "train"][:limit], rng)
        assistants.append(assistant)
    per_set = [sum(c.set_index == i and not c.withheld for c in cases) for i in range(len(sets))]
    # A set weighs n^SET_WEIGHT_POWER in all: small sets count, without one dominating.
    raw = [n ** (SET_WEIGHT_POWER - 1) if n else 0.0 for n in per_set]
    scale = sum(per_set) / sum(w * n for w, n in zip(raw, per_set))
    weight = [w * scale for w in raw]

    sentences, spans = Matrix(), Matrix()
    for case in tqdm(cases, desc="sentence and span features", unit="q", mininterval=5):
        if case.withheld or not case.question.answerable or _is_yes_no(case.question):
            continue
        extractor = assistants[case.set_index].extractor
        view, refs, rows = extractor.sentence_stage(case.query, case.hits, case.vector)
        labels = [int(contains_any(r.context.text, case.question.answers)) for r in refs]
        sentences.add(rows, labels, weight[case.set_index])
        if 1 in labels:
            gold = refs[labels.index(1)]
            candidates, rows = extractor.spans(view, gold)
            text = gold.context.text
            scores = [f1(text[s:e], case.question.answers) for s, e in candidates]
            best = max(scores, default=0.0)
            # The best candidates are the positives: "contains the answer" alone would teach long spans.
            span_labels = [int(best >= SPAN_F1 and score == best) for score in scores]
            keep = [j for j, y in enumerate(span_labels) if y]
            wrong = [j for j, y in enumerate(span_labels) if not y]
            keep += rng.sample(wrong, min(SPAN_NEGATIVES, len(wrong)))
            spans.add([rows[j] for j in keep], [span_labels[j] for j in keep], weight[case.set_index])
    sentence_model = fit_linear(SENTENCE_FEATURES, sentences)
    span_model = fit_trees(SPAN_FEATURES, spans)

    fitted = AnswerModels(sentence_model, span_model, LinearModel.zero(ABSTAIN_FEATURES), 0.0, MAX_WRONG_ABSTENTION)
    abstain = Matrix()
    for assistant in assistants:
        assistant.extractor.models = fitted
    for case in tqdm(cases, desc="abstain features", unit="q", mininterval=5):
        decision = assistants[case.set_index].extractor.decide(case.query, case.hits, case.vector)
        if decision.best is not None:
            answered = case.question.answerable and not case.withheld
            abstain.add([decision.abstain_row], [int(answered)], weight[case.set_index])
    if len(set(abstain.labels)) < 2:
        raise ValueError("the abstain model needs answerable and unanswerable training questions "
                         "(CJRC has both): add such a set")
    fitted.abstain = fit_linear(ABSTAIN_FEATURES, abstain)
    answerable = [row for row, y in zip(abstain.rows, abstain.labels) if y]
    probabilities = fitted.abstain.probabilities(answerable)
    fitted.threshold = float(np.quantile(probabilities, MAX_WRONG_ABSTENTION)) if len(probabilities) else 0.0
    fitted.provenance = {
        "fitted_on": {s.name: n for s, n in zip(sets, per_set)},
        "samples": {"sentence": len(sentences.rows), "span": len(spans.rows), "abstain": len(abstain.rows)},
        "withheld": sum(c.withheld for c in cases), "span_f1": SPAN_F1, "span_trees": TREES, "set_weight_power": SET_WEIGHT_POWER, "regularisation_c": REGULARISATION, "seed": seed,
    }
    return fitted


def held_out(models: AnswerModels, sets: list[QuestionSet], settings: Settings, limit: int | None = None) -> dict:
    """Figures on each set's test split, answered with ``models``."""
    from .pipeline import Assistant

    figures = {}
    settings = _learned(settings)
    for qset in sets:
        assistant = Assistant.open(replace(settings, index_dir=qset.index_dir), models=models)
        questions, _ = read_questions(qset.questions, [d.doc_id for d in assistant.index.documents])
        test = [q for q in questions if q.split == "test"][:limit]
        if not test:
            continue
        m = summarise(evaluate(assistant, test, "hybrid", within_doc=qset.within_doc, progress=False), "hybrid")
        figures[qset.name] = {"questions": len(test), "R@1": round(m.recall[1], 3),
                              "answer_accuracy": round(m.answer_accuracy, 3),
                              "sentence_accuracy": round(m.sentence_accuracy, 3), "em": round(m.em, 3),
                              "f1": round(m.f1, 3), "abstention": round(m.abstention, 3),
                              "wrong_abstention": round(m.wrong_abstention, 3)}
        print(f"{qset.name} test: " + ", ".join(f"{k} {v}" for k, v in figures[qset.name].items()))
    return figures


def run_cli(args: argparse.Namespace, settings: Settings) -> int:
    try:
        sets = [QuestionSet.parse(spec) for spec in args.sets]
    except ValueError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 2
    for qset in sets:
        if not qset.questions.is_file():
            print(f"qa: error: no such question file: {qset.questions}", file=sys.stderr)
            return 1
    try:
        models = fit(sets, settings, args.seed, args.limit)
    except ValueError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 1
    models.provenance["held_out"] = held_out(models, sets, settings, args.limit)
    models.provenance["limit"] = args.limit
    out = Path(args.out) if args.out else MODEL_FILE
    models.save(out)
    print(f"answer models written to {out} (threshold {models.threshold:.3f})")
    return 0
