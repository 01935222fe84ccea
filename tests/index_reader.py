"""A reader process for the crash tests: answers questions from an index while others write to it.

``python -m tests.index_reader CORPUS INDEX STOP_FILE QUESTIONS_JSON`` answers the questions in
turn until STOP_FILE exists, printing one JSON line per answer: the question's id and either
the cited article ids and passage texts, or the error. It runs in its own process because
that is how a reader meets a crash in practice: ``assistant serve`` answering while
``assistant index`` dies.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from assistant import Assistant

PAUSE_SECONDS = 1.0  # leave the two cores mostly to the writer being killed


def answer_line(assistant: Assistant, item: dict) -> dict:
    """One answer as a JSON-ready line; any exception is reported, never raised."""
    try:
        answer = assistant.answer(item["question"])
    except Exception as exc:  # the point is to report whatever a crash does to a reader
        return {"id": item["id"], "error": f"{type(exc).__name__}: {exc}"}
    return {"id": item["id"], "cited": [c.doc_id for c in answer.citations],
            "passages": [c.text for c in answer.citations]}


def main(corpus: str, index: str, stop_file: str, questions_json: str) -> int:
    assistant = Assistant(corpus_dir=corpus, index_dir=index)
    questions = json.loads(questions_json)
    stop = Path(stop_file)
    turn = 0
    while not stop.exists():
        print(json.dumps(answer_line(assistant, questions[turn % len(questions)])), flush=True)
        turn += 1
        time.sleep(PAUSE_SECONDS)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
