import pytest

from qa.evaluation import evaluate, read_questions, summarise
from tests.conftest import SEED_QUESTIONS, WENZHOU


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_each_mode_finds_the_wenzhou_passage(assistant, mode):
    query = assistant.analyzer.run("温州后进支部转化了多少个")
    hits = assistant.retriever.run(query, mode=mode, top_k=5)
    assert len(hits) == 5
    assert any(h.chunk.doc_id == WENZHOU and "581个" in h.chunk.text for h in hits[:3])
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_english_question_reaches_the_chinese_passage(assistant):
    query = assistant.analyzer.run("How many backward Party branches have been transformed in Wenzhou?")
    hits = assistant.retriever.run(query, top_k=3)
    assert hits[0].chunk.doc_id == WENZHOU and "581" in hits[0].chunk.text


def test_unknown_mode_is_rejected(assistant):
    with pytest.raises(ValueError, match="unknown retrieval mode"):
        assistant.retriever.run(assistant.analyzer.run("温州"), mode="fuzzy")


@pytest.mark.slow
def test_hybrid_beats_either_retriever_alone_on_the_seed_questions(assistant):
    questions, problems = read_questions(SEED_QUESTIONS, [d.doc_id for d in assistant.index.documents])
    assert not problems
    metrics = {m: summarise(evaluate(assistant, questions, m, progress=False), m) for m in ("hybrid", "bm25", "dense")}
    assert metrics["hybrid"].recall[1] > metrics["bm25"].recall[1]
    assert metrics["hybrid"].recall[1] > metrics["dense"].recall[1]
    assert metrics["hybrid"].mrr10 > max(metrics["bm25"].mrr10, metrics["dense"].mrr10)


def test_score_fusion_scales_both_signals():
    from qa.retrieval import score_fusion

    fused = score_fusion({1: 10.0, 2: 5.0}, {2: 0.9, 3: 0.5}, bm25_share=0.6)
    assert fused == pytest.approx({1: 0.6, 2: 0.6 * 0.5 + 0.4, 3: 0.0})
    assert score_fusion({}, {4: 0.7}, 0.6) == {4: 0.0}  # a lone candidate has no spread: no bonus
