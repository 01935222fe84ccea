"""Many people chatting at once: 16 gradio_client sessions of 10 questions against one server.

Each session asks a script of follow-up conversations (tests/data/conversations.jsonl)
topped up with single questions (tests/data/qa.jsonl) through the ``/chat`` API, which
keeps a history per client. Every answer must equal the one the same script gets when asked
alone, in order, by the same Assistant: so no conversation bleeds into another, and load
changes nothing. Reports p50/p95 latency per request and throughput, next to one user alone.

With ``--uploads N``, another client uploads N new articles (on topics no scripted question
touches) through the Library tab's upload event while the sessions ask, one at a time,
spread over the run; their durations and results are reported, and every answer must still
equal the one asked alone on one of the index states the uploads pass through.

    .venv/bin/python bench/concurrency.py [--sessions 16] [--questions 10] [--uploads 4]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
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


def reference_answers(assistant: Assistant, scripts: list[list[list[str]]]) -> list[list[str]]:
    """The answers one user alone gets for each script (history reset per conversation);
    a conversation several scripts share is asked once."""
    known: dict[tuple[str, ...], str] = {}

    def ask(convo: list[str]) -> list[str]:
        history: list[dict] = []
        texts = []
        for i, question in enumerate(convo):
            turns = tuple(convo[: i + 1])  # an answer depends on its question and those before
            if turns not in known:
                known[turns] = assistant.answer(question, history).text
            texts.append(known[turns])
            history += [{"role": "user", "content": question},
                        {"role": "assistant", "content": known[turns]}]
        return texts

    return [[text for convo in script for text in ask(convo)] for script in scripts]


def reference_answers_after_each(assistant: Assistant, scripts: list[list[list[str]]],
                                 uploads: Sequence[Path]) -> list[list[list[str]]]:
    """``reference_answers`` once after each upload is indexed, in order: the index states a
    server passes through while ``load_test`` uploads. Indexing even unrelated articles can
    change a few answers (corpus statistics, rank fusion), so an answer given during the
    uploads is checked against every state. ``assistant`` must be a scratch copy: the
    uploads are copied into its corpus folder and indexed."""
    states = []
    for path in uploads:
        shutil.copy(path, assistant.corpus_dir / path.name)
        assistant.index()
        states.append(reference_answers(assistant, scripts))
    return states


def unmatched_answers(answers: list[list[str]],
                      states: list[list[list[str]]]) -> list[tuple[int, int]]:
    """(session, turn) of each answer that equals the one asked alone on none of ``states``."""
    return [(s, t) for s, texts in enumerate(answers) for t, text in enumerate(texts)
            if all(state[s][t] != text for state in states)]


def run_session(url: str, script: list[list[str]],
                on_answer: Callable[[], None] = lambda: None) -> tuple[list[str], list[float]]:
    """Ask the script through ``/chat``, a new client (so a new history) per conversation;
    ``on_answer`` is called after each answer."""
    texts, seconds = [], []
    for convo in script:
        client = Client(url, verbose=False)
        for question in convo:
            started = time.perf_counter()
            texts.append(client.predict(question, api_name="/chat"))
            seconds.append(time.perf_counter() - started)
            on_answer()
    return texts, seconds


# Articles uploaded during the load: real prose on made-up places and topics that share no
# subject with the scripted questions (India, the US, Russia, defence, trade, energy).
UPLOAD_ARTICLES = {
    "lumen-bay-coral-nursery.txt": """Volunteers Replant the Reefs of Lumen Bay

Divers from the small fishing town of Lumen Bay spent the spring tending an underwater \
nursery of staghorn coral. The nursery hangs from rope frames anchored in sandy shallows, \
where fragments the size of a finger grow for nine months before they are moved to the \
reef.

This season the volunteers planted 4,300 coral fragments on the northern reef, which a \
storm stripped bare three winters ago. Each fragment is tied to a nail hammered into dead \
rock, then checked every fortnight for snails and bleaching.

Marine biologist Ilse Varga, who started the nursery with a borrowed boat, says the \
survival rate has climbed from about half in the first season to nearly four in five. The \
trick, she explains, was moving the frames into slightly deeper and cooler water in the \
warmest weeks, and cleaning the algae off by hand.

Parrotfish and groupers have returned to the replanted patches, and the town's dive school \
now takes guests out to the frames. Children from the primary school name a frame each \
spring and watch it grow through photographs the divers pin to a noticeboard at the \
harbour.

The group hopes to cover the whole northern reef within six summers. Its biggest worry is \
not funding but the sea itself: a single hot summer can undo years of patient gardening, \
so the divers keep spare fragments in the nursery as insurance.
""",
    "hollin-valley-bakers-guild.txt": """A Bakers' Guild Keeps Hollin Valley's Ovens Warm

In the hill villages of Hollin Valley, eleven family bakeries have pooled their flour \
orders, delivery vans and one enormous wood-fired oven to survive rising costs. The guild \
was founded in a chapel hall by Marta Ellery, whose grandmother baked rye loaves in the \
same street.

Every morning at four, two bakers light the shared oven, which holds three hundred loaves \
at a time. The guild's sourdough starter, kept alive since the founding, is split each \
evening and carried home by members in stoneware jars.

Members order rye and spelt directly from six farms in the valley, which lets them pay \
growers more while charging customers less than the shops in town. A rota decides who \
drives the vans to the outlying hamlets, where elderly residents used to go without fresh \
bread for days in winter.

The guild also trains apprentices. Four young bakers are learning to shape plaited loaves, \
judge dough by touch and read the oven's moods. Ellery says the hardest lesson is \
patience: a good rye needs a full day of slow fermentation.

Sales have grown by a third since the ovens were merged, and the guild hopes to build a \
second shared oven in the lower valley next spring.
""",
    "ardent-cup-chess-final.txt": """Teenager Wins the Ardent Cup Chess Final in Eleven Hours

The Ardent Cup, a chess tournament played each autumn in the lakeside town of Korvel, \
ended with a final that lasted eleven hours and two adjournments. Sixteen-year-old Nadia \
Brun beat the reigning champion, Oskar Lindqvist, in a rook endgame that many spectators \
expected to end level.

Brun, who learned chess from her grandfather in a village café, sacrificed a knight on her \
twenty-third turn to open the champion's king. Lindqvist held on with care and won the \
knight in return, but his clock ran low and he misplaced his rook near the end.

The tournament began with one hundred and twenty-eight players on ninety-six boards laid \
out in a grain hall. Every position was shown live on a screen by the lake, where families \
watched over mugs of cocoa.

Organisers report that entries have doubled in five seasons, driven by school clubs and \
online play. The next edition adds a rapid section and a separate prize for players over \
seventy.

Brun plans to spend her winnings on travel to junior tournaments abroad, and she has \
promised the trophy a place beside her grandfather's wooden chess board.
""",
    "skerry-point-lighthouse.txt": """Skerry Point Lighthouse Shines Again After Restoration

The lighthouse at Skerry Point, dark for twenty-two winters, was relit last weekend after \
a restoration carried out almost entirely by volunteers. The tower's historic lens, made \
of hundreds of hand-ground glass prisms, was taken to bits, cleaned and reassembled prism \
by prism.

Stonemasons repaired the granite tower, which had cracked in a winter gale, and carpenters \
rebuilt the spiral staircase of one hundred and fourteen oak steps. A retired keeper, \
Tomas Reyne, guided the team through the keepers' logbooks, which record every ship the \
light warned off the rocks since it was first lit.

The light now runs on a small solar panel and an LED lamp, but the beam still turns \
through the historic lens and flashes twice every ten seconds, just as sailors remember \
it.

The keeper's cottage has become a small museum with foghorns, brass lanterns and a room of \
photographs of storms. Volunteers guide guests up the tower on summer afternoons, and \
ticket sales pay for paint and glazing.

Reyne, now eighty-one, climbed the stairs for the relighting ceremony and said it felt \
like meeting a dear friend again.
""",
}
UPLOAD_QUESTION = ("How many coral fragments did the Lumen Bay volunteers plant?",
                   "lumen-bay-coral-nursery.txt")


def write_upload_articles(folder: Path, count: int) -> list[Path]:
    """Write the first ``count`` of ``UPLOAD_ARTICLES`` into ``folder`` as ``.txt`` files."""
    if not 0 <= count <= len(UPLOAD_ARTICLES):
        raise ValueError(f"count must be 0 to {len(UPLOAD_ARTICLES)}, not {count}")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in list(UPLOAD_ARTICLES.items())[:count]:
        (folder / name).write_text(text)
        paths.append(folder / name)
    return paths


def upload_article(url: str, path: Path) -> dict:
    """Upload ``path`` as the page's Library tab does and wait until it is indexed.

    The upload event is private to the page (``gradio_client`` refuses to call it), so this
    speaks the page's own protocol: POST the file to ``/gradio_api/upload``, join the queue
    for the event the upload component triggers, and read its result from the event stream.

    Returns:
        ``{"file", "seconds", "ok", "error"}``; ``ok`` when the event succeeded and its
        report lists the file as added.
    """
    started = time.perf_counter()
    with httpx.Client(base_url=url.rstrip("/") + "/gradio_api/", timeout=600) as http:
        config = http.get(url.rstrip("/") + "/config").raise_for_status().json()
        component = next(c["id"] for c in config["components"]
                         if c.get("props", {}).get("elem_id") == "upload")
        fn_index = next(d["id"] for d in config["dependencies"]
                        if [component, "upload"] in d["targets"])
        with path.open("rb") as file:
            stored = http.post("upload", files=[("files", (path.name, file))])
        session = uuid.uuid4().hex
        file_data = {"path": stored.raise_for_status().json()[0], "orig_name": path.name,
                     "meta": {"_type": "gradio.FileData"}}
        http.post("queue/join", json={
            "data": [[file_data]], "fn_index": fn_index, "trigger_id": component,
            "session_hash": session, "event_data": None}).raise_for_status()
        message = {}
        with http.stream("GET", "queue/data", params={"session_hash": session}) as events:
            for line in events.iter_lines():
                if line.startswith("data:"):
                    message = json.loads(line.removeprefix("data:"))
                    if message.get("msg") == "process_completed":
                        break
    output = message.get("output") or {}
    report = str((output.get("data") or [""])[0])
    ok = bool(message.get("success")) and f"added <code>{path.name}</code>" in report
    return {"file": path.name, "seconds": round(time.perf_counter() - started, 2), "ok": ok,
            "error": None if ok else (output.get("error") or report or str(message))[:500]}


class _Answered:
    """When each answer of a load test finished (seconds since its start); waitable."""

    def __init__(self, started: float):
        self.started, self.times, self.done = started, [], False
        self._changed = threading.Condition()

    def add(self) -> None:
        with self._changed:
            self.times.append(time.perf_counter() - self.started)
            self._changed.notify_all()

    def finish(self) -> None:
        with self._changed:
            self.done = True
            self._changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self._changed:
            self._changed.wait_for(lambda: len(self.times) >= count or self.done)


def _upload_during(url: str, uploads: Sequence[Path], answered: _Answered,
                   total: int) -> list[dict]:
    """Upload one file at a time, file i once (i + 1) / (n + 1) of the answers are in."""
    rows = []
    for i, path in enumerate(uploads):
        answered.wait_for((i + 1) * total // (len(uploads) + 1))
        began = time.perf_counter()
        try:
            row = upload_article(url, path)
        except Exception as exc:  # recorded and reported, never lost in the thread
            row = {"file": path.name, "seconds": round(time.perf_counter() - began, 2),
                   "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        rows.append({**row, "started_s": round(began - answered.started, 2)})
    return rows


def load_test(url: str, scripts: list[list[list[str]]], uploads: Sequence[Path] = ()) -> dict:
    """All sessions at once; latency percentiles, throughput and the answers per session.

    Args:
        url: the served app.
        scripts: one script per session (see ``session_scripts``).
        uploads: article files a separate client uploads while the sessions ask, one at a
            time, spread over the run (see ``upload_article``).

    Returns:
        The figures, ``answers`` per session and ``uploads``: one row per file with
        ``file``, ``started_s``, ``seconds``, ``ok``, ``error``, and the answers that
        finished before it started (``answered_before``) and after it ended
        (``answered_after``); with both above 0 it ran while the sessions were asking.
    """
    total = sum(len(convo) for script in scripts for convo in script)
    answered = _Answered(time.perf_counter())
    with ThreadPoolExecutor(max_workers=len(scripts) + 1) as pool:
        uploading = pool.submit(_upload_during, url, uploads, answered, total)
        try:
            results = list(pool.map(lambda script: run_session(url, script, answered.add),
                                    scripts))
        finally:
            answered.finish()  # an uploader still waiting goes ahead rather than hang
        wall = time.perf_counter() - answered.started
        upload_rows = uploading.result()
    seconds = sorted(s for _, times in results for s in times)
    for row in upload_rows:
        ended = row["started_s"] + row["seconds"]
        row["answered_before"] = sum(t < row["started_s"] for t in answered.times)
        row["answered_after"] = sum(t > ended for t in answered.times)
    return {"sessions": len(scripts), "requests": len(seconds), "wall_s": round(wall, 1),
            "throughput_per_s": round(len(seconds) / wall, 2),
            "p50_s": round(statistics.median(seconds), 2),
            "p95_s": round(seconds[int(0.95 * (len(seconds) - 1))], 2),
            "answers": [texts for texts, _ in results],
            "uploads": upload_rows}


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
    parser.add_argument("--uploads", type=int, default=0, choices=range(len(UPLOAD_ARTICLES) + 1),
                        help="articles to upload while the sessions ask (default 0)")
    args = parser.parse_args()
    started_on = machine()
    scripts = session_scripts(args.sessions, args.questions)
    with tempfile.TemporaryDirectory() as tmp:
        served, scratch = Path(tmp) / "served", Path(tmp) / "scratch"
        shutil.copytree(ROOT / "corpus", served / "corpus")  # uploads land in the copy
        assistant = Assistant(corpus_dir=served / "corpus", index_dir=served / "index")
        assistant.index()
        states = [reference_answers(assistant, scripts)]
        uploads = write_upload_articles(Path(tmp) / "uploads", args.uploads)
        if uploads:
            shutil.copytree(served, scratch)
            states += reference_answers_after_each(
                Assistant(corpus_dir=scratch / "corpus", index_dir=scratch / "index"),
                scripts, uploads)
        app = serve(assistant, port=free_port(), block=False)
        try:
            single = load_test(app.local_url, scripts[:1])
            loaded = load_test(app.local_url, scripts, uploads)
        finally:
            app.close()
        indexed = {row["doc_id"] for row in assistant.documents()}
    report = {"machine": started_on, "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
              "unmatched_answers": len(unmatched_answers(loaded["answers"], states)),
              "answers_the_uploads_change": sum(
                  a != b for x, y in zip(states[0], states[-1], strict=True)
                  for a, b in zip(x, y, strict=True)),
              "uploads_indexed": sum(path.name in indexed for path in uploads),
              "single_user": {k: v for k, v in single.items() if k != "answers"},
              "loaded": {k: v for k, v in loaded.items() if k != "answers"}}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
