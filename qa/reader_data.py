"""Training data for the span reader (:mod:`qa.reader`): what it sees at answer time, labelled.

For every *train* question of each set, the passages retrieval puts in the top
``passages_considered`` (within the question's own document where the set is scored that
way) become one example each: the question, the passage, and the answer's character span in
the passage, or none (the reader must learn to say "not here": most retrieved passages do not
hold the answer, and CJRC's unanswerable questions hold it nowhere). The passage that holds
the answer is added when retrieval missed it. A passage's answer is the first occurrence of a
gold answer in it. YES/NO answers (CJRC) name no span and are left out.

``python -m qa.reader_data SET=INDEX[@doc] ... --out reader-train.npz`` writes the examples
tokenised for e5-small plus the packaged weights the trainer needs (Q4 blocks of the layers
and of the vocabulary rows used), so the trainer (``tools/train_reader.py``) runs on a machine
without this package's dependencies.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .answer_fit import QuestionSet

#: Share of training documents kept out of the reader's fit, for fitting its abstain threshold.
DEV_SHARE = 0.15
NO_SPAN_ANSWERS = {"YES", "NO"}


@dataclass(frozen=True)
class Example:
    set: str
    qid: str
    question: str
    passage: str
    span: tuple[int, int] | None  # the answer in ``passage``; None: this passage does not answer
    dev: bool


def is_dev(doc: str | None) -> bool:
    """A fixed share of training documents, by hash, that the reader's fit never sees."""
    digest = hashlib.sha1(f"reader-dev:{doc}".encode()).hexdigest()[:8]
    return int(digest, 16) / 0xFFFFFFFF < DEV_SHARE


def in_the_other_script(examples: list[Example]) -> list[Example]:
    """Each example again in the other script (Traditional ↔ Simplified), where the conversion
    keeps the passage's length (so the answer's offsets hold): users ask either script of either."""
    from .script import is_traditional, to_simplified, to_traditional

    out = []
    for ex in examples:
        convert = to_simplified if is_traditional(ex.passage + ex.question) else to_traditional
        passage = convert(ex.passage)
        if len(passage) == len(ex.passage) and passage != ex.passage:
            out.append(replace(ex, qid=ex.qid + "~", question=convert(ex.question), passage=passage))
    return out


def answer_span(text: str, answers: list[str]) -> tuple[int, int] | None:
    """The earliest occurrence of any gold answer in ``text``."""
    found = [(text.find(a), -len(a), a) for a in answers if a and text.find(a) >= 0]
    if not found:
        return None
    start, _, answer = min(found)
    return start, start + len(answer)


def open_set(qset: QuestionSet, keep) -> tuple[object, list]:
    """The set's index opened for retrieval (the rules answer, unused) and its questions that
    ``keep`` accepts."""
    from .config import Settings
    from .evaluation import read_questions
    from .pipeline import Assistant

    assistant = Assistant.open(replace(Settings(), index_dir=qset.index_dir))
    questions, _ = read_questions(qset.questions, [d.doc_id for d in assistant.index.documents])
    return assistant, [q for q in questions if keep(q)]


def collect(qset: QuestionSet, split: str = "train") -> list[Example]:
    """Examples for every question of ``split`` (see the module docstring)."""
    from tqdm import tqdm

    assistant, questions = open_set(qset, lambda q: q.split == split)
    depth, name, within_doc = assistant.settings.answer.passages_considered, qset.name, qset.within_doc
    queries = [assistant.analyzer.run(assistant.prepare(q.question)[0]) for q in questions]
    vectors = assistant.retriever.encode(queries)
    examples: list[Example] = []
    for q, query, vector in tqdm(list(zip(questions, queries, vectors)), desc=f"reader data {name}", unit="q"):
        if any(a.upper() in NO_SPAN_ANSWERS for a in q.answers):
            continue
        doc = q.doc if within_doc else None
        hits = assistant.retriever.run(query, vector=vector, top_k=depth, doc=doc)
        passages = [h.chunk.text for h in hits[:depth]]
        spans = [answer_span(p, q.answers) for p in passages]
        if q.answers and not any(spans):
            gold = _gold_passage(assistant.index, q.doc, q.answers)
            if gold is not None:
                passages.append(gold)
                spans.append(answer_span(gold, q.answers))
        dev = is_dev(q.doc)
        examples += [Example(name, q.id, q.question, p, s, dev) for p, s in zip(passages, spans)]
    assistant.index.close()
    return examples


def _gold_passage(index, doc: str | None, answers: list[str]) -> str | None:
    """The first passage of the question's document that holds a gold answer."""
    if not doc:
        return None
    for chunk in index.passages(list(index.rows_of(doc))):
        if answer_span(chunk.text, answers):
            return chunk.text
    return None


# ------------------------------------------------------------------ tokenised bundle
@dataclass(frozen=True)
class Encoded:
    ids: np.ndarray  # [n, length] int32 token ids (padding: eos)
    mask: np.ndarray  # [n, length] uint8, 1 = a real token
    passage_start: np.ndarray  # [n] first passage token: start/end may only fall at or after it
    start: np.ndarray  # [n] answer start token, 0 (<s>) = no answer here
    end: np.ndarray  # [n] answer end token (inclusive)


def encode(examples: list[Example], tokenizer, max_length: int, max_question: int) -> tuple[Encoded, list[int]]:
    """Tokenise ``<s> question </s></s> passage </s>``; an answer cut off by ``max_length`` is
    left out (kept: the indexes of the examples encoded)."""
    rows, kept = [], []
    for i, ex in enumerate(examples):
        pair = pair_ids(tokenizer, ex.question, ex.passage, max_length, max_question)
        if pair is None:
            continue
        ids, first, offsets = pair
        start = end = 0
        if ex.span is not None:
            inside = [t for t, (s, e) in enumerate(offsets) if e > ex.span[0] and s < ex.span[1] and e > s]
            if not inside:
                continue  # truncated away
            start, end = first + inside[0], first + inside[-1]
        rows.append((ids, first, start, end))
        kept.append(i)
    length = max(len(r[0]) for r in rows)
    ids = np.full((len(rows), length), tokenizer.eos, np.int32)
    mask = np.zeros((len(rows), length), np.uint8)
    for row, (token_ids, _, _, _) in enumerate(rows):
        ids[row, : len(token_ids)] = token_ids
        mask[row, : len(token_ids)] = 1
    columns = np.array([[r[1], r[2], r[3]] for r in rows], np.int32)
    return Encoded(ids, mask, columns[:, 0], columns[:, 1], columns[:, 2]), kept


def pair_ids(tokenizer, question: str, passage: str, max_length: int, max_question: int
             ) -> tuple[list[int], int, list[tuple[int, int]]] | None:
    """The reader's input ids, the index of the first passage token, and the passage tokens'
    character offsets (only those that fit)."""
    q = tokenizer.content_ids(question)[:max_question]
    p, offsets = tokenizer.pieces_with_offsets(passage)
    room = max_length - len(q) - 4
    if room <= 0:
        return None
    p, offsets = p[:room], offsets[:room]
    ids = [tokenizer.bos, *q, tokenizer.eos, tokenizer.eos, *p, tokenizer.eos]
    return ids, len(q) + 3, offsets


def write_bundle(examples: list[Example], out: Path, max_length: int = 384, max_question: int = 64) -> dict:
    """The examples tokenised, with the weights the trainer starts from, in one ``.npz``."""
    from .encoders.e5_tokenizer import E5Tokenizer
    from .encoders.e5_weights import E5Weights

    weights = E5Weights.packaged()
    tokenizer = E5Tokenizer(weights)
    encoded, kept = encode(examples, tokenizer, max_length, max_question)
    vocab, local = np.unique(encoded.ids, return_inverse=True)
    arrays = {
        "ids": local.reshape(encoded.ids.shape).astype(np.int32), "mask": encoded.mask,
        "passage_start": encoded.passage_start, "start": encoded.start, "end": encoded.end,
        "dev": np.array([examples[i].dev for i in kept], np.uint8),
        # Examples of one question share a number: the trainer ranks their passages per question.
        "question": np.unique([f"{examples[i].set}/{examples[i].qid}" for i in kept], return_inverse=True)[1]
        .astype(np.int32),
        "set": np.array([examples[i].set for i in kept]),
        "word_q4": weights.word_blocks(vocab),  # the rows used, still 4-bit (the trainer dequantises)
        "base_sha256": np.array(weights.sha256),  # the trained weights are stored as differences from these
    }
    for name in tensor_names(weights):
        raw = weights.raw(name)
        if raw.dtype == np.float32:
            arrays[f"w:{name}"] = raw
        else:
            arrays[f"q4:{name}"] = raw
            arrays[f"shape:{name}"] = np.array(weights.shape(name), np.int64)
    np.savez_compressed(out, **arrays)
    stats = {"examples": len(kept), "dropped": len(examples) - len(kept), "vocabulary": len(vocab),
             "with_answer": int((encoded.start > 0).sum()), "dev": int(arrays["dev"].sum()),
             "length": int(encoded.ids.shape[1]), "bytes": out.stat().st_size}
    return stats


def tensor_names(weights) -> list[str]:
    """Every tensor the reader trains: all but the 250k-row word table."""
    cfg = weights.config
    names = ["emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"]
    for layer in range(cfg.layers):
        for part in ("q", "k", "v", "ao", "fi", "fo"):
            names += [f"l{layer}.{part}.w", f"l{layer}.{part}.b"]
        for norm in ("aln", "oln"):
            names += [f"l{layer}.{norm}.w", f"l{layer}.{norm}.b"]
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", metavar="QUESTIONS.jsonl=INDEX_DIR[@doc]")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--both-scripts", action="store_true", help="also each example in the other script")
    args = parser.parse_args(argv)
    examples: list[Example] = []
    for spec in args.sets:
        examples += collect(QuestionSet.parse(spec))
    if args.both_scripts:
        examples += in_the_other_script(examples)
    stats = write_bundle(examples, args.out)
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
