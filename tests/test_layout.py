"""Re-joining positioned lines into paragraphs; running headers and page numbers."""

from qa.readers.layout import Line, merge_segments, paragraphs, running_lines
from qa.readers.pdf import _sections

H = 12.0  # character height; lines every 20 units


def line(text: str, row: int, left: float = 0, right: float = 500, col_top: float = 100) -> Line:
    top = col_top + 20 * row
    return Line(text, left, right, top, top + H)


def test_wrapped_lines_join_without_a_space_and_short_lines_end_paragraphs():
    lines = [line("温州市开展后进党支部整顿转化工作以来，全市", 0), line("共转化后进支部581个。", 1, right=200),
             line("第二段从这里开始，内容很长很长很长很长很长", 2), line("一直写到这里。", 3, right=120)]
    assert [p.text for p in paragraphs(lines)] == ["温州市开展后进党支部整顿转化工作以来，全市共转化后进支部581个。",
                                                   "第二段从这里开始，内容很长很长很长很长很长一直写到这里。"]


def test_an_indented_line_or_a_wide_gap_starts_a_paragraph():
    lines = [line("第一段第一行写满了整整一行的文字内容文字", 0), line("第二段缩进开头的一行也写满了文字内容", 1, left=24),
             line("第二段的第二行写满了整整一行的文字内容", 2), line("隔了很宽的空白之后的新段落", 5)]
    assert len(paragraphs(lines)) == 3


def test_english_words_keep_their_spaces_and_hyphens_rejoin():
    lines = [line("The branch committees were trans-", 0), line("formed in 2009 and", 1), line("reported.", 2, right=90)]
    assert paragraphs(lines)[0].text == "The branch committees were transformed in 2009 and reported."


def test_two_columns_wrap_against_their_own_column():
    left = [line("左栏第一段的文字写满了左栏", k, 0, 240) for k in range(3)]
    right = [line("右栏第一段的文字写满了右栏", k, 260, 500) for k in range(3)]
    found = paragraphs(left + right)
    assert len(found) == 2 and found[0].text.startswith("左栏") and found[1].text.startswith("右栏")


def test_segments_on_one_baseline_merge():
    merged = merge_segments([Line("温州", 0, 24, 100, 112), Line("后进支部", 26, 74, 100, 112)])
    assert [m.text for m in merged] == ["温州后进支部"]


def test_running_headers_and_page_numbers_are_found():
    pages = [[Line("工作简报 第3期", 200, 400, 20, 32), line(f"正文第{p}页的内容", 0), Line(f"- {p} -", 280, 320, 800, 812)]
             for p in range(1, 5)]
    assert running_lines(pages, [842.0] * 4) == {(p, i) for p in range(4) for i in (0, 2)}


def test_body_text_is_never_taken_for_a_header():
    pages = [[line("同一句正文出现在每一页的中间位置", 10)] for _ in range(4)]
    assert running_lines(pages, [842.0] * 4) == set()


def test_a_paragraph_running_over_a_page_break_is_one_passage_on_both_pages():
    page1 = [line("这一段在第一页的最后一行写满了整整一行文字", 0)]
    page2 = [line("在第二页接着写完。", 0, right=150), line("第二页自己的段落写满了整整一行的文字内容", 1),
             line("结束。", 2, right=40)]
    sections = _sections([page1, page2], set())
    assert [(s.text, s.location) for s in sections] == [
        ("这一段在第一页的最后一行写满了整整一行文字在第二页接着写完。", "pp. 1–2"),
        ("第二页自己的段落写满了整整一行的文字内容结束。", "p. 2")]
