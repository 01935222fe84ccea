"""Many people chatting at once: 16 gradio_client sessions of 10 questions against one server.

Each session asks a script of follow-up conversations (tests/data/conversations.jsonl)
topped up with single questions (tests/data/qa.jsonl) through the ``/chat`` API, which
keeps a history per client. Every answer must equal the one the same script gets when asked
alone, in order, by the same Assistant: so no conversation bleeds into another, and load
changes nothing. Reports p50/p95 latency per request and throughput, next to one user alone.

    .venv/bin/python bench/concurrency.py [--sessions 16] [--questions 10]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gradio_client import Client

from assistant import Assistant

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def session_scripts(sessions: int, per_session: int) -> list[list[list[str]]]:
    """Per session, a list of conversations (each a list of questions), ``per_session``
    questions in all; sessions start at different conversations so they differ."""
    conversations = [[t["question"] for t in row["turns"]] for row in _rows("conversations.jsonl")]
    singles = [[row["question"]] for row in _rows("qa.jsonl") if row["answerable"]]
    pool = conversations + singles
    scripts = []
    for s in range(sessions):
        script, asked, i = [], 0, s * 3
        while asked < per_session:
            convo = pool[i % len(pool)][: per_session - asked]
            script.append(convo)
            asked += len(convo)
            i += 1
        scripts.append(script)
    return scripts


def reference_answers(assistant: Assistant, script: list[list[str]]) -> list[str]:
    """The answers one user alone gets for ``script`` (history reset per conversation)."""
    texts = []
    for convo in script:
        history: list[dict] = []
        for question in convo:
            text = assistant.answer(question, history).text
            history += [{"role": "user", "content": question},
                        {"role": "assistant", "content": text}]
            texts.append(text)
    return texts


def run_session(url: str, script: list[list[str]]) -> tuple[list[str], list[float]]:
    """Ask the script through ``/chat``, a new client (so a new history) per conversation."""
    texts, seconds = [], []
    for convo in script:
        client = Client(url, verbose=False)
        for question in convo:
            started = time.perf_counter()
            texts.append(client.predict(question, api_name="/chat"))
            seconds.append(time.perf_counter() - started)
    return texts, seconds


def load_test(url: str, scripts: list[list[list[str]]]) -> dict:
    """All sessions at once; latency percentiles, throughput and the answers per session."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(scripts)) as pool:
        results = list(pool.map(lambda script: run_session(url, script), scripts))
    wall = time.perf_counter() - started
    seconds = sorted(s for _, times in results for s in times)
    return {"sessions": len(scripts), "requests": len(seconds), "wall_s": round(wall, 1),
            "throughput_per_s": round(len(seconds) / wall, 2),
            "p50_s": round(statistics.median(seconds), 2),
            "p95_s": round(seconds[int(0.95 * (len(seconds) - 1))], 2),
            "answers": [texts for texts, _ in results]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    from machine import machine

    from assistant.webapp import serve

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--questions", type=int, default=10)
    args = parser.parse_args()
    scripts = session_scripts(args.sessions, args.questions)
    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant(corpus_dir=ROOT / "corpus", index_dir=tmp)
        assistant.index()
        expected = [reference_answers(assistant, script) for script in scripts]
        app = serve(assistant, port=free_port(), block=False)
        try:
            single = load_test(app.local_url, scripts[:1])
            loaded = load_test(app.local_url, scripts)
        finally:
            app.close()
    mismatches = sum(a != e for got, want in zip(loaded["answers"], expected, strict=True)
                     for a, e in zip(got, want, strict=True))
    report = {"machine": machine(), "mismatched_answers": mismatches,
              "single_user": {k: v for k, v in single.items() if k != "answers"},
              "loaded": {k: v for k, v in loaded.items() if k != "answers"}}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
