"""How should the reranked head be ordered? Measured on SciFact and the corpus (issue 3).

The cross-encoder scores each sentence of the top ``depth`` fused candidates. An *ordering*
turns those sentence logits and the fusion (RRF) score into the final order of the head:

- ``pool``: a passage's cross-encoder logit, (best + s · second best) / (1 + s); s = 0 is
  the best sentence alone (MaxP), s = 1 the mean of the top two;
- ``score`` fusion, weight w: w · sigmoid(pool) + (1 - w) · fused / best fused (w = 1 is
  the cross-encoder alone);
- ``rrf`` fusion, weight w: fused + w / (rrf_k + rank of the passage by pool), i.e. the
  cross-encoder's order as a third, weighted list of the reciprocal rank fusion;
- ``minmax`` fusion, weight w: w · pool + (1 - w) · fused, each min-max scaled over the
  head (the convex combination of Bruch et al., 2023);
- ``logit`` fusion, weight w: pool - w · ln(fusion rank), the cross-encoder's log-odds plus
  a log prior that falls with the fusion rank: fusion decides only where the cross-encoder
  is unsure (near-equal logits), and a confident cross-encoder still wins.

For each rerank depth and ordering it reports SciFact nDCG@10 / Recall@100 over the 300
test claims (the cached bge-small index of ``bench/scifact.py``) and Recall@5 / MRR on the
development questions, to ``bench/out/rerank_blend.json`` and ``rerank_blend.md``.
Cross-encoder scores are memoised per call (exactly what a live search computes) in
``bench/out/rerank_memo.json``, so only the first run pays for reranking; orderings add no
latency.

    .venv/bin/python bench/rerank_blend.py [--depths 5 10 20] [--datasets corpus scifact]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
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
from assistant.retrieval import Candidate
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
MEMO = OUT / "rerank_memo.json"


@dataclass(frozen=True)
class Ordering:
    """One way to order the reranked head (see the module docstring)."""

    fusion: str  # "score", "rrf", "minmax" or "logit"
    weight: float
    second: float = 0.0  # share of the second-best sentence in a passage's pool

    @property
    def name(self) -> str:
        pool = "max" if not self.second else f"max+{self.second:g}·2nd"
        return f"{self.fusion} w={self.weight:g}, {pool}"

    def pool(self, cand: Candidate) -> float:
        scores = cand.sentence_scores or [-1e9]
        second = scores[1] if len(scores) > 1 else scores[0]
        return (scores[0] + self.second * second) / (1 + self.second)

    def key(self, candidates: list[Candidate], rrf_k: int) -> Callable[[Candidate], float]:
        """The sort key of the head (the candidates that have sentence scores)."""
        head = [c for c in candidates if c.rerank is not None]
        pools = {c.chunk_id: self.pool(c) for c in head}
        top = max((c.fused for c in candidates), default=1.0) or 1.0
        w = self.weight
        if self.fusion == "score":
            return lambda c: w * sigmoid(pools[c.chunk_id]) + (1 - w) * c.fused / top
        if self.fusion == "logit":
            rank = {c.chunk_id: i for i, c in enumerate(head, start=1)}  # head is fusion order
            return lambda c: pools[c.chunk_id] - w * math.log(rank[c.chunk_id])
        if self.fusion == "rrf":
            by_pool = sorted(pools, key=pools.__getitem__, reverse=True)
            rank = {cid: i for i, cid in enumerate(by_pool, start=1)}
            return lambda c: c.fused + w / (rrf_k + rank[c.chunk_id])
        lo_p, hi_p = min(pools.values()), max(pools.values())
        lo_f, hi_f = min(c.fused for c in head), max(c.fused for c in head)
        return lambda c: (w * (pools[c.chunk_id] - lo_p) / ((hi_p - lo_p) or 1)
                          + (1 - w) * (c.fused - lo_f) / ((hi_f - lo_f) or 1))



def sigmoid(x: float) -> float:
    """Logit to probability, safe for the -1e9 of a passage with no scorable sentence."""
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))

def orderings() -> list[Ordering]:
    """The grid; its first row (score w=1, max) is the default before this session."""
    softer = [Ordering("score", 1.0, s) for s in (0.5, 1.0)]
    return [Ordering("score", 1.0), *softer, Ordering("score", 0.5), Ordering("score", 0.2),
            *(Ordering("rrf", w) for w in (1.0, 2.0, 3.0, 4.0, 6.0)),
            *(Ordering("minmax", w) for w in (0.7, 0.5)),
            *(Ordering("logit", w) for w in (0.5, 1.0, 2.0)), Ordering("logit", 1.0, 0.5)]


class MemoisedEmbedder:
    """The searcher's embedder with its vectors memoised: every ordering asks again."""

    def __init__(self, inner):
        self.inner = inner
        self.cache: dict = {}

    def encode(self, texts: list[str], *, query: bool = False):
        key = (tuple(texts), query)
        if key not in self.cache:
            self.cache[key] = self.inner.encode(texts, query=query)
        return self.cache[key]


def use_ordering(assistant: Assistant, ordering: Ordering) -> None:
    # The searcher sorts its reranked head by the key ``_blend`` returns; swap in ours.
    rrf_k = assistant.settings.rrf_k
    assistant.searcher._blend = lambda cands: ordering.key(cands, rrf_k)  # type: ignore[method-assign]


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
    return {"recall_at_5": round(scores.recall_at_k, 3), "mrr": round(scores.mrr, 3),
            "misses": scores.misses}


def sweep(assistant: Assistant, measure, depths: list[int], memo: ObservedReranker) -> list[dict]:
    """Depth 0, the searcher's own default ordering, then one row per (depth, ordering)."""
    depth = assistant.settings.rerank_depth
    rows = [{"depth": 0, "ordering": "fusion only", **measure(assistant, 0)},
            {"depth": depth, "ordering": "default (retrieval.py)", **measure(assistant, depth)}]
    print(rows, flush=True)
    for depth in depths:
        for ordering in orderings():
            use_ordering(assistant, ordering)
            rows.append({"depth": depth, "ordering": ordering.name, **measure(assistant, depth)})
            print(rows[-1], flush=True)
            memo.save()
    return rows


def markdown(results: dict) -> str:
    """One row per (depth, ordering): SciFact nDCG@10 / R@100, corpus Recall@5 / MRR."""
    corpus = {(r["depth"], r["ordering"]): r for r in results.get("corpus", [])}
    scifact = {(r["depth"], r["ordering"]): r for r in results.get("scifact", [])}
    lines = ["| depth | ordering | SciFact nDCG@10 | SciFact R@100 | corpus Recall@5 "
             "| corpus MRR |", "|---:|---|---:|---:|---:|---:|"]
    for key in dict.fromkeys([*corpus, *scifact]):
        s, c = scifact.get(key, {}), corpus.get(key, {})
        lines.append(f"| {key[0]} | {key[1]} | {s.get('ndcg_at_10', math.nan):.3f} "
                     f"| {s.get('recall_at_100', math.nan):.3f} "
                     f"| {c.get('recall_at_5', math.nan):.3f} | {c.get('mrr', math.nan):.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", nargs="+", type=int, default=[5, 10, 20])
    parser.add_argument("--datasets", nargs="+", choices=["corpus", "scifact"],
                        default=["corpus", "scifact"])
    args = parser.parse_args()
    results: dict = {"machine": machine(), "depths": args.depths}
    memo = ObservedReranker(memoise=True, per_call=True, memo_file=MEMO)
    if "corpus" in args.datasets:
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Assistant(corpus_dir=ROOT / "corpus", index_dir=tmp)
            corpus.index()
            use_reranker(corpus, memo)
            results["corpus"] = sweep(corpus, corpus_scores, args.depths, memo)
    if "scifact" in args.datasets:
        settings = Settings(dense_candidates=100, lexical_candidates=100)
        base = OUT / "scifact"
        scifact = Assistant(corpus_dir=base / "corpus", index_dir=base / "index-bge-small",
                            embedder="bge-small", settings=settings)
        use_reranker(scifact, memo)
        scifact.searcher.embedder = MemoisedEmbedder(scifact.searcher.embedder)
        results["scifact"] = sweep(scifact, scifact_scores, args.depths, memo)
    name = "rerank_blend" + ("" if len(args.datasets) == 2 else "-" + args.datasets[0])
    (OUT / f"{name}.json").write_text(json.dumps(results, indent=1))
    table = markdown(results)
    (OUT / f"{name}.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
