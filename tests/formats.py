"""Real files made by real libraries, for the reader tests: a text PDF (fpdf2), a scanned PDF
(text drawn into an image by Pillow, saved as an image-only PDF), DOCX, XLSX, PPTX."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

WENZHOU = ("温州市开展后进党支部整顿转化工作以来，各地坚持问题导向，逐个支部分析原因、制定措施，"
           "全市共转化后进支部581个，确定的1180个重点疑难项目已解决880个，有效破解了重点工程受阻停滞的难题。")


def cjk_font() -> str:
    found = shutil.which("fc-match") and subprocess.run(
        ["fc-match", "-f", "%{file}", "WenQuanYi Micro Hei"], capture_output=True, text=True).stdout
    if found and Path(found).exists() and "wqy" in found.lower():
        return found
    raise RuntimeError("a CJK font is needed (apt install fonts-wqy-microhei; .ci/run installs it)")


def text_pdf(path: Path, pages: list[list[str]], header: str = "温州市委组织部 工作简报") -> Path:
    """Pages of paragraphs, each page with a running header and a "- n -" page number."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("wqy", fname=cjk_font())
    pdf.set_font("wqy", size=12)
    pdf.set_title("温州基层组织建设简报")
    for number, paragraphs in enumerate(pages, start=1):
        pdf.add_page()
        pdf.set_y(10)
        pdf.cell(0, 6, header, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(8)
        for text in paragraphs:
            pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        pdf.set_y(-18)
        pdf.cell(0, 6, f"- {number} -", align="C")
    pdf.output(str(path))
    return path


def scan_image(lines: list[str], width: int = 1240, height: int = 1754):
    """A page as a scanner would give it: black text on white at about 150 dpi."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(cjk_font(), 30)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((110, 140 + 56 * i), line, font=font, fill="black")
    return image


def scanned_pdf(path: Path, pages: list[list[str]]) -> Path:
    images = [scan_image(lines) for lines in pages]
    images[0].save(path, save_all=True, append_images=images[1:], resolution=150)
    return path


def docx_file(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "2023年度专项资金分配方案"
    document.add_heading("2023年度专项资金分配方案", level=1)
    document.add_paragraph("为推进乡村振兴，市财政安排专项资金，按以下标准分配到各县区。")
    table = document.add_table(rows=1, cols=3)
    for cell, name in zip(table.rows[0].cells, ["县区", "资金（万元）", "用途"]):
        cell.text = name
    for row in [("鹿城区", "320", "道路硬化"), ("瓯海区", "275", "污水处理"), ("永嘉县", "410", "危房改造")]:
        for cell, value in zip(table.add_row().cells, row):
            cell.text = value
    document.add_paragraph("资金须于年底前使用完毕，结余资金收回市财政。")
    document.save(str(path))
    return path


def xlsx_file(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "名单"
    sheet.append(["姓名", "单位", "职务", "电话"])
    people = [("张伟", "鹿城区委组织部", "科长", "0577-88001234"), ("李娜", "瓯海区民政局", "副局长", "0577-88005678"),
              ("王强", "永嘉县财政局", "主任", "0577-67001111")] + [
        (f"工作人员{i}", f"第{i}办公室", "科员", f"0577-6000{i:04d}") for i in range(1, 13)]
    for row in people:
        sheet.append(list(row))
    other = book.create_sheet("说明")
    other.append(["事项", "内容"])
    other.append(["更新日期", "2023年5月8日"])
    book.save(str(path))
    return path


def pptx_file(path: Path) -> Path:
    import pptx

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[0])
    slide.shapes.title.text = "基层党建工作汇报"
    slide.placeholders[1].text = "温州市委组织部 2023年"
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "主要成效"
    body = slide.placeholders[1].text_frame
    body.text = "新建党群服务中心126个"
    body.add_paragraph().text = "培训村社干部3400人次"
    slide.notes_slide.notes_text_frame.text = "汇报时强调服务中心覆盖全部乡镇。"
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "下一步计划"
    slide.placeholders[1].text_frame.text = "推动数字化治理平台在全市推广"
    deck.save(str(path))
    return path


def epub_file(path: Path) -> Path:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("qa-test-1")
    book.set_title("乡村振兴读本")
    book.set_language("zh")
    book.add_author("市委宣传部")
    chapters = []
    for number, body in enumerate(["<h1>第一章 总论</h1><p>乡村振兴是新时代的重要战略。</p>",
                                   "<h1>第二章 实践</h1><p>龙泉镇今年新建了73座文化礼堂，全部对外开放。</p>"], start=1):
        chapter = epub.EpubHtml(title=f"第{number}章", file_name=f"c{number}.xhtml", lang="zh")
        chapter.content = f"<html><body>{body}</body></html>"
        book.add_item(chapter)
        chapters.append(chapter)
    book.toc = chapters
    book.spine = ["nav", *chapters]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    epub.write_epub(str(path), book)
    return path


# Pathological PDFs: no library writes these on purpose, so they are written byte by byte, the way
# fuzzers and attackers make them. Each is a few hundred bytes to a few hundred kB.

def _raw_pdf(objects: dict[int, bytes], trailer: bytes = b"") -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    start, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets.get(n, 0) for n in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (size, trailer, start)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    import zlib

    body = zlib.compress(data, 9)
    return b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n%s\nendstream" % (len(body), extra, body)


def _one_page(contents: bytes, resources: bytes = b"") -> dict[int, bytes]:
    return {1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> %s>> >>" % resources,
            4: _stream(contents), 5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}


def looping_form_pdf(path: Path) -> Path:
    """A form XObject that draws itself twice: rendering it never ends (2^depth), and PDFium keeps
    allocating until something stops it."""
    objects = _one_page(b"BT /F1 12 Tf 72 720 Td (top) Tj ET /X Do", b"/XObject << /X 6 0 R >> ")
    objects[6] = _stream(b"/X Do /X Do BT /F1 12 Tf (in) Tj ET",
                         b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] "
                         b"/Resources << /XObject << /X 6 0 R >> /Font << /F1 5 0 R >> >> ")
    path.write_bytes(_raw_pdf(objects))
    return path


def deflate_bomb_pdf(path: Path, operations: int = 4_000_000) -> Path:
    """One page whose 280 kB content stream inflates to 100 MB of text operators (17 s, 2 GB in PDFium)."""
    path.write_bytes(_raw_pdf(_one_page(b"BT /F1 1 Tf 1 1 Td (a) Tj ET\n" * operations)))
    return path


def page_tree_loop_pdf(path: Path) -> Path:
    """The page tree lists itself among its own kids, and its cross-reference table is its own /Prev."""
    objects = _one_page(b"BT /F1 12 Tf 72 720 Td (loop) Tj ET")
    objects[2] = b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>"
    data = _raw_pdf(objects)
    start = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    path.write_bytes(data.replace(b"/Root 1 0 R ", b"/Root 1 0 R /Prev %d " % start))
    return path
