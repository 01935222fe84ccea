"""How many sentences should the cross-encoder read? The sentence shortlist, measured (issue 2).

The cross-encoder is nearly all of ``answer()``'s cost. ``rerank_sentences`` caps the
sentences of the reranked candidates it reads at the best N BM25 matches for the question
(at least one per candidate; 0 reads them all). For each N this reports, side by side in one
run and with the live cross-encoder (no memoised scores):

- the development questions: Recall@5, MRR, right passage cited, refusals, and the
  cross-encoder's pairs and word pieces per answer;
- ``answer()`` p50/p95 on the corpus, the budgets alternated question by question over
  ``--rounds`` rounds so that a busy moment of the shared machine hits all of them alike;
- SciFact (the cached bge-small index of ``bench/scifact.py``): nDCG@10 and Recall@100 of
  the default configuration (hybrid, rerank depth 10), with its pairs per query.

Writes ``bench/out/shortlist.json`` and plots ``docs/shortlist_curve.png``. ``--variants``
compares other settings of what the cross-encoder reads the same way (JSON overrides of the
defaults, one per variant) and writes ``bench/out/shortlist-variants.json``, no plot.

    .venv/bin/python bench/shortlist.py [--budgets 0 10 15 20 30] [--rounds 3] [--no-scifact]
    .venv/bin/python bench/shortlist.py --variants '{"section_headings": false}' '{}'
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from machine import machine
from rerank_blend import scifact_scores
from scifact import OUT, ObservedReranker, use_reranker

from assistant import Assistant
from assistant.evaluation import answer_scores, load_qa, retrieval_scores
from assistant.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent
PLOT = ROOT / "docs" / "shortlist_curve.png"


def label_of(overrides: dict) -> str:
    if list(overrides) == ["rerank_sentences"]:
        return str(overrides["rerank_sentences"] or "all")
    return json.dumps(overrides) if overrides else "default"


def corpus_quality(assistant: Assistant, counter: ObservedReranker) -> dict:
    """Quality on the development questions, and what the cross-encoder read per answer."""
    items = load_qa()
    counter.reset_counts()
    answers = answer_scores(items, assistant.answer)
    pairs, tokens = counter.pairs / len(items), counter.pair_tokens / len(items)
    retrieval = retrieval_scores(items, lambda q: assistant.retrieve(q, k=5))
    return {"recall_at_5": round(retrieval.recall_at_k, 3), "mrr": round(retrieval.mrr, 3),
            "cited_right": round(answers.cited_right, 3),
            "refused_unanswerable": round(answers.refused_unanswerable, 3),
            "refused_answerable": round(answers.refused_answerable, 3),
            "pairs_per_answer": round(pairs, 1), "word_pieces_per_answer": round(tokens),
            "retrieval_misses": retrieval.misses, "wrong_answers": answers.wrong}


def answer_latency(assistants: dict[str, Assistant], rounds: int) -> dict[str, dict]:
    """answer() p50/p95 per variant, variants alternated question by question."""
    questions = [item.question for item in load_qa()]
    times: dict[str, list[float]] = {label: [] for label in assistants}
    for assistant in assistants.values():
        assistant.answer("warm up the models")
    for _ in range(rounds):
        for question in questions:
            for label, assistant in assistants.items():
                started = time.perf_counter()
                assistant.answer(question)
                times[label].append((time.perf_counter() - started) * 1000)
    out = {}
    for label, values in times.items():
        values.sort()
        out[label] = {"answer_p50_ms": round(statistics.median(values), 1),
                       "answer_p95_ms": round(values[int(0.95 * (len(values) - 1))], 1)}
    return out


def scifact_quality(overrides: dict, counter: ObservedReranker) -> dict:
    """The default configuration's nDCG@10 / Recall@100 on SciFact, and pairs per query."""
    base = OUT / "scifact"
    settings = Settings(dense_candidates=100, lexical_candidates=100).model_copy(
        update=overrides)
    assistant = Assistant(corpus_dir=base / "corpus", index_dir=base / "index-bge-small",
                          embedder="bge-small", settings=settings)
    use_reranker(assistant, counter)
    counter.reset_counts()
    scores = scifact_scores(assistant, settings.rerank_depth)
    queries = counter.calls or 1
    return {f"scifact_{name}": value for name, value in scores.items()} | {
        "scifact_pairs_per_query": round(counter.pairs / queries, 1),
        "scifact_word_pieces_per_query": round(counter.pair_tokens / queries)}


def plot(rows: list[dict], path: Path) -> None:
    """Quality against cost, one point per budget: the corpus (answer() p50) and SciFact."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    rows = sorted(rows, key=lambda r: r["answer_p50_ms"])
    ms = [r["answer_p50_ms"] for r in rows]
    for key, label in (("cited_right", "right passage cited"), ("recall_at_5", "Recall@5"),
                       ("mrr", "MRR")):
        left.plot(ms, [r[key] for r in rows], marker="o", label=label)
    for r in rows:
        left.annotate(r["label"], (r["answer_p50_ms"], r["cited_right"]),
                      textcoords="offset points", xytext=(4, -12), fontsize=8)
    left.set(xlabel="answer() p50, ms (corpus, 2 cores)", ylabel="development set",
             title="Corpus: quality vs answer() latency")
    left.legend(loc="lower right")
    scifact = sorted((r for r in rows if "scifact_ndcg_at_10" in r),
                     key=lambda r: r["scifact_word_pieces_per_query"])
    if scifact:
        pieces = [r["scifact_word_pieces_per_query"] for r in scifact]
        right.plot(pieces, [r["scifact_ndcg_at_10"] for r in scifact], marker="o")
        for r, x in zip(scifact, pieces, strict=True):
            right.annotate(r["label"], (x, r["scifact_ndcg_at_10"]),
                           textcoords="offset points", xytext=(4, -12), fontsize=8)
        right.axhline(0.73, color="grey", linestyle=":", label="target 0.73")
        right.legend(loc="lower right")
        right.set_ylim(0.70, 0.75)
        right.set(xlabel="cross-encoder word pieces per query", ylabel="nDCG@10",
                  title="SciFact (hybrid bge-small, rerank depth 10)")
    fig.suptitle("Sentences the cross-encoder reads (best BM25 matches first; all = every one)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", nargs="+", type=int, default=[0, 10, 15, 20, 30])
    parser.add_argument("--variants", nargs="+", type=json.loads, default=None,
                        help="JSON settings overrides, compared instead of the budgets")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-scifact", action="store_true")
    parser.add_argument("--plot", type=Path, default=PLOT)
    parser.add_argument("--replot", action="store_true",
                        help="only redraw the plot from bench/out/shortlist.json")
    args = parser.parse_args()
    if args.replot:
        plot(json.loads((OUT / "shortlist.json").read_text())["rows"], args.plot)
        return
    variants = args.variants or [{"rerank_sentences": budget} for budget in args.budgets]
    results: dict = {"machine": machine(), "rows": []}
    counter = ObservedReranker(memoise=False)
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        assistants = {label_of(v): Assistant(corpus_dir=ROOT / "corpus", index_dir=tmp,
                                             settings=get_settings().model_copy(update=v))
                      for v in variants}
        next(iter(assistants.values())).index()
        for overrides in variants:
            label = label_of(overrides)
            assistant = assistants[label]
            own = assistant.searcher.reranker
            use_reranker(assistant, counter)
            rows[label] = {**overrides, "label": label, **corpus_quality(assistant, counter)}
            assistant.searcher.reranker = own  # time the cross-encoder itself, uncounted
            print(rows[label], flush=True)
        for label, timing in answer_latency(assistants, args.rounds).items():
            rows[label] |= timing
            print(label, timing, flush=True)
    if not args.no_scifact:
        for overrides in variants:
            label = label_of(overrides)
            rows[label] |= scifact_quality(overrides, counter)
            print(label, {k: v for k, v in rows[label].items() if k.startswith("scifact")},
                  flush=True)
    results["rows"] = list(rows.values())
    results["load_avg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    name = "shortlist-variants" if args.variants else "shortlist"
    (OUT / f"{name}.json").write_text(json.dumps(results, indent=1))
    if not args.variants:
        plot(results["rows"], args.plot)


if __name__ == "__main__":
    main()
