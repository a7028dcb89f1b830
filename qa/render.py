"""Render an :class:`Answer` for the terminal: answer, citation, passages with the span marked."""

from __future__ import annotations

from html import escape

from .schema import Answer, Passage

NOT_FOUND = "Not found in the documents. (文档中没有找到答案。)"
_BOLD, _HILITE, _DIM, _RESET = "\x1b[1m", "\x1b[1;33m", "\x1b[2m", "\x1b[0m"


def location(p: Passage, short: bool = False) -> str:
    """Where in its document a passage sits: page, slide or sheet rows in a structured file (with
    the OCR confidence when it was read from a scan), else the metadata card or a paragraph number."""
    c = p.hit.chunk
    if c.location:
        ocr = c.meta.get("ocr_confidence")
        return c.location + (f", OCR {ocr}" if ocr and not short else "")
    return "metadata" if c.paragraph == 0 else f"¶{c.paragraph}" if short else f"paragraph {c.paragraph}"


def citation(p: Passage) -> str:
    c = p.hit.chunk
    where = location(p)
    extra = ", ".join(v for v in (c.meta.get("date", ""), c.meta.get("source", "")) if v)
    return f"《{c.title}》 {c.doc_id}, {where}" + (f" ({extra})" if extra else "")


def marked(p: Passage, color: bool) -> str:
    """Passage text with the answer span marked: bold yellow on a terminal, 【】 otherwise."""
    text = p.hit.chunk.text
    if not p.answer_span:
        return text
    s, e = p.answer_span
    left, right = (_HILITE, _RESET) if color else ("【", "】")
    return f"{text[:s]}{left}{text[s:e]}{right}{text[e:]}"


def render_answer(answer: Answer, color: bool = False) -> str:
    bold = (lambda t: f"{_BOLD}{t}{_RESET}") if color else (lambda t: t)
    dim = (lambda t: f"{_DIM}{t}{_RESET}") if color else (lambda t: t)
    lines: list[str] = []
    cited = answer.cited
    if answer.abstained or cited is None:
        lines += [bold(NOT_FOUND), "", "Closest passages (possibly related, not an answer):"]
    else:
        lines += [f"{bold('Answer:')} {bold(answer.text or '')}",
                  f"  from {citation(cited)}",
                  f"  “{answer.sentence}”", "", "Passages:"]
    for p in answer.passages:
        lines.append(f"[{p.rank}] {citation(p)}  {dim(f'score {p.hit.score:.4f}')}")
        lines.append("    " + marked(p, color).replace("\n", "\n    "))
    return "\n".join(lines)


# ---------------------------------------------------------------- HTML (web chat)
NOT_FOUND_HTML = "not found in these documents（文档中没有找到答案）"


def _esc(text: str) -> str:
    return escape(text, quote=True)


def passage_html(p: Passage) -> str:
    """One cited passage: title, file, paragraph, date and source, text with the sentence and
    answer span marked. All document text is escaped: it is shown, never interpreted."""
    c = p.hit.chunk
    text = c.text
    pieces: list[str] = []
    sent = p.sentence_span or (None, None)
    span = p.answer_span or (None, None)
    cuts = sorted({0, len(text), *(x for x in (*sent, *span) if x is not None)})
    for a, b in zip(cuts, cuts[1:]):
        piece = _esc(text[a:b]).replace("\n", "<br>")
        if span[0] is not None and span[0] <= a and b <= span[1]:
            piece = f'<mark class="qa-span">{piece}</mark>'
        if sent[0] is not None and sent[0] <= a and b <= sent[1]:
            piece = f'<span class="qa-sentence">{piece}</span>'
        pieces.append(piece)
    where = location(p, short=True)
    extra = " · ".join(_esc(v) for v in (c.meta.get("date", ""), c.meta.get("source", "")) if v)
    return (f'<div class="qa-passage"><div class="qa-cite"><b>[{p.rank}] 《{_esc(c.title)}》</b> '
            f'<code>{_esc(c.doc_id)}</code> {_esc(where)}{" · " + extra if extra else ""} '
            f'<span class="qa-score">score {p.hit.score:.4f}</span></div>'
            f'<div class="qa-text">{"".join(pieces)}</div></div>')


def answer_html(answer: Answer, shown: int = 3, asked_as: str | None = None) -> str:
    """The assistant's chat message: bold answer with its citation, then the passages
    (``shown`` visible, the rest behind "more"); or a plain not-found with related passages."""
    parts = ['<div class="qa-answer">']
    if asked_as:
        parts.append(f'<div class="qa-note">understood as: {_esc(asked_as)}</div>')
    for note in answer.notes:
        parts.append(f'<div class="qa-note">{_esc(note)}</div>')
    cited = answer.cited
    if answer.abstained or cited is None:
        parts.append(f'<p class="qa-notfound"><b>{NOT_FOUND_HTML}</b></p>')
        if answer.passages:
            parts.append("<p>Possibly related (not an answer):</p>")
    else:
        c = cited.hit.chunk
        parts.append(f'<p class="qa-short"><b>{_esc(answer.text or "")}</b></p>'
                     f'<p class="qa-citation">— 《{_esc(c.title)}》 <code>{_esc(c.doc_id)}</code>, {_esc(location(cited))}</p>')
    visible, more = answer.passages[:shown], answer.passages[shown:]
    parts += [passage_html(p) for p in visible]
    if more:
        parts.append(f"<details><summary>{len(more)} more passages</summary>"
                     + "".join(passage_html(p) for p in more) + "</details>")
    parts.append("</div>")
    return "".join(parts)
