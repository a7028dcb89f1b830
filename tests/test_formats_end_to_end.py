"""A corpus of every format, indexed and asked: each answer is cited to its page, slide or row."""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from qa.config import Settings
from qa.readers.legacy import find_soffice
from tests import formats

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parent / "fixtures"
TRADITIONAL = ("臺北市公園建設\n臺北市政府工務局表示，為改善市民休閒環境，臺北市政府於2023年共修建了47座公園，"
               "並規劃於明年再增設十座親子公園。\n")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    intro = "本简报汇总全市基层组织建设的主要做法和阶段成效，供各地交流参考。" * 3
    formats.text_pdf(folder / "brief.pdf", [["一、总体情况", intro], ["二、后进支部整顿", formats.WENZHOU]])
    formats.scanned_pdf(folder / "meeting.pdf", [["关于召开全体会议的通知", "各科室：",
                                                  "定于本周六上午九点在三楼会议室召开全体会议，请准时参加。"]])
    formats.docx_file(folder / "funds.docx")
    formats.xlsx_file(folder / "contacts.xlsx")
    formats.pptx_file(folder / "report.pptx")
    (folder / "parks.txt").write_text(TRADITIONAL, "utf-8")
    shutil.copy(FIXTURES / "notice.doc", folder / "notice.doc")
    return folder


@pytest.fixture(scope="module")
def built(corpus, encoder, tmp_path_factory):
    from qa.pipeline import Assistant
    from qa.store import build

    settings = replace(Settings(), index_dir=tmp_path_factory.mktemp("formats-index"))
    report = build([corpus], settings, encoder, progress=False)
    return report, Assistant.open(settings, encoder=encoder)


def test_every_file_is_indexed_or_reported_by_name(built):
    report, assistant = built
    indexed = {d.doc_id for d in assistant.index.documents}
    assert {"brief.pdf", "meeting.pdf", "funds.docx", "contacts.xlsx", "report.pptx", "parks.txt"} <= indexed
    if find_soffice():
        assert "notice.doc" in indexed and not report.skipped
    else:
        assert [(Path(s.path).name, "LibreOffice" in s.reason) for s in report.skipped] == [("notice.doc", True)]


@pytest.mark.parametrize(("question", "answer", "doc", "where"), [
    ("温州后进支部转化了多少个", "581", "brief.pdf", "p. 2"),
    ("全体会议在哪里召开", "三楼会议室", "meeting.pdf", "p. 1, OCR"),
    ("瓯海区的专项资金是多少万元", "275", "funds.docx", "table 1 row 3"),
    ("李娜的电话是多少", "0577-88005678", "contacts.xlsx", "名单 rows 2–"),
    ("新建党群服务中心多少个", "126", "report.pptx", "slide 2"),
    ("台北市政府2023年修建了多少座公园", "47", "parks.txt", "paragraph"),  # Simplified question, Traditional text
    ("溫州後進支部轉化了多少個", "581", "brief.pdf", "p. 2"),  # and the reverse
])
def test_answers_cite_the_page_slide_or_row(built, question, answer, doc, where):
    from qa.render import citation

    _report, assistant = built
    result = assistant.ask(question)
    assert not result.abstained, question
    assert answer in (result.text or ""), (question, result.text)
    cited = result.cited
    assert cited.hit.chunk.doc_id == doc
    assert where in citation(cited)


@pytest.mark.skipif(find_soffice() is None, reason="LibreOffice is not installed")
def test_converted_legacy_doc_is_answerable(built):
    _report, assistant = built
    result = assistant.ask("夏季下午几点开始办公")
    assert result.cited.hit.chunk.doc_id == "notice.doc" and "14:30" in (result.text or result.sentence)
