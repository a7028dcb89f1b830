"""The span reader: its input and labels, span search, threshold fit, and the shipped model
answering and abstaining through the pipeline."""

from dataclasses import replace

import numpy as np
import pytest

from qa.config import AnswerSettings, Settings
from qa.reader import ReaderExtractor, SpanReader, _best_span, _windows, load_threshold
from qa.reader_data import Example, answer_span, encode, pair_ids
from qa.reader_fit import DevRead, choose_threshold


@pytest.fixture(scope="module")
def reader():
    return SpanReader()


def test_answer_span_is_the_earliest_gold_answer():
    assert answer_span("去年581个，今年600个", ["600个", "581个"]) == (2, 6)
    assert answer_span("没有答案", ["581"]) is None


def test_labels_point_at_the_tokens_that_hold_the_answer(reader):
    tok = reader.tokenizer
    passage = "目前,后进支部已完成转化581个,确定的1180个重点疑难项目已解决880个。"
    examples = [Example("t", "1", "转化了多少个", passage, answer_span(passage, ["581个"]), False),
                Example("t", "2", "解决了多少个", passage, None, False)]
    encoded, kept = encode(examples, tok, 384, 64)
    assert kept == [0, 1]
    ids, first, offsets = pair_ids(tok, "转化了多少个", passage, 384, 64)
    s, e = encoded.start[0] - first, encoded.end[0] - first
    assert passage[offsets[s][0] : offsets[e][1]] == "581个"
    assert encoded.start[1] == encoded.end[1] == 0  # no answer: the <s> token
    assert encoded.ids.shape[1] == len(ids) and encoded.passage_start[0] == first


def test_best_span_stays_in_the_passage_and_under_the_length_limit():
    logits = np.zeros((10, 2), np.float32)
    logits[1, 0] = 9  # a question token: never a start
    logits[4, 0], logits[9, 1] = 5, 5  # too long at max 3
    logits[6, 1] = 4
    start, end, score = _best_span(logits, first=3, count=7, max_tokens=3)
    assert (start, end) == (4, 6) and score == pytest.approx(9)


def test_windows_cover_a_long_passage_with_overlap():
    text = "".join(chr(0x4E00 + i) for i in range(1000))
    pieces = _windows(text, 360, 80)
    assert pieces[0] == (0, text[:360]) and all(len(p) <= 360 for _, p in pieces)
    covered = set()
    for start, piece in pieces:
        covered |= set(range(start, start + len(piece)))
    assert covered == set(range(1000))
    assert _windows("短", 360, 80) == [(0, "短")]


def test_the_threshold_maximises_f1_with_abstention_counted():
    reads = [DevRead("a", True, 3.0, 1.0), DevRead("a", True, 1.0, 0.5), DevRead("a", False, 0.0, 0.0),
             DevRead("a", False, -2.0, 0.0), DevRead("b", True, 2.0, 1.0)]
    threshold, figures = choose_threshold(reads)
    assert 0.0 < threshold < 1.0  # answer the 1.0 and above, abstain on both unanswerable ones
    assert figures["a"]["abstained_unanswerable"] == 1.0 and figures["a"]["wrong_abstain"] == 0.0


def test_the_shipped_reader_answers_and_cites_581(assistant, reader):
    extractor = ReaderExtractor(assistant.settings.answer, reader)
    question = "温州后进支部转化了多少个"
    hits = assistant.retriever.run(assistant.analyzer.run(question))
    answer = extractor.run(assistant.analyzer.run(question), hits)
    assert not answer.abstained and "581" in answer.text
    cited = answer.cited
    s, e = cited.answer_span
    assert cited.hit.chunk.text[s:e].strip() == answer.text
    assert "581" in answer.sentence and answer.sentence in cited.hit.chunk.text


def test_the_shipped_reader_abstains_when_the_passages_do_not_say(assistant, reader):
    extractor = ReaderExtractor(assistant.settings.answer, reader)
    for question in ("2019年杭州亚运会的吉祥物叫什么名字？", "北京地铁一共有多少条线路？"):
        hits = assistant.retriever.run(assistant.analyzer.run(question))
        assert extractor.run(assistant.analyzer.run(question), hits).abstained, question


def test_the_threshold_file_is_fitted():
    assert load_threshold() != 0.0


def test_the_trainers_model_computes_what_the_shipped_graph_computes(reader):
    torch = pytest.importorskip("torch")
    from qa.reader_data import tensor_names
    from qa.reader_train import make_model

    weights = reader.weights
    ids, first, _ = pair_ids(reader.tokenizer, "转化了多少个", "后进支部已完成转化581个。", 384, 64)
    vocab = np.unique(ids)
    tensors = {n: weights.tensor(n) for n in [*tensor_names(weights.base), "head.w", "head.b"]}
    tensors["word"] = weights.base.word_rows(vocab)
    model = make_model(tensors)
    with torch.no_grad():
        start, end = model(torch.tensor(np.searchsorted(vocab, ids))[None], torch.ones(1, len(ids), dtype=torch.long))
    onnx = reader._run([ids])[0]
    assert np.allclose(start[0].numpy(), onnx[:, 0], atol=2e-3) and np.allclose(end[0].numpy(), onnx[:, 1], atol=2e-3)


@pytest.mark.slow
def test_reader_answers_the_seed_questions_above_a_floor(seed_settings, encoder):
    from qa.evaluation import evaluate, read_questions, summarise
    from qa.pipeline import Assistant
    from tests.conftest import ROOT

    settings = replace(seed_settings, answer=replace(AnswerSettings(), method="reader"))
    assistant = Assistant.open(settings, encoder)
    questions, _ = read_questions(ROOT / "eval" / "seed_questions.jsonl", [d.doc_id for d in assistant.index.documents])
    m = summarise(evaluate(assistant, questions, "hybrid", progress=False), "hybrid")
    assert m.answer_accuracy >= 0.80 and m.wrong_abstention <= 0.10 and m.abstention >= 0.75
