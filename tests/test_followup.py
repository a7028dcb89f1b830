import pytest

from qa.followup import is_follow_up, resolve
from qa.tokenizer import Tokenizer


@pytest.fixture(scope="module")
def tok():
    return Tokenizer()


def test_place_follow_up_replaces_the_place(tok):
    assert resolve("那嘉兴呢？", "温州后进支部转化了多少个", tok) == "嘉兴后进支部转化了多少个"


def test_person_follow_up_replaces_the_person(tok):
    assert resolve("那杨宏星呢", "陈德荣在会上强调了什么", tok) == "杨宏星在会上强调了什么"


def test_standalone_questions_are_left_alone(tok):
    assert not is_follow_up("肥东县委书记是谁？")
    assert resolve("肥东县委书记是谁？", "温州后进支部转化了多少个", tok) == "肥东县委书记是谁？"


def test_follow_up_without_a_previous_question_is_asked_as_is(tok):
    assert resolve("那嘉兴呢？", None, tok) == "那嘉兴呢？"


def test_subject_of_another_kind_is_prefixed(tok):
    assert resolve("那社会党组织呢？", "组建率是多少", tok) == "社会党组织组建率是多少"
