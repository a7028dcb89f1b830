"""Render an :class:`Answer` for the terminal: answer, citation, passages with the span marked."""

from __future__ import annotations

from .schema import Answer, Passage

NOT_FOUND = "Not found in the documents. (文档中没有找到答案。)"
_BOLD, _HILITE, _DIM, _RESET = "\x1b[1m", "\x1b[1;33m", "\x1b[2m", "\x1b[0m"


def citation(p: Passage) -> str:
    c = p.hit.chunk
    where = "metadata" if c.paragraph == 0 else f"paragraph {c.paragraph}"
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
