"""Should the rerank score be blended with the fusion score? Measured on SciFact and the corpus.

For each rerank depth and blend weight w (final order = w * cross-encoder probability +
(1 - w) * fusion score scaled to the best candidate; w = 1 is reranking alone), report
SciFact nDCG@10 / Recall@100 over the 300 test claims (the cached bge-small index of
bench/scifact.py) and Recall@5 / MRR on the development questions. Cross-encoder scores
are memoised per (question, sentence), so every weight costs one rerank pass per depth;
blending adds no latency.

    .venv/bin/python bench/rerank_blend.py [--depths 10 20] [--weights 1 0.8 0.6 0.4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from machine import machine
from scifact import (
    OUT,
    RETRIEVE_K,
    ObservedReranker,
    load_scifact,
    ndcg_at_k,
    rank_documents,
    recall_at_k,
    use_reranker,
)

from assistant import Assistant
from assistant.evaluation import load_qa, retrieval_scores
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def scifact_scores(assistant: Assistant, depth: int) -> dict:
    """nDCG@10 and Recall@100 of documents ranked by their best passage."""
    _, queries, qrels = load_scifact(None)
    ndcgs, recalls = [], []
    for qid, text in queries.items():
        ranked = rank_documents(assistant.retrieve(text, k=RETRIEVE_K, rerank_depth=depth))
        ndcgs.append(ndcg_at_k(ranked, qrels[qid]))
        recalls.append(recall_at_k(ranked, qrels[qid]))
    return {"ndcg_at_10": round(statistics.fmean(ndcgs), 4),
            "recall_at_100": round(statistics.fmean(recalls), 4)}


def corpus_scores(assistant: Assistant, depth: int) -> dict:
    scores = retrieval_scores(load_qa(), lambda q: assistant.retrieve(q, k=5, rerank_depth=depth))
    return {"recall_at_5": round(scores.recall_at_k, 3), "mrr": round(scores.mrr, 3)}


def sweep(assistant: Assistant, measure, depths: list[int], weights: list[float]) -> list[dict]:
    """One row per (depth, weight), deepest first so shallower depths reuse scores."""
    rows = []
    for depth in sorted(depths, reverse=True):
        for weight in weights:
            assistant.settings.rerank_weight = weight
            rows.append({"depth": depth, "weight": weight, **measure(assistant, depth)})
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", nargs="+", type=int, default=[10, 20])
    parser.add_argument("--weights", nargs="+", type=float, default=[1.0, 0.8, 0.6, 0.4, 0.2])
    parser.add_argument("--skip-scifact", action="store_true")
    args = parser.parse_args()
    results: dict = {"machine": machine()}
    memo = ObservedReranker(memoise=True)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Assistant(corpus_dir=ROOT / "corpus", index_dir=tmp)
        corpus.index()
        use_reranker(corpus, memo)
        results["corpus"] = sweep(corpus, corpus_scores, args.depths, args.weights)
    if not args.skip_scifact:
        settings = Settings(dense_candidates=100, lexical_candidates=100)
        base = OUT / "scifact"
        scifact = Assistant(corpus_dir=base / "corpus", index_dir=base / "index-bge-small",
                            embedder="bge-small", settings=settings)
        use_reranker(scifact, memo)
        results["scifact"] = sweep(scifact, scifact_scores, args.depths, args.weights)
    (OUT / "rerank_blend.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
