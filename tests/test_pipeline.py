import pytest

from qa.pipeline import QuestionError


def test_batch_and_single_answers_agree(assistant):
    questions = ["温州后进支部转化了多少个", "肥东县委书记是谁？"]
    batch = assistant.ask_many(questions)
    assert [a.text for a in batch] == [assistant.ask(q).text for q in questions]


def test_empty_question_is_an_error(assistant):
    with pytest.raises(QuestionError, match="empty"):
        assistant.ask("   \n ")


def test_over_long_question_is_truncated_with_a_note(assistant):
    result = assistant.ask("温州后进支部转化了多少个" + "啊" * 3000)
    assert result.notes == ["question truncated to 2000 characters"]
    assert len(result.question) == 2000


def test_top_k_and_json_shape(assistant):
    data = assistant.ask("温州后进支部转化了多少个", top_k=2).to_json()
    assert set(data) >= {"question", "answer", "abstained", "passages"}
    assert [p["rank"] for p in data["passages"]] == [1, 2]
    first = data["passages"][0]
    assert set(first) >= {"rank", "doc", "title", "paragraph", "text", "score", "answer_span"}
    s, e = first["answer_span"]
    assert first["text"][s:e] == data["answer"] == "581个"


def test_cited_passage_is_kept_even_beyond_top_k(assistant):
    # For these the answer comes from the 2nd/3rd passage: top_k=1 must still show it.
    for question in ["构建城乡统筹基层党建新格局是哪天发布的？", "全县基层组织建设年推进会议在哪里召开？"]:
        result = assistant.ask(question, top_k=1)
        assert result.cited is not None and result.cited.rank > 1
        assert [p.rank for p in result.passages] == [1, result.cited.rank]
