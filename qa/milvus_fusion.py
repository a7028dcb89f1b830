"""Which fusion for the Milvus store: the project's own, or Milvus's ``hybrid_search`` rankers?

``python -m qa.milvus_fusion QUESTIONS.jsonl --index-dir DIR`` (DIR: a Milvus index) retrieves
every question three ways over the same collection and prints recall@1/@5 and MRR@10:

- ``project``: two searches (BM25, dense) fused by qa/retrieval.py — what the store does;
- ``milvus-rrf``: ``hybrid_search`` with ``RRFRanker(k)``, the project's ``rrf_k``;
- ``milvus-weighted``: ``hybrid_search`` with ``WeightedRanker`` at the project's ``bm25_share``
  (Milvus squashes each score with arctan before weighting).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from .config import Settings, go_offline
from .evaluation import is_hit, read_questions


def _milvus_ranked(assistant, query, vector, make_ranker, depth: int, k: int) -> list[int]:
    from pymilvus import AnnSearchRequest

    index = assistant.index
    expr = f"gen <= {index.generation}"
    known = [t for t in query.tokens if t in index.terms.doc_freq]
    requests = [AnnSearchRequest(data=[vector.tolist()], anns_field="vec",
                                 param={"metric_type": "IP", "params": index.search_params}, limit=depth, expr=expr)]
    if known:
        requests.insert(0, AnnSearchRequest(data=[" ".join(known)], anns_field="sparse",
                                            param={"metric_type": "BM25"}, limit=depth, expr=expr))
    result = index.client.hybrid_search(index.collection, requests, make_ranker(len(requests)), limit=k)
    return [int(hit["id"]) for hit in result[0]]


def compare(questions_path: Path, settings: Settings, k: int = 10) -> dict[str, dict[str, float]]:
    from pymilvus import RRFRanker, WeightedRanker

    from .pipeline import Assistant

    assistant = Assistant.open(settings)
    if assistant.index.stats()["store"] != "milvus":
        raise SystemExit(f"{settings.index_dir} is not a Milvus index (qa index --store milvus)")
    questions, _ = read_questions(questions_path, [d.doc_id for d in assistant.index.documents])
    questions = [q for q in questions if q.answerable]
    queries = [assistant.analyzer.run(assistant.prepare(q.question)[0]) for q in questions]
    vectors = assistant.retriever.encode(queries)
    r = settings.retrieval
    # A question with no corpus word has the dense request alone (one weight then).
    rankers = {"milvus-rrf": lambda _n: RRFRanker(r.rrf_k),
               "milvus-weighted": lambda n: WeightedRanker(r.bm25_share, 1 - r.bm25_share) if n == 2 else
               WeightedRanker(1.0)}
    ranks: dict[str, list[int | None]] = {name: [] for name in ["project", *rankers]}
    for question, query, vector in zip(questions, queries, vectors):
        orders = {"project": [h.chunk.chunk_id for h in assistant.retriever.run(query, vector=vector, top_k=k)]}
        for name, ranker in rankers.items():
            orders[name] = _milvus_ranked(assistant, query, vector, ranker, r.candidates, k)
        for name, rows in orders.items():
            chunks = assistant.index.passages(rows)
            ranks[name].append(next((i + 1 for i, c in enumerate(chunks) if is_hit(question, c)), None))
    n = max(len(questions), 1)
    return {name: {"R@1": sum(x == 1 for x in got) / n, "R@5": sum(x is not None and x <= 5 for x in got) / n,
                   "MRR@10": sum(1 / x for x in got if x) / n, "questions": len(got)}
            for name, got in ranks.items()}


def main(argv: list[str] | None = None) -> int:
    go_offline()
    p = argparse.ArgumentParser(prog="python -m qa.milvus_fusion", description=__doc__.splitlines()[0])
    p.add_argument("questions", type=Path)
    p.add_argument("--index-dir", type=Path, required=True)
    args = p.parse_args(argv)
    figures = compare(args.questions, replace(Settings(), index_dir=args.index_dir))
    print("| fusion | R@1 | R@5 | MRR@10 | questions |\n|---|---|---|---|---|")
    for name, m in figures.items():
        print(f"| {name} | {m['R@1']:.3f} | {m['R@5']:.3f} | {m['MRR@10']:.3f} | {m['questions']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
