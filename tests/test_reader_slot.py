"""The span the question's own words frame, among a unit's near-best reader spans."""

from qa.answer_features import question_view
from qa.reader import ReadSpan
from qa.reader_slot import framed_span

TEXT = "温州召开党建会议。目前后进支部已完成转化581个，重点项目已解决880个。"
UNITS = [(0, 9), (9, len(TEXT))]
ECHO = (TEXT.index("后进"), TEXT.index("，"))  # 后进支部已完成转化581个
FRAMED = (TEXT.index("581"), TEXT.index("，"))  # 581个, right after 转化
ELSEWHERE = (TEXT.index("880"), TEXT.index("。", 9))


def unit_best(best, margin, alternatives):
    return ReadSpan(0, *best, margin, 1, tuple(alternatives))


def test_a_near_best_span_right_after_the_questions_words_is_the_answer(question_analyzer):
    view = question_view(question_analyzer.run("温州后进支部转化了多少个？"))
    span = unit_best(ECHO, 5.0, [(*ECHO, 5.0), (*FRAMED, 3.5), (*ELSEWHERE, 4.8)])
    chosen = framed_span(view, TEXT, UNITS, span, max_below=3.0)
    assert TEXT[chosen.start : chosen.end] == "581个" and chosen.margin == 3.5 and chosen.unit == 1


def test_a_framed_span_far_below_the_best_or_a_best_already_framed_is_left_alone(question_analyzer):
    view = question_view(question_analyzer.run("温州后进支部转化了多少个？"))
    far = unit_best(ECHO, 9.0, [(*ECHO, 9.0), (*FRAMED, 3.5)])
    assert framed_span(view, TEXT, UNITS, far, max_below=3.0) == far
    framed = unit_best(FRAMED, 6.0, [(*FRAMED, 6.0), (FRAMED[0], FRAMED[1] - 1, 5.9)])
    assert framed_span(view, TEXT, UNITS, framed, max_below=3.0) == framed
    assert framed_span(view, TEXT, UNITS, unit_best(ECHO, 5.0, [(*FRAMED, 4.9)]), max_below=0.0).start == ECHO[0]


def test_without_the_questions_words_in_the_unit_nothing_moves(question_analyzer):
    view = question_view(question_analyzer.run("温州今年新建了多少座文化礼堂？"))  # 新建 is not in the text
    span = unit_best(ECHO, 5.0, [(*ECHO, 5.0), (*FRAMED, 4.9)])
    assert framed_span(view, TEXT, UNITS, span, max_below=3.0) == span
    whole = ReadSpan(0, *ECHO, 5.0)  # a passage's best span, not a unit's: no alternatives
    assert framed_span(question_view(question_analyzer.run("温州后进支部转化了多少个？")), TEXT, UNITS, whole, max_below=3.0) == whole
