"""Clean: turn a scraped page into an article (title, metadata, body paragraphs).

Scraped Chinese news pages carry navigation bars, error banners, paywall notices, lists of
"related articles", share widgets and copyright footers. The cleaner works line by line:

1. drop lines that are clutter by their own content (banners, nav bars, notices). Keywords are
   weak evidence: a line of running prose that merely *mentions* 版权 or 下载 (a court judgment
   on a copyright dispute) is only a suspect, and is dropped only when a neighbouring line is
   clutter too, the context rule of jusText (Pomikálek 2011) — real notices come in blocks;
2. pull metadata lines (来源/作者/编辑/dates) out into :class:`Metadata` fields;
3. pick the title from evidence (repeated line, followed by a date, after a breadcrumb);
4. keep the body: from the title to the last line of prose, minus link lists.

Every document records what cleaning removed (:class:`~qa.schema.Removed`), so ``qa index``
can report documents that lost much of their text instead of dropping it silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from .schema import Document, Metadata, RawFile, Removed, char_count

_CLUTTER = re.compile(
    "|".join(
        [
            r"^\d{3}\s+(not found|forbidden|bad gateway|error)",
            r"^[A-Za-z][\w-]*/\d+(\.\d+)+$",  # server banners such as ZJOL/1.24.96
            r"(您|你)?(当前|所在)的?位置",
            r"copyright|版权所有|©|ICP备|ICP证|网安备|新办\[",
            r"关于我们|联系方式|联系我们|法律声明|广告服务|网站地图|设为首页|加入收藏",
            r"文明上网|发表评论|我要注册|我要评论|复制本文|扫一扫|打印本页|关闭窗口|分享到",
            r"^\[?\s*字体|^(上一篇|下一篇)|^(查看|阅读)更多|^更多\s*(\.{3}|…)?$",
            r"文档评论|实名认证|文档贡献者|该用户很懒|\+\s*关注$|精品文档",
            r"^阅读次数\s*[:：]?\s*\d+$|本文档共\s*\d+\s*页",
        ]
    ),
    re.IGNORECASE,
)
# Paywall and terms-of-service notices: several of these words in one line.
_NOTICE_WORDS = re.compile(r"本站|本文档|付费|下载|会员|VIP|侵权|版权|退款|举报|上传|网站|权益")
_RELATED = re.compile(
    r"^(相关(稿件|文章|新闻|阅读|文档|链接|报道|推荐)|延伸阅读|推荐阅读|精彩推荐|热点推荐|猜你喜欢|热门(文章|推荐)|"
    r"全省动态|系统传真|地市行动|视频播报)"
)
_BULLET = re.compile(r"^[·•▪◆■●▶►]")
# "您当前的位置 :浙江在线 > 浙江新闻 > 温州": spaced separators, at least two of them.
_BREADCRUMB = re.compile(r"位置|(?:\s[>＞»›]\s.*){2,}")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_SENTENCE_END = re.compile(r"[。！？!?]")
_CLAUSE = re.compile(r"[，,；;。]")

_DATE = r"(?<!\d)((?:19|20)\d{2}(?:年\d{1,2}月\d{1,2}日|[-/.]\d{1,2}[-/.]\d{1,2})(?:\s*\d{1,2}:\d{2})?)"
_FIELDS = {
    "source": re.compile(r"(?:信息)?来源\s*[:：]\s*([^\s|｜:：]+)"),
    "author": re.compile(r"(?<!工)作者\s*[:：]\s*([^\s|｜:：]+)"),
    "editor": re.compile(r"(?:责任)?编辑\s*[:：]\s*([^\s|｜:：]+)"),
    "date": re.compile(r"(?:发布|发表|更新)?(?:时间|日期)\s*[:：]\s*" + _DATE),
}
_FIELD_NAMES = re.compile(r"^(来源|作者|编辑|信息来源|发布时间)")
_BARE_DATE = re.compile(r"^\s*" + _DATE + r"(\s*(周|星期)[一二三四五六日天])?\s*$")
_DATELINE = re.compile(r"^(\S{2,12}?)(\d{1,2}月\d{1,2}日)(讯|电)")
_TITLE_SUFFIX = re.compile(r"(\.(docx?|pdf|pptx?|txt|html?))?(VIP)?$", re.IGNORECASE)
_AUTHOR_TITLE = re.compile(r"^([\u4e00-\u9fff]{2,4})——(.{4,})$")


@dataclass
class _Line:
    index: int
    text: str
    kind: str = "text"  # text | suspect | clutter | meta | breadcrumb | bullet | related


def normalise(line: str) -> str:
    """Collapse whitespace (including ideographic spaces) so patterns see one form."""
    return re.sub(r"[ \t\u3000\xa0]+", " ", line).strip()


def is_prose(text: str) -> bool:
    return (len(text) >= 20 and bool(_SENTENCE_END.search(text))) or (
        len(text) >= 40 and bool(_CLAUSE.search(text))
    )


def _is_nav(text: str) -> bool:
    if text.count("|") + text.count("｜") >= 2:
        return True
    tokens = text.split(" ")
    # Short spaced Chinese words ("首页 新闻 体育 财经"); spaces between Latin words are just text.
    chinese = sum(bool(_HAN.search(t)) for t in tokens)
    return len(tokens) >= 4 and chinese * 2 >= len(tokens) and all(len(t) <= 6 for t in tokens) \
        and not _CLAUSE.search(text)


def _classify(text: str, index: int) -> _Line:
    if _BREADCRUMB.search(text) and len(text) < 80:
        return _Line(index, text, "breadcrumb")
    # Metadata first: a "来源: X 作者: Y 编辑: Z" footer is shaped like a nav bar.
    if len(text) < 100 and (_BARE_DATE.match(text) or any(p.search(text) for p in _FIELDS.values())):
        return _Line(index, text, "meta")
    if _CLUTTER.search(text) or _is_nav(text) or len(set(_NOTICE_WORDS.findall(text))) >= 2:
        return _Line(index, text, "suspect" if is_prose(text) else "clutter")
    if _BULLET.match(text):
        return _Line(index, text, "bullet")
    if _RELATED.match(text) and not is_prose(text):
        return _Line(index, text, "related")
    return _Line(index, text)


def resolve_suspects(lines: list[_Line]) -> None:
    """A run of suspect lines is clutter when the line before or after the run is clutter,
    else text: keyword hits inside running prose need a neighbour's support to remove it."""
    i = 0
    while i < len(lines):
        if lines[i].kind != "suspect":
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].kind == "suspect":
            j += 1
        beside = [lines[k].kind for k in (i - 1, j) if 0 <= k < len(lines)]
        for line in lines[i:j]:
            line.kind = "clutter" if "clutter" in beside else "text"
        i = j


def extract_metadata(lines: list[_Line]) -> Metadata:
    meta = Metadata()
    for line in lines:
        if line.kind != "meta":
            continue
        for name, pattern in _FIELDS.items():
            match = pattern.search(line.text)
            value = match.group(1) if match else ""
            if value and not _FIELD_NAMES.match(value) and not getattr(meta, name):
                setattr(meta, name, value)
        bare = _BARE_DATE.match(line.text)
        if bare and not meta.date:
            meta.date = bare.group(1)
    return meta


def _title_key(text: str) -> str:
    return _TITLE_SUFFIX.sub("", text).strip()


def choose_title(lines: list[_Line], first_prose: int, hint: str = "") -> _Line | None:
    """Score short lines before the body; the best-supported one is the title."""
    counts: dict[str, int] = {}
    for line in lines:
        counts[_title_key(line.text)] = counts.get(_title_key(line.text), 0) + 1
    best: tuple[float, _Line] | None = None
    for pos, line in enumerate(lines):
        if line.index >= first_prose or line.kind != "text" or len(line.text) > 64:
            continue
        if len(line.text) == 1 and not _HAN.match(line.text):  # one character: only a Han title (稻)
            continue
        if "。" in line.text:
            continue
        key = _title_key(line.text)
        score = min(counts[key] - 1, 1) * 3.0
        if any(x.kind == "meta" for x in lines[pos + 1 : pos + 3]):
            score += 3
        if pos > 0 and lines[pos - 1].kind == "breadcrumb":
            score += 2
        if hint and key and (key in hint or hint in key):
            score += 4
        score -= 0.01 * (first_prose - line.index)  # prefer the line nearest the body
        if best is None or score > best[0]:
            best = (score, line)
    # With no evidence at all, the short line nearest the body is still the best guess.
    return best[1] if best is not None and best[0] > -1 else None


def _body_end(lines: list[_Line], last_prose: int) -> int:
    """The body ends at its last prose line, or at a short closing sentence after it ("特此通知。")."""
    closing = [x.index for x in lines if x.index > last_prose and x.kind == "text" and x.text[-1] in "。！？!?"]
    return max([last_prose, *closing])


def _body(lines: list[_Line], start: int, end: int, title_key: str) -> list[_Line]:
    """Keep text lines from start to end (inclusive), skipping link lists and clutter."""
    paragraphs: list[_Line] = []
    in_related = False
    for line in lines:
        if not start <= line.index <= end:
            continue
        if line.kind == "related":
            in_related = True
            continue
        if in_related and not is_prose(line.text):
            continue  # headlines under a "related articles" header are not content
        in_related = False
        if line.kind == "bullet" and len(line.text) < 60:
            continue
        if line.kind not in ("text", "bullet") or _title_key(line.text) == title_key:
            continue
        paragraphs.append(line)
    return paragraphs


_BLOCKS = ["p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header", "footer", "aside",
           "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "dd", "dt", "dl", "main", "figure", "hr"]


def html_to_text(html: str) -> tuple[str, str]:
    """Visible text of an HTML page, one block element per line, and its <title>.

    Only block elements break lines: removing an inline <script> or following a <b> must not
    cut a sentence in two.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = normalise(soup.title.get_text()) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg", "nav", "form", "head"]):
        tag.decompose()
    for tag in soup(_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    return soup.get_text(), re.split(r"\s[-_|–—]\s", title)[0] if title else ""


def _lines(raw: RawFile) -> tuple[list[str], str]:
    """Non-empty normalised lines of a file's visible text, and the HTML <title> hint."""
    text, hint = html_to_text(raw.text) if raw.is_html else (raw.text, "")
    if raw.name.lower().endswith((".md", ".markdown")):
        text = re.sub(r"(?m)^\s{0,3}(#{1,6}|[-*+]|\d+\.)\s+", "", text)
    return [t for t in (normalise(t) for t in text.split("\n")) if t], hint


def keep_all(raw: RawFile) -> Document:
    """``--keep-all``: every non-empty line is a paragraph; title and metadata are still read."""
    if raw.sections:
        return clean_structured(raw)
    texts, _hint = _lines(raw)
    cleaned = clean(raw)
    return Document(raw.name, raw.path, raw.sha256, cleaned.meta, texts, removed=Removed(0, 0, char_count(texts)))


_GENERATED_TITLE = re.compile(
    r"^(microsoft (word|excel|powerpoint)( - |$)|(word|excel|powerpoint) (document|worksheet|presentation)$"
    r"|untitled|无标题|新建|文档\d*$)|\.\w{2,4}$", re.IGNORECASE)


def _usable_title(title: str, stem: str) -> bool:
    """A file's own title property, unless a program filled it in ("Microsoft Word - 文档1.docx")."""
    return bool(title) and title != stem and not _GENERATED_TITLE.search(title)


def clean_structured(raw: RawFile) -> Document:
    """A PDF, Word, sheet or slide file: its own paragraphs, kept whole with their locations.

    No boilerplate removal: such files have no navigation bars or paywall notices, and their
    readers already dropped running headers and page numbers (counted in ``raw.removed``).
    """
    sections = [replace(s, text=normalise(s.text)) for s in raw.sections]
    sections = [s for s in sections if s.text]
    first = sections[0].text if sections else ""
    stem = Path(raw.name).stem
    title = raw.title if _usable_title(raw.title, stem) else (
        first if len(first) <= 64 and not _SENTENCE_END.search(first) else stem)
    meta = Metadata(title=title, author=raw.author)
    chars = char_count([s.text for s in sections])
    before = raw.removed or Removed()
    removed = Removed(before.chars, before.lines, max(before.total_chars, chars + before.chars))
    return Document(raw.name, raw.path, raw.sha256, meta, [s.text for s in sections], removed=removed,
                    sections=sections)


def clean(raw: RawFile) -> Document:
    """Turn a decoded file into a Document with metadata and body paragraphs."""
    if raw.sections:
        return clean_structured(raw)
    texts, hint = _lines(raw)
    lines = [_classify(t, i) for i, t in enumerate(texts)]
    resolve_suspects(lines)
    meta = extract_metadata(lines)
    prose = [x.index for x in lines if x.kind == "text" and is_prose(x.text)]
    if not prose:  # short notes: keep every plain line
        prose = [x.index for x in lines if x.kind == "text"] or [0]
    title = choose_title(lines, prose[0], hint)
    start = title.index + 1 if title else prose[0]
    title_text = _title_key(title.text) if title else hint
    body = _body(lines, start, _body_end(lines, prose[-1]), _title_key(title.text) if title else "")
    paragraphs = [x.text for x in body]
    _apply_dateline(paragraphs, meta)
    meta.title = title_text or Path(raw.name).stem
    author_title = _AUTHOR_TITLE.match(meta.title)
    if author_title and not meta.author:
        meta.author, meta.title = author_title.group(1), author_title.group(2)
    # Kept: body lines, the title line, and metadata lines (now fields of the metadata card).
    kept = {x.index for x in body} | {x.index for x in lines if x.kind == "meta"} | ({title.index} if title else set())
    dropped = [x.text for x in lines if x.index not in kept]
    return Document(doc_id=raw.name, path=raw.path, sha256=raw.sha256, meta=meta, paragraphs=paragraphs,
                    removed=Removed(char_count(dropped), len(dropped), char_count(texts)))


def _apply_dateline(paragraphs: list[str], meta: Metadata) -> None:
    """News datelines ("浙江在线09月20日讯") name the source and date when no field did."""
    if not paragraphs:
        return
    match = _DATELINE.match(paragraphs[0])
    if match:
        meta.source = meta.source or match.group(1)
        meta.date = meta.date or match.group(2)
