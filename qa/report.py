"""Evaluation report: report.md, metrics.json and a recall@k plot, with every miss listed."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path


def plot_recall(path: Path, runs: dict, source: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display here; write files only
    import matplotlib.pyplot as plt

    ks = list(range(1, 11))
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for mode, outcomes in runs.items():
        answerable = [o for o in outcomes if o.question.answerable]
        n = max(len(answerable), 1)
        ax.plot(ks, [sum(o.rank is not None and o.rank <= k for o in answerable) / n for k in ks],
                marker="o", label=mode)
    ax.set(xlabel="k (passages retrieved)", ylabel="recall@k", title=f"Recall@k — {Path(source).name}",
           xticks=ks, ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _miss_lines(outcomes: list) -> list[str]:
    lines = []
    for o in outcomes:
        q, a = o.question, o.answer
        wrong_abstain = not q.answerable and not a.abstained
        missed = q.answerable and (o.rank is None or o.rank > 5 or not o.answer_correct)
        if not (missed or wrong_abstain):
            continue
        got = "abstained" if a.abstained else f"answered “{a.text}”"
        expected = " / ".join(q.answers) if q.answers else "(abstain)"
        lines.append(f"- **{q.id}** {q.question} — expected {expected}, hit rank {o.rank or '-'}, {got}")
        for p in a.passages[:3]:
            c = p.hit.chunk
            lines.append(f"  - [{p.rank}] {c.doc_id} ¶{c.paragraph}: {c.text[:80].replace(chr(10), ' ')}…")
    return lines


def write(folder: Path, metrics: list, runs: dict, source: str, table: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    plot_recall(folder / "recall_at_k.png", runs, source)
    (folder / "metrics.json").write_text(
        json.dumps([asdict(m) for m in metrics], ensure_ascii=False, indent=2), "utf-8")
    parts = [f"# Evaluation: {Path(source).name}", "", table, "", "![recall@k](recall_at_k.png)", ""]
    for mode, outcomes in runs.items():
        misses = _miss_lines(outcomes)
        parts += [f"## Misses — {mode} ({len(misses and [m for m in misses if m.startswith('- ')])})", ""]
        parts += misses or ["None."]
        parts.append("")
    (folder / "report.md").write_text("\n".join(parts), "utf-8")
