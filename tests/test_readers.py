"""Each reader on real files made by real libraries (tests/formats.py)."""

from pathlib import Path

import pytest

from qa.chunking import chunk
from qa.cleaning import clean
from qa.config import ChunkingSettings, ReadSettings
from qa.loading import load, read_file
from qa.readers import Readers
from qa.schema import RawFile, Skipped
from tests import formats

FIXTURES = Path(__file__).parent / "fixtures"
IN_PROCESS = ReadSettings(isolate=False)  # for tests that watch a reader from this process


def chunks_of(path: Path, readers: Readers | None = None):
    raw = read_file(path, readers)
    assert isinstance(raw, RawFile), raw
    return raw, chunk(clean(raw), ChunkingSettings())


def test_text_pdf_joins_wrapped_lines_and_drops_running_headers(tmp_path):
    long = formats.WENZHOU * 2
    path = formats.text_pdf(tmp_path / "brief.pdf", [["第一部分 工作进展", long], ["第二部分 下一步", long.replace("581", "600")]])
    raw, chunks = chunks_of(path)
    body = [c for c in chunks if c.paragraph]
    assert raw.title == "温州基层组织建设简报"  # the PDF's own title property
    joined = " ".join(c.text for c in body)
    assert "全市共转化后进支部581个" in joined  # a sentence that wrapped over a line break, re-joined
    assert "工作简报" not in joined and "- 1 -" not in joined  # running header and page numbers
    assert raw.removed.lines == 4  # two headers, two page numbers: counted, not silently gone
    assert {c.location for c in body} == {"p. 1", "p. 2"}
    assert next(c for c in body if "600" in c.text).location == "p. 2"


def test_scanned_pdf_is_read_by_ocr_with_its_confidence(tmp_path):
    path = formats.scanned_pdf(tmp_path / "notice.pdf", [["关于召开全体会议的通知", "定于本周六上午九点在三楼会议室召开全体会议。"],
                                                        ["全市共转化后进支部581个。"]])
    raw, chunks = chunks_of(path)
    assert raw.encoding == "pdf (2 pages by OCR)"
    text = "".join(c.text for c in chunks)
    assert "三楼会议室" in text and "581" in text
    page2 = next(c for c in chunks if "581" in c.text)
    assert page2.location == "p. 2"
    assert float(page2.meta["ocr_confidence"]) > 0.8


def test_image_is_read_by_ocr(tmp_path):
    formats.scan_image(["温州市委组织部通知", "后进支部已完成转化581个。"]).save(tmp_path / "photo.png")
    raw, chunks = chunks_of(tmp_path / "photo.png")
    assert "581" in raw.text and chunks[-1].location == "image"


def test_docx_keeps_paragraphs_and_table_rows_with_column_names(tmp_path):
    raw, chunks = chunks_of(formats.docx_file(tmp_path / "plan.docx"))
    assert raw.title == "2023年度专项资金分配方案"
    row = next(c for c in chunks if "瓯海区" in c.text)
    assert row.text == "县区：瓯海区；资金（万元）：275；用途：污水处理。"
    assert row.location == "table 1 row 3"
    assert any("结余资金收回市财政" in c.text for c in chunks)  # the paragraph after the table


def test_xlsx_rows_are_grouped_with_header_names_and_sheet_rows(tmp_path):
    _raw, chunks = chunks_of(formats.xlsx_file(tmp_path / "people.xlsx"))
    first = next(c for c in chunks if "李娜" in c.text)
    assert "姓名：李娜；单位：瓯海区民政局；职务：副局长；电话：0577-88005678。" in first.text
    assert first.location.startswith("名单 rows 2–")
    assert next(c for c in chunks if "更新日期" in c.text).location == "说明 row 2"
    rows = [c for c in chunks if c.location.startswith("名单")]
    assert len(rows) >= 3 and all(len(c.text) <= 300 for c in rows)


def test_csv_in_gb18030_with_semicolons(tmp_path):
    path = tmp_path / "budget.csv"
    path.write_bytes("项目;金额\n道路硬化;320万元\n污水处理;275万元\n".encode("gb18030"))
    _raw, chunks = chunks_of(path)
    assert chunks[0].text == "项目：道路硬化；金额：320万元。项目：污水处理；金额：275万元。"
    assert chunks[0].location == "rows 2–3"


def test_pptx_one_passage_per_slide_and_notes_apart(tmp_path):
    raw, chunks = chunks_of(formats.pptx_file(tmp_path / "deck.pptx"))
    assert raw.title == "基层党建工作汇报"
    by_place = {c.location: c.text for c in chunks if c.paragraph}
    assert by_place["slide 2"] == "主要成效；新建党群服务中心126个；培训村社干部3400人次"
    assert by_place["slide 2 notes"] == "汇报时强调服务中心覆盖全部乡镇。"
    assert "slide 3" in by_place


def test_epub_chapters_in_reading_order(tmp_path):
    raw, chunks = chunks_of(formats.epub_file(tmp_path / "book.epub"))
    assert raw.title == "乡村振兴读本" and raw.author == "市委宣传部"
    hall = next(c for c in chunks if "73座文化礼堂" in c.text)
    assert hall.location == "chapter 2"  # the table-of-contents page is not a chapter
    assert [c.location for c in chunks if c.paragraph] == sorted(c.location for c in chunks if c.paragraph)


def test_legacy_doc_without_libreoffice_is_reported_by_name_with_the_fix():
    item = read_file(FIXTURES / "notice.doc", Readers(find_libreoffice=False))
    assert isinstance(item, Skipped)
    assert "legacy format" in item.reason and "LibreOffice" in item.reason and ".docx" in item.reason


@pytest.mark.skipif(Readers().for_path(Path("x.doc")).soffice is None, reason="LibreOffice is not installed")
def test_legacy_doc_is_converted_by_libreoffice():
    raw, chunks = chunks_of(FIXTURES / "notice.doc")
    assert raw.encoding == "doc via LibreOffice"
    assert any("下午14:30至17:30" in c.text for c in chunks)
    assert clean(raw).meta.title == "关于调整办公时间的通知"  # not LibreOffice's "Word Document"


@pytest.mark.parametrize("name", ["broken.pdf", "broken.docx", "broken.xlsx", "broken.pptx", "broken.epub"])
def test_a_damaged_file_is_reported_and_the_rest_still_load(tmp_path, name):
    (tmp_path / name).write_bytes(b"PK\x03\x04 not really a document")
    (tmp_path / "good.txt").write_text("温州市后进支部已完成转化581个，成效明显，群众满意。", "utf-8")
    result = load([tmp_path])
    assert [f.name for f in result.files] == ["good.txt"]
    (skipped,) = result.skipped
    assert Path(skipped.path).name == name and "not a readable" in skipped.reason


def test_an_encrypted_pdf_says_so(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_encryption(owner_password="o", user_password="secret")
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, "confidential")
    pdf.output(str(tmp_path / "locked.pdf"))
    item = read_file(tmp_path / "locked.pdf")
    assert isinstance(item, Skipped) and "password" in item.reason


def test_one_readers_reads_the_same_bytes_once(tmp_path, monkeypatch):
    path = formats.docx_file(tmp_path / "plan.docx")
    readers = Readers(limits=IN_PROCESS)  # so the spy below sees the reads
    calls = []
    reader = readers.for_path(path)
    original = reader.read
    monkeypatch.setattr(reader, "read", lambda *a: calls.append(1) or original(*a))
    first, second = read_file(path, readers), read_file(path, readers)
    assert first == second and len(calls) == 1


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    import zipfile

    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (64 * 2**20))  # 64 MB of zeros: ~64 kB packed
    item = read_file(path)
    assert isinstance(item, Skipped) and "zip bomb" in item.reason


def test_a_rebuild_reads_structured_files_from_the_extraction_cache(tmp_path, monkeypatch):
    from qa.readers import ExtractionCache

    path = formats.pptx_file(tmp_path / "deck.pptx")
    first = Readers(cache=ExtractionCache(tmp_path / "cache"), limits=IN_PROCESS)
    raw = read_file(path, first)
    first.cache.prune()
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1

    again = Readers(cache=ExtractionCache(tmp_path / "cache"), limits=IN_PROCESS)
    monkeypatch.setattr(again.for_path(path), "read", lambda *a: pytest.fail("read again"))
    assert read_file(path, again) == raw

    path.unlink()  # gone from the corpus: the next prune forgets it
    ExtractionCache(tmp_path / "cache").prune()
    assert not list((tmp_path / "cache").glob("*.json"))
