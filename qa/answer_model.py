"""The fitted answer models over named features, stored as JSON: logistic regressions and trees.

Three models are fitted by ``qa fit-answers`` (:mod:`qa.answer_fit`) on the *train* split of
public question sets and shipped in ``qa/models/answers.json``:

* ``sentence`` — P(this sentence holds the answer), over the sentences of the top passages;
* ``span``     — P(this span is the answer), over candidate spans of the chosen sentence, by
  gradient-boosted trees (span shapes interact with question kinds, which a linear model
  cannot express);
* ``abstain``  — P(the question is answered by the documents), from the winners' scores, with
  the ``threshold`` chosen on training questions so that at most ``max_wrong_abstention`` of
  the answerable ones are refused.

Inference is numpy alone (a dot product, or walking the flattened trees): scikit-learn is
needed only to fit.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

MODEL_FILE = Path(__file__).resolve().parent / "models" / "answers.json"
MODEL_FORMAT = 1


class AnswerModelError(RuntimeError):
    """The answer model file is missing, damaged or was fitted on other features."""


def save_json(path: Path, data: dict) -> None:
    """A fitted model file, written whole or not at all (a crash leaves the previous one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", "utf-8")
    tmp.replace(path)


def sigmoid(logits):
    return 1 / (1 + np.exp(-logits))


class _Scorer:
    """What both kinds of model share: probabilities from logits, JSON from the public fields."""

    def logits(self, rows) -> np.ndarray:
        raise NotImplementedError

    def probabilities(self, rows) -> np.ndarray:
        return sigmoid(self.logits(rows))

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


@dataclass
class LinearModel(_Scorer):
    """Standardised features → logistic regression; names guard against feature drift."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float

    def __post_init__(self) -> None:
        self._mean = np.asarray(self.mean, np.float64)
        self._scale = np.asarray(self.scale, np.float64)
        self._weights = np.asarray(self.weights, np.float64)

    def logits(self, rows: list[list[float]] | np.ndarray) -> np.ndarray:
        x = np.asarray(rows, np.float64)
        if x.size == 0:
            return np.zeros(0)
        return ((x - self._mean) / self._scale) @ self._weights + self.bias

    @classmethod
    def from_json(cls, data: dict, features: tuple[str, ...]) -> tuple[LinearModel, dict]:
        """The model saved by ``to_json`` (ValueError unless fitted on ``features``), and any
        other keys saved beside it (a threshold)."""
        data = dict(data)
        extra = {k: data.pop(k) for k in list(data) if k not in cls.__dataclass_fields__}
        model = cls(**data)
        if tuple(model.features) != tuple(features):
            raise ValueError("features differ")
        return model, extra

    @classmethod
    def zero(cls, features: tuple[str, ...]) -> LinearModel:
        """A model that scores everything alike: what fitting starts from."""
        n = len(features)
        return cls(list(features), [0.0] * n, [1.0] * n, [0.0] * n, 0.0)


@dataclass
class TreeModel(_Scorer):
    """Gradient-boosted trees (scikit-learn's HistGradientBoosting), flattened to arrays.

    Every tree's nodes sit in one set of arrays; ``roots`` says where each tree starts. A row
    goes left when its feature is ≤ the threshold (a NaN goes where ``missing_left`` says), as
    scikit-learn's own predictor does; the logit is ``baseline`` plus the leaves reached.
    """

    features: list[str]
    baseline: float
    roots: list[int]
    feature: list[int]
    threshold: list[float]
    left: list[int]
    right: list[int]
    leaf: list[bool]
    missing_left: list[bool]
    value: list[float]
    depth: int

    def __post_init__(self) -> None:
        self._roots = np.asarray(self.roots, np.int64)
        self._feature = np.asarray(self.feature, np.int64)
        self._threshold = np.asarray(self.threshold, np.float64)
        self._left = np.asarray(self.left, np.int64)
        self._right = np.asarray(self.right, np.int64)
        self._leaf = np.asarray(self.leaf, bool)
        self._missing_left = np.asarray(self.missing_left, bool)
        self._value = np.asarray(self.value, np.float64)

    def logits(self, rows) -> np.ndarray:
        x = np.asarray(rows, np.float64)
        if x.size == 0:
            return np.zeros(0)
        node = np.broadcast_to(self._roots, (len(x), len(self._roots))).copy()  # rows × trees
        row = np.arange(len(x))[:, None]
        for _ in range(self.depth):
            leaf = self._leaf[node]
            if leaf.all():
                break
            v = x[row, self._feature[node]]
            go_left = np.where(np.isnan(v), self._missing_left[node], v <= self._threshold[node])
            node = np.where(leaf, node, np.where(go_left, self._left[node], self._right[node]))
        return self.baseline + self._value[node].sum(axis=1)

    @classmethod
    def from_sklearn(cls, features: tuple[str, ...], model) -> TreeModel:
        """Flatten a fitted binary HistGradientBoostingClassifier."""
        out = {k: [] for k in ("roots", "feature", "threshold", "left", "right", "leaf", "missing_left", "value")}
        depth = 0
        for (tree,) in model._predictors:  # one tree per iteration for a binary target
            nodes, start = tree.nodes, len(out["feature"])
            out["roots"].append(start)
            for node in nodes:
                out["feature"].append(int(node["feature_idx"]))
                out["threshold"].append(float(node["num_threshold"]))
                out["left"].append(start + int(node["left"]))
                out["right"].append(start + int(node["right"]))
                out["leaf"].append(bool(node["is_leaf"]))
                out["missing_left"].append(bool(node["missing_go_to_left"]))
                out["value"].append(float(node["value"]))
            depth = max(depth, int(nodes["depth"].max()) + 1)
        return cls(list(features), float(np.ravel(model._baseline_prediction)[0]), depth=depth, **out)


def load_scorer(data: dict) -> LinearModel | TreeModel:
    return TreeModel(**data["trees"]) if "trees" in data else LinearModel(**data)


def scorer_json(model: LinearModel | TreeModel) -> dict:
    return {"trees": model.to_json()} if isinstance(model, TreeModel) else model.to_json()


@dataclass
class AnswerModels:
    sentence: LinearModel
    span: LinearModel | TreeModel
    abstain: LinearModel | TreeModel
    threshold: float
    max_wrong_abstention: float
    provenance: dict = field(default_factory=dict)  # what it was fitted on, and held-out figures

    @classmethod
    def untrained(cls, sentence: tuple[str, ...], span: tuple[str, ...], abstain: tuple[str, ...]) -> AnswerModels:
        return cls(LinearModel.zero(sentence), LinearModel.zero(span), LinearModel.zero(abstain), 0.0, 0.0)

    def check(self, sentence: tuple[str, ...], span: tuple[str, ...], abstain: tuple[str, ...]) -> None:
        for name, model, expected in (("sentence", self.sentence, sentence), ("span", self.span, span),
                                      ("abstain", self.abstain, abstain)):
            if tuple(model.features) != tuple(expected):
                raise AnswerModelError(f"the {name} model was fitted on other features: run `qa fit-answers`")

    def save(self, path: Path = MODEL_FILE) -> None:
        data = {"format": MODEL_FORMAT, "sentence": scorer_json(self.sentence), "span": scorer_json(self.span),
                "abstain": scorer_json(self.abstain), "threshold": self.threshold,
                "max_wrong_abstention": self.max_wrong_abstention, "provenance": self.provenance}
        save_json(path, data)

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> AnswerModels:
        try:
            data = json.loads(path.read_text("utf-8"))
            if data.get("format") != MODEL_FORMAT:
                raise AnswerModelError(f"{path} has format {data.get('format')}, expected {MODEL_FORMAT}")
            return cls(load_scorer(data["sentence"]), load_scorer(data["span"]), load_scorer(data["abstain"]),
                       float(data["threshold"]), float(data["max_wrong_abstention"]), data.get("provenance", {}))
        except AnswerModelError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AnswerModelError(f"cannot read the answer model {path} ({exc}): reinstall, or run "
                                   "`qa fit-answers`") from exc
