"""The ``assistant`` command: a thin layer over the same API the UI and Python callers use.

Errors a user can fix print one sentence and exit with status 2; nothing prints a traceback
unless ``ASSISTANT_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .core import FIXABLE_ERRORS, Assistant, UserError
from .embedders import EMBEDDERS
from .evaluation import answer_scores, load_qa, retrieval_scores
from .llm import GENERATORS
from .schema import Answer, IndexReport

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
CLI_ERRORS = (*FIXABLE_ERRORS, KeyError)  # KeyError: `assistant.document` of an unknown id


def _assistant(args: argparse.Namespace) -> Assistant:
    return Assistant(corpus_dir=getattr(args, "corpus", None),
                     index_dir=getattr(args, "index", None),
                     embedder=getattr(args, "embedder", None),
                     chroma_url=getattr(args, "chroma_url", None),
                     generator=getattr(args, "generator", None))


def print_report(report: IndexReport) -> None:
    """The index report as a few readable lines."""
    for label, ids in (("added", report.added), ("updated", report.updated),
                       ("removed", report.removed)):
        for doc_id in ids:
            console.print(f"  {label:8} {doc_id}")
    for skipped in report.skipped:
        console.print(f"  [yellow]skipped[/]  {skipped.doc_id}: {skipped.reason}")
    console.print(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped; "
        f"{report.chunks} passages in the index (version {report.index_version}), "
        f"{report.embedded_chunks} embedded, {report.seconds:.2f} s")


def print_answer(answer: Answer) -> None:
    """The answer text, then each numbered source with its article and span."""
    console.print(answer.text, highlight=False, markup=False)
    print_sources(answer)


def print_sources(answer: Answer) -> None:
    """Unsupported sentences, then each numbered source with its article and span."""
    for sentence in answer.unsupported:
        console.print(f"  unsupported by the sources: {sentence}", style="yellow",
                      highlight=False, markup=False)
    for c in answer.citations:
        who = ", ".join(x for x in (c.author, c.date, c.source) if x)
        console.print(f"  [{c.number}] {c.title}" + (f" ({who})" if who else ""),
                      highlight=False, markup=False)
        console.print(f"      {c.doc_id} chars {c.start}-{c.end}, score {c.score:.2f}",
                      style="dim", highlight=False, markup=False)


def cmd_index(args: argparse.Namespace) -> int:
    assistant = _assistant(args)
    report = assistant.index(rebuild=args.rebuild, show_progress=sys.stderr.isatty())
    print_report(report)
    if args.watch:
        watch_index(assistant)
    return 0


def watch_index(assistant: Assistant) -> None:
    """Keep the index in step with the corpus folder until Ctrl-C; a line per change."""
    from .watching import report_lines, watch_corpus

    console.print(f"watching {assistant.corpus_dir} (Ctrl-C to stop)", style="dim")

    def show(report: IndexReport) -> None:
        for line in report_lines(report):
            console.print(f"{time.strftime('%H:%M:%S')} {line}", highlight=False, markup=False)

    with contextlib.suppress(KeyboardInterrupt):
        watch_corpus(assistant, threading.Event(), show)


def cmd_ask(args: argparse.Namespace) -> int:
    answer = _assistant(args).answer(args.question, k=args.k)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_answer(answer)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    assistant = _assistant(args)
    history: list[dict[str, str]] = []
    console.print("Ask about the articles (empty line or Ctrl-D to leave).", style="dim")
    while True:
        try:
            question = console.input("[bold]you>[/] ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not question:
            break
        try:
            answer = stream_answer(assistant, question, history)
        except FIXABLE_ERRORS as exc:
            err_console.print(f"[red]{exc}[/]", highlight=False)
            continue
        history += [{"role": "user", "content": question},
                    {"role": "assistant", "content": answer.text}]
    return 0


def stream_answer(assistant: Assistant, question: str, history: list[dict[str, str]]) -> Answer:
    """Print the answer as it is written; then the verified text if it differs, and sources."""
    streamed: list[str] = []
    final: Answer | None = None
    for piece in assistant.stream(question, history):
        if isinstance(piece, Answer):
            final = piece
        else:
            streamed.append(piece)
            console.print(piece, end="", highlight=False, markup=False)
    console.print()
    assert final is not None  # every stream ends with its Answer
    if "".join(streamed).strip() != final.text:
        console.print("verified: ", style="bold", end="")
        console.print(final.text, highlight=False, markup=False)
    print_sources(final)
    return final


def cmd_eval(args: argparse.Namespace) -> int:
    """Print the retrieval and answer metrics of the current index or of SciFact."""
    if args.dataset == "scifact":
        script = Path(__file__).resolve().parent.parent / "bench" / "scifact.py"
        if not script.exists():
            raise UserError("the SciFact benchmark lives in bench/scifact.py of a source checkout")
        return subprocess.call([sys.executable, str(script), *args.extra])
    assistant = _assistant(args)
    items = load_qa(Path(args.questions)) if args.questions else load_qa()
    retrieval = retrieval_scores(items, lambda q: assistant.retrieve(q, k=5))
    answers = answer_scores(items, lambda q: assistant.answer(q))
    table = Table(title=f"{len(items)} questions, index {assistant.index_dir}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in (("Recall@5", retrieval.recall_at_k), ("MRR", retrieval.mrr),
                        ("answers citing a right passage", answers.cited_right),
                        ("unanswerable refused", answers.refused_unanswerable),
                        ("answerable refused", answers.refused_answerable)):
        table.add_row(name, f"{value:.3f}")
    table.add_row("answer() p50 / p95 ms", f"{answers.p50_ms:.0f} / {answers.p95_ms:.0f}")
    console.print(table)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .webapp import serve

    serve(_assistant(args), host=args.host, port=args.port, watch=args.watch)
    return 0


def add_store_options(parser: argparse.ArgumentParser, default: object = None) -> None:
    """The options that choose the corpus, the index, the embedder and the generator."""
    parser.add_argument("--corpus", default=default, help="folder of articles (default: corpus)")
    parser.add_argument("--index", default=default, help="index folder (default: index)")
    parser.add_argument("--embedder", default=default, choices=list(EMBEDDERS),
                        help="embedding model")
    parser.add_argument("--chroma-url", default=default,
                        help="use a Chroma server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--generator", default=default, choices=list(GENERATORS),
                        help="who writes answers (default: extractive, no LLM)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description=__doc__.splitlines()[0])
    add_store_options(parser)
    # The same options after the sub-command (``assistant index --corpus X``); SUPPRESS
    # keeps a value given before the sub-command when none is given after it.
    after = argparse.ArgumentParser(add_help=False)
    add_store_options(after, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    command = functools.partial(sub.add_parser, parents=[after])

    p = command("index", help="index new, changed and removed articles")
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it anew")
    p.add_argument("--watch", action="store_true",
                   help="then keep re-indexing as articles are added, changed or removed")
    p.set_defaults(func=cmd_index)

    p = command("ask", help="answer one question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    p.add_argument("-k", type=int, default=None, help="number of passages to consider")
    p.set_defaults(func=cmd_ask)

    p = command("chat", help="a conversation in the terminal")
    p.set_defaults(func=cmd_chat)

    p = command("eval", help="print retrieval and answer metrics")
    p.add_argument("--dataset", choices=["corpus", "scifact"], default="corpus")
    p.add_argument("--questions", help="a qa.jsonl file (default: tests/data/qa.jsonl)")
    p.add_argument("extra", nargs="*", help="options passed to bench/scifact.py")
    p.set_defaults(func=cmd_eval)

    p = command("serve", help="start the web UI")
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 7860)")
    p.add_argument("--watch", action="store_true", help="re-index as the corpus folder changes")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except CLI_ERRORS as exc:
        if os.environ.get("ASSISTANT_DEBUG"):
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        err_console.print(f"[red]error:[/] {message}", highlight=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
