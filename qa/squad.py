"""Turn a SQuAD-format set (CMRC 2018, DRCD, CJRC) into a corpus folder and a question file.

    python -m qa.squad ../shared/benchmarks/cmrc2018_trial.json --out eval/cmrc

writes ``corpus/<paragraph id>.txt`` (the title on the first line, then the paragraph) and
``questions.jsonl`` in the format ``qa eval`` reads: each question's accepted answers are its
answer spans (none for SQuAD-2.0 style ``is_impossible`` questions, which are right when the
assistant abstains), its ``doc`` is the paragraph, and its ``split`` is ``train`` or ``test``,
fixed by a hash of the document id so that whatever is fitted on ``train`` is measured on a
``test`` half it never saw, and no document's questions fall on both sides.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

#: Share of documents held out as the ``test`` split.
TEST_SHARE = 0.5


def split_of(doc_id: str) -> str:
    bucket = int(hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if bucket < TEST_SHARE else "train"


def _answers(qa: dict) -> list[str]:
    if str(qa.get("is_impossible", "false")).lower() == "true":
        return []
    return list(dict.fromkeys(a["text"].strip() for a in qa.get("answers", []) if a["text"].strip()))


def convert(source: Path, out: Path) -> tuple[int, int]:
    data = json.loads(source.read_text("utf-8"))
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    paragraphs = questions = 0
    with (out / "questions.jsonl").open("w", encoding="utf-8") as fh:
        for article in data["data"]:
            for number, paragraph in enumerate(article["paragraphs"]):
                # CMRC/DRCD name paragraphs; CJRC names the case (one judgment a paragraph).
                pid = str(paragraph.get("id") or article.get("caseid") or f"{article.get('title', 'doc')}-{number}")
                title = (article.get("title") or paragraph.get("casename") or "").strip()
                (corpus / f"{pid}.txt").write_text(f"{title}\n{paragraph['context'].strip()}\n", "utf-8")
                paragraphs += 1
                for qa in paragraph["qas"]:
                    item = {"id": qa["id"], "question": qa["question"], "answers": _answers(qa),
                            "doc": f"{pid}.txt", "split": split_of(pid)}
                    fh.write(json.dumps(item, ensure_ascii=False) + "\n")
                    questions += 1
    return paragraphs, questions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a SQuAD-format JSON file")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"error: no such file: {args.source}", file=sys.stderr)
        return 1
    paragraphs, questions = convert(args.source, args.out)
    print(f"wrote {paragraphs} documents to {args.out / 'corpus'} and {questions} questions to "
          f"{args.out / 'questions.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
