import json

import numpy as np
import pytest

from qa.answer_features import SENTENCE_FEATURES, SPAN_FEATURES
from qa.answer_model import MODEL_FILE, AnswerModelError, AnswerModels, LinearModel
from qa.answering import ABSTAIN_FEATURES


def test_linear_model_standardises_then_applies_the_weights():
    model = LinearModel(["a", "b"], [1.0, 0.0], [2.0, 1.0], [1.0, -1.0], 0.5)
    assert model.logits([[3.0, 1.0]])[0] == pytest.approx((3 - 1) / 2 - 1 + 0.5)
    assert 0 < model.probabilities([[3.0, 1.0]])[0] < 1
    assert model.logits([]).size == 0


def test_round_trip_and_feature_drift_is_refused(tmp_path):
    models = AnswerModels.untrained(("a",), ("b",), ("c",))
    path = tmp_path / "m.json"
    models.save(path)
    again = AnswerModels.load(path)
    assert again.sentence.features == ["a"] and again.threshold == 0.0
    with pytest.raises(AnswerModelError, match="qa fit-answers"):
        again.check(("x",), ("b",), ("c",))


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": 99})])
def test_a_damaged_model_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "m.json"
    path.write_text(content, "utf-8")
    with pytest.raises(AnswerModelError):
        AnswerModels.load(path)


def test_the_shipped_models_match_the_code_and_say_what_they_were_fitted_on():
    models = AnswerModels.load(MODEL_FILE)
    models.check(SENTENCE_FEATURES, SPAN_FEATURES, ABSTAIN_FEATURES)
    assert 0 < models.threshold < 1
    assert models.provenance["fitted_on"] and models.provenance["held_out"]
    zero = [[0.0] * len(SPAN_FEATURES)]
    assert np.isfinite(models.span.logits(zero)).all() and np.isfinite(models.sentence.weights).all()


def test_flattened_trees_score_exactly_as_scikit_learn():
    from sklearn.ensemble import HistGradientBoostingClassifier

    from qa.answer_model import TreeModel, load_scorer, scorer_json

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 4))
    x[rng.random(x.shape) < 0.05] = np.nan  # missing values take the side the fit chose
    y = (np.nan_to_num(x[:, 0]) * np.nan_to_num(x[:, 1]) + np.nan_to_num(x[:, 2]) > 0.2).astype(int)
    fitted = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(x, y)
    trees = TreeModel.from_sklearn(("a", "b", "c", "d"), fitted)
    again = load_scorer(json.loads(json.dumps(scorer_json(trees))))  # through JSON, as shipped
    assert isinstance(again, TreeModel)
    np.testing.assert_allclose(again.logits(x), fitted.decision_function(x), atol=1e-9)
    assert again.logits([]).size == 0
