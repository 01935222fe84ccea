"""Figures of the core issue on the development questions (tests/data/qa.jsonl).

Reports, for the default configuration: Recall@5 and MRR of ``retrieve``, the share of
answers citing a right passage, refusal rates, ``answer()`` p50/p95 after warm-up, the
no-op re-index time, and the cold start (a new process, from start to first answer).
With ``--chunks`` it also sweeps chunk sizes, which is how ``chunk_chars`` was chosen.

    .venv/bin/python bench/corpus_eval.py [--chunks 400,600,900,1200] [--out bench/out]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import machine

from assistant import Assistant
from assistant.evaluation import answer_scores, load_qa, retrieval_scores
from assistant.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
COLD_START = ("import time, sys; t = time.perf_counter(); from assistant import Assistant; "
              "a = Assistant(corpus_dir=sys.argv[1], index_dir=sys.argv[2]); "
              "a.answer('Why did India turn down the F-35?'); print(time.perf_counter() - t)")


def evaluate(assistant: Assistant) -> dict:
    """Quality and latency of one built index."""
    items = load_qa()
    assistant.answer("warm up the models")
    retrieval = retrieval_scores(items, lambda q: assistant.retrieve(q, k=5))
    answers = answer_scores(items, lambda q: assistant.answer(q))
    noop = [assistant.index().seconds for _ in range(5)]
    return {
        "questions": len(items), "answerable": sum(i.answerable for i in items),
        "recall_at_5": round(retrieval.recall_at_k, 3), "mrr": round(retrieval.mrr, 3),
        "cited_right": round(answers.cited_right, 3),
        "refused_unanswerable": round(answers.refused_unanswerable, 3),
        "refused_answerable": round(answers.refused_answerable, 3),
        "answer_p50_ms": round(answers.p50_ms), "answer_p95_ms": round(answers.p95_ms),
        "noop_reindex_s": round(statistics.median(noop), 3),
        "retrieval_misses": retrieval.misses, "wrong_answers": answers.wrong,
        "passages": assistant.catalog.counts()[1],
    }


def latency(assistant: Assistant, rounds: int = 3) -> dict:
    """p50/p95 of answer() and retrieve() over the development questions, after warm-up,
    with the load average so a reader can tell an idle run from a loaded one."""
    questions = [i.question for i in load_qa()]
    assistant.answer("warm up the models")
    timings: dict[str, list[float]] = {"answer": [], "retrieve": [], "retrieve_no_rerank": []}
    calls = {"answer": assistant.answer,
             "retrieve": lambda q: assistant.retrieve(q, k=5),
             "retrieve_no_rerank": lambda q: assistant.retrieve(q, k=5, rerank_depth=0)}
    for _ in range(rounds):
        for question in questions:
            for name, call in calls.items():
                started = time.perf_counter()
                call(question)
                timings[name].append((time.perf_counter() - started) * 1000)
    out = {"load_average": os.getloadavg()}
    for name, values in timings.items():
        values.sort()
        out[f"{name}_p50_ms"] = round(statistics.median(values), 1)
        out[f"{name}_p95_ms"] = round(values[int(0.95 * (len(values) - 1))], 1)
    return out


def build(chunk_chars: int, index_dir: Path) -> Assistant:
    settings = get_settings().model_copy(update={"chunk_chars": chunk_chars})
    assistant = Assistant(corpus_dir=ROOT / "corpus", index_dir=index_dir, settings=settings)
    assistant.index()
    return assistant


def cold_start(index_dir: Path, runs: int = 3) -> float:
    """Median seconds from a new Python process to its first answer."""
    times = [float(subprocess.run([sys.executable, "-c", COLD_START, str(ROOT / "corpus"),
                                   str(index_dir)], capture_output=True, text=True,
                                  check=True).stdout.strip().splitlines()[-1])
             for _ in range(runs)]
    return round(statistics.median(times), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", default="", help="comma-separated chunk sizes to sweep")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--latency-only", action="store_true",
                        help="only time answer()/retrieve() and the cold start")
    args = parser.parse_args()
    if args.latency_only:
        with tempfile.TemporaryDirectory() as tmp:
            index_dir = Path(tmp) / "default"
            timings = latency(build(get_settings().chunk_chars, index_dir))
            timings["cold_start_s"] = cold_start(index_dir)
        (args.out / "latency.json").write_text(json.dumps(timings, indent=2))
        print(json.dumps(timings, indent=2))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    settings = get_settings()
    results: dict = {"machine": machine(),
                     "config": settings.model_dump(mode="json", exclude={"openai_api_key"})}
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "default"
        results["default"] = evaluate(build(settings.chunk_chars, index_dir))
        results["default"]["cold_start_s"] = cold_start(index_dir)
        sizes = [int(s) for s in args.chunks.split(",") if s]
        results["chunk_sweep"] = {size: evaluate(build(size, Path(tmp) / f"c{size}"))
                                  for size in sizes}
    (args.out / "corpus_eval.json").write_text(json.dumps(results, indent=2))
    print_tables(results)


def print_tables(results: dict) -> None:
    d = results["default"]
    info = results["machine"]
    print(f"{info['date']} on {info['cpu']}, {info['nproc']} cores, "
          f"load {info['load_avg_at_start']}\n")
    print("| metric | value |\n|---|---|")
    for key in ("recall_at_5", "mrr", "cited_right", "refused_unanswerable",
                "refused_answerable", "answer_p50_ms", "answer_p95_ms", "noop_reindex_s",
                "cold_start_s", "passages"):
        print(f"| {key} | {d[key]} |")
    if results["chunk_sweep"]:
        print("\n| chunk_chars | passages | Recall@5 | MRR | cited right | refused (unans.) "
              "| answer p50 ms |\n|---|---|---|---|---|---|---|")
        for size, r in results["chunk_sweep"].items():
            print(f"| {size} | {r['passages']} | {r['recall_at_5']} | {r['mrr']} | "
                  f"{r['cited_right']} | {r['refused_unanswerable']} | {r['answer_p50_ms']} |")


if __name__ == "__main__":
    main()
