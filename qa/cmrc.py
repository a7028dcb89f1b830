"""Turn a SQuAD-format set (CMRC 2018 trial, DRCD dev) into a corpus folder and a question file.

    python -m qa.cmrc ../shared/benchmarks/cmrc2018_trial.json --out eval/cmrc

writes ``corpus/<paragraph id>.txt`` (the article title on the first line, then the
paragraph) and ``questions.jsonl`` in the format ``qa eval`` reads: each question's accepted
answers are its answer spans and its ``doc`` is the paragraph id.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def convert(source: Path, out: Path) -> tuple[int, int]:
    data = json.loads(source.read_text("utf-8"))
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    paragraphs = questions = 0
    with (out / "questions.jsonl").open("w", encoding="utf-8") as fh:
        for article in data["data"]:
            for paragraph in article["paragraphs"]:
                pid = paragraph["id"]
                title = article.get("title", "").strip()
                (corpus / f"{pid}.txt").write_text(f"{title}\n{paragraph['context'].strip()}\n", "utf-8")
                paragraphs += 1
                for qa in paragraph["qas"]:
                    answers = list(dict.fromkeys(a["text"].strip() for a in qa["answers"] if a["text"].strip()))
                    item = {"id": qa["id"], "question": qa["question"], "answers": answers, "doc": f"{pid}.txt"}
                    fh.write(json.dumps(item, ensure_ascii=False) + "\n")
                    questions += 1
    return paragraphs, questions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="cmrc2018_trial.json")
    parser.add_argument("--out", type=Path, default=Path("eval/cmrc"))
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
