"""How long after a write finishes does ``--watch`` show the change in the index?

Adds, changes and deletes a small article ten times each in a copy of the corpus while the
watcher runs, and reports the median and worst delay from the write to the change being
visible through ``Assistant.documents()`` / ``document()``.

    .venv/bin/python bench/watch_latency.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from machine import machine

from assistant import Assistant
from assistant.watching import start_watching

ROOT = Path(__file__).resolve().parent.parent


def delay(condition: Callable[[], bool], timeout: float = 30) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            return float("inf")
        time.sleep(0.02)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        assistant = Assistant(corpus_dir=corpus, index_dir=Path(tmp) / "index")
        assistant.index()
        _, stop = start_watching(assistant)
        time.sleep(1)
        timings: dict[str, list[float]] = {"add": [], "change": [], "delete": []}
        docs = lambda: {r["doc_id"] for r in assistant.documents()}  # noqa: E731
        for i in range(args.rounds):
            path = corpus / f"note-{i}.txt"
            path.write_text(f"Note {i}\nThe Quillmere Pact number {i} was signed in 2031.\n")
            timings["add"].append(delay(lambda p=path: p.name in docs()))
            path.write_text(f"Note {i}\nThe Quillmere Pact number {i} was cancelled.\n")
            timings["change"].append(delay(
                lambda p=path: "cancelled" in assistant.document(p.name).text))
            path.unlink()
            timings["delete"].append(delay(lambda p=path: p.name not in docs()))
        stop.set()
    result = {"machine": machine(), "rounds": args.rounds} | {
        kind: {"median_s": round(statistics.median(v), 2), "max_s": round(max(v), 2)}
        for kind, v in timings.items()}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
