"""The span reader: its input and labels, span search, threshold fit, and the shipped model
answering and abstaining through the pipeline."""

from dataclasses import replace

import numpy as np
import pytest

from qa.config import AnswerSettings
from qa.reader import ABSTAIN_FEATURES, AbstainModel, ReaderExtractor, SpanReader, _best_span, _windows
from qa.reader_data import Example, answer_span, encode, pair_ids
from qa.reader_fit import DevRead, choose_threshold, fit


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


def _read(set_, answerable, margin, f1_):
    return DevRead(set_, answerable, [margin] + [0.0] * (len(ABSTAIN_FEATURES) - 1), f1_)


def test_the_threshold_maximises_f1_with_abstention_counted_and_wrong_refusals_capped():
    reads = [_read("a", True, 3.0, 1.0), _read("a", True, 1.0, 0.5), _read("a", False, 0.0, 0.0),
             _read("a", False, -2.0, 0.0), _read("b", True, 2.0, 1.0)]
    probabilities = np.array([0.9, 0.6, 0.4, 0.1, 0.8])
    assert 0.4 < choose_threshold(reads, probabilities) < 0.6  # abstain on both unanswerable ones
    # Refusing nothing answerable: the 0.6 question must be answered, so the 0.4 one is too.
    reads[1] = _read("a", True, 1.0, 0.5)
    probabilities = np.array([0.9, 0.3, 0.4, 0.1, 0.8])
    assert choose_threshold(reads, probabilities, max_wrong=0.0) <= 0.3


def test_the_abstain_model_learns_that_a_low_margin_means_no_answer():
    rng = np.random.default_rng(0)
    reads = [_read(s, m > 0, m, 1.0 if m > 0 else 0.0) for s in "ab" for m in rng.normal(0, 3, 200)]
    model, figures = fit(reads, max_wrong=0.05)
    low, high = ([m] + [0.0] * (len(ABSTAIN_FEATURES) - 1) for m in (-5.0, 5.0))
    assert model.probability(low) < model.threshold <= model.probability(high)
    assert figures["a"]["wrong_abstain"] <= 0.05 and figures["a"]["abstained_unanswerable"] > 0.5


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


def test_the_shipped_abstain_model_is_fitted_and_readable():
    model = AbstainModel.load()
    assert len(model.model.weights) == len(ABSTAIN_FEATURES) and 0.0 < model.threshold < 1.0


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


def test_the_trainer_saves_what_the_reader_loads(reader, tmp_path):
    pytest.importorskip("torch")
    from qa.reader_data import tensor_names
    from qa.reader_train import make_model, save
    from qa.reader_weights import ReaderWeights

    base = reader.weights.base
    names = [*tensor_names(base), "head.w", "head.b"]
    tensors = {n: reader.weights.tensor(n) for n in names}
    tensors["word"] = base.word_rows(np.arange(4))
    packaged = {n: base.tensor(n) for n in tensor_names(base)}
    save(make_model(tensors), tmp_path, packaged, base.sha256)
    loaded = ReaderWeights(tmp_path, base)
    assert sorted(loaded.names()) == sorted(names)
    for name in ("l5.fi.w", "emb.pos", "head.w", "l11.oln.b"):
        assert np.allclose(loaded.tensor(name), tensors[name], atol=1e-3)


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


def test_read_units_gives_each_sentences_best_span_from_the_same_reading(reader):
    passage = "秀洲区党员服务中心总面积800平方米。目前,后进支部已完成转化581个。全市共有党员12万名。"
    units = [[(0, 18), (18, 35), (35, len(passage))]]
    spans, per_unit = reader.read_units("后进支部转化了多少个", [passage], units)
    assert spans == reader.read("后进支部转化了多少个", [passage])
    assert sorted(c.unit for c in per_unit) == [0, 1, 2]
    assert max(c.margin for c in per_unit) == pytest.approx(spans[0].margin)
    for c in per_unit:  # each span starts in its own unit, and so do its alternatives, itself among them
        a, b = units[0][c.unit]
        assert a <= c.start < b
        assert all(a <= start < end for start, end, _ in c.alternatives)
        assert (c.start, c.end, c.margin) in c.alternatives and max(m for *_, m in c.alternatives) == c.margin
    assert "581" in passage[per_unit[0].start : per_unit[0].end]  # best first


def test_the_sentence_chooser_learns_to_prefer_the_unit_that_covers_the_question():
    from qa.reader import UNIT_FEATURES
    from qa.reader_fit import chosen, fit_chooser

    rng = np.random.default_rng(0)
    cover = UNIT_FEATURES.index("unit_coverage")
    reads = []
    for _ in range(200):  # the gold unit covers the question; the reader's margin is noise
        rows = [[rng.normal(0, 1) for _ in UNIT_FEATURES] for _ in range(4)]
        gold = int(rng.integers(4))
        for i, row in enumerate(rows):
            row[cover] = 0.9 if i == gold else 0.3
        reads.append(DevRead("a", True, [0.0] * len(ABSTAIN_FEATURES), 0.0, rows, [i == gold for i in range(4)],
                             [1.0 if i == gold else 0.0 for i in range(4)]))
    chooser = fit_chooser(reads)
    assert all(r.unit_holds[chooser.choose(r.units)] for r in reads)
    assert all(r.f1 == 1.0 for r in chosen(reads, chooser))
    assert fit_chooser([DevRead("a", True, [0.0] * len(ABSTAIN_FEATURES), 1.0)]) is None  # old reads: no units


def test_unit_features_weigh_what_is_asked_over_the_topic(question_analyzer):
    from qa.answer_features import question_view
    from qa.reader import UNIT_FEATURES, ReadSpan, unit_features
    from qa.schema import Chunk, Hit

    # Every sentence names the topic (the title's 温州); only one says what is asked (转化 … 支部).
    text = "温州召开党建会议。温州后进支部已完成转化581个。温州全市共有党员12万名。"
    units = [[(0, 9), (9, 25), (25, len(text))]]
    hits = [Hit(Chunk(0, "wz.txt", "温州党建", 1, 0, len(text), text), 1.0)]
    query = question_analyzer.run("温州后进支部转化了多少个？")
    candidates = [ReadSpan(0, 0, 2, 1.0, 0), ReadSpan(0, 21, 24, 1.0, 1), ReadSpan(0, 32, 35, 1.0, 2)]
    rows = unit_features(query, hits, units, candidates)
    assert unit_features(query, hits, units, candidates, question_view(query)) == rows  # a view passed in is the same
    column = {name: [row[i] for row in rows] for i, name in enumerate(UNIT_FEATURES)}
    for name in ("local_coverage", "untitled_coverage", "bigram_overlap", "char_overlap"):
        assert max(column[name]) == column[name][1] > column[name][0], name
    assert column["local_below_best"][1] == 0.0 > column["local_below_best"][0]
    assert column["slot_left"][1] == 1.0  # "转化" frames the question word; it stands in that unit


def test_a_name_no_passage_read_mentions_weighs_apart_from_a_missing_common_word(question_analyzer):
    from qa.reader import ReadSpan, abstain_features
    from qa.schema import Chunk, Hit
    from qa.tokenizer import Tokenizer

    text = "秀洲区3789名干部每周在网上公开晒工作，接受群众监督。"
    hits = [Hit(Chunk(0, "xz.txt", "秀洲", 1, 0, len(text), text), 1.0)]
    spans = [ReadSpan(0, 3, 8, 6.0)]
    is_name = Tokenizer().is_name
    column = ABSTAIN_FEATURES.index("missing_name_idf")
    absent = abstain_features(question_analyzer.run("湖州南浔区多少名干部每周公开晒工作？"), hits, spans, is_name)
    present = abstain_features(question_analyzer.run("秀洲区多少名干部每周公开晒工作？"), hits, spans, is_name)
    paraphrase = abstain_features(question_analyzer.run("秀洲区多少名干部每周公开晾晒工作？"), hits, spans, is_name)
    assert absent[column] > 0.5 and present[column] == 0.0
    assert paraphrase[column] == 0.0 < paraphrase[ABSTAIN_FEATURES.index("missing_share")]  # 晾晒: not a name
    assert abstain_features(question_analyzer.run("湖州南浔区多少名干部每周公开晒工作？"), hits, spans)[column] == 0.0


def test_the_shipped_reader_abstains_on_a_place_the_passages_never_mention(assistant, reader):
    extractor = ReaderExtractor(assistant.settings.answer, reader, is_name=assistant.analyzer.tokenizer.is_name)
    # The seed pages tell of 温州's 581 支部 and of another district's 3789 干部.
    for question in ("宁波江北区后进支部转化了多少个？", "杭州西湖区多少名干部每周公开晒工作？"):
        hits = assistant.retriever.run(assistant.analyzer.run(question))
        assert extractor.run(assistant.analyzer.run(question), hits).abstained, question
    question = "温州后进支部转化了多少个？"
    hits = assistant.retriever.run(assistant.analyzer.run(question))
    assert not extractor.run(assistant.analyzer.run(question), hits).abstained
