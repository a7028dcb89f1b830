"""The fitted answer models: logistic regressions over named features, stored as JSON.

Three models are fitted by ``qa fit-answers`` (:mod:`qa.answer_fit`) on the *train* split of
public question sets and shipped in ``qa/models/answers.json``:

* ``sentence`` — P(this sentence holds the answer), over the sentences of the top passages;
* ``span``     — P(this span is the answer, F1 ≥ 0.6), over candidate spans of the chosen sentence;
* ``abstain``  — P(the question is answered by the documents), from the winners' scores, with
  the ``threshold`` chosen on training questions so that at most ``max_wrong_abstention`` of
  the answerable ones are refused.

Inference is a dot product in numpy: scikit-learn is needed only to fit.
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


@dataclass
class LinearModel:
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

    def probabilities(self, rows) -> np.ndarray:
        return 1 / (1 + np.exp(-self.logits(rows)))

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}

    @classmethod
    def zero(cls, features: tuple[str, ...]) -> LinearModel:
        """A model that scores everything alike: what fitting starts from."""
        n = len(features)
        return cls(list(features), [0.0] * n, [1.0] * n, [0.0] * n, 0.0)


@dataclass
class AnswerModels:
    sentence: LinearModel
    span: LinearModel
    abstain: LinearModel
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
        data = {"format": MODEL_FORMAT, "sentence": self.sentence.to_json(), "span": self.span.to_json(),
                "abstain": self.abstain.to_json(), "threshold": self.threshold,
                "max_wrong_abstention": self.max_wrong_abstention, "provenance": self.provenance}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> AnswerModels:
        try:
            data = json.loads(path.read_text("utf-8"))
            if data.get("format") != MODEL_FORMAT:
                raise AnswerModelError(f"{path} has format {data.get('format')}, expected {MODEL_FORMAT}")
            return cls(LinearModel(**data["sentence"]), LinearModel(**data["span"]), LinearModel(**data["abstain"]),
                       float(data["threshold"]), float(data["max_wrong_abstention"]), data.get("provenance", {}))
        except AnswerModelError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AnswerModelError(f"cannot read the answer model {path} ({exc}): reinstall, or run "
                                   "`qa fit-answers`") from exc
