"""Live re-indexing: keep the index in step with the corpus folder as files come and go.

watchfiles (Rust notify) reports changes; we ignore editors' and browsers' temporary files,
wait until the changed files stop growing (a copy in progress is not indexed half-way), then
run the ordinary incremental ``Assistant.index()``, which embeds only what changed. One log
line per changed article. Used by ``assistant index --watch`` and ``assistant serve --watch``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from .core import FIXABLE_ERRORS, Assistant
from .schema import IndexReport

logger = logging.getLogger(__name__)

PARTIAL_SUFFIXES = (".part", ".crdownload", ".download", ".tmp", ".swp", ".swx", "~")
STEP_MS = 300  # quiet time that ends a burst of changes (a copy writes in bursts)
STABLE_CHECKS_S = 0.25  # a changed file must keep its size and mtime this long
STABLE_TIMEOUT_S = 30.0


def is_partial(path: str | Path) -> bool:
    """Temporary, hidden or half-downloaded files: never indexed, never a reason to index."""
    name = Path(path).name
    return name.startswith((".", "~")) or name.endswith(PARTIAL_SUFFIXES)


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def wait_until_stable(paths: Iterable[Path], timeout: float = STABLE_TIMEOUT_S) -> None:
    """Return once none of ``paths`` changed size or mtime for ``STABLE_CHECKS_S``."""
    paths = list(paths)
    before = {p: _signature(p) for p in paths}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(STABLE_CHECKS_S)
        now = {p: _signature(p) for p in paths}
        if now == before:
            return
        before = now


def report_lines(report: IndexReport) -> list[str]:
    """One line per changed or skipped article, with the index version it led to."""
    lines = [f"{label} {doc_id}" for label, ids in (("added", report.added),
                                                     ("updated", report.updated),
                                                     ("removed", report.removed))
             for doc_id in ids]
    lines += [f"skipped {s.doc_id}: {s.reason}" for s in report.skipped]
    return [f"{line} (version {report.index_version}, {report.seconds:.2f} s)" for line in lines]


def log_report(report: IndexReport) -> None:
    """The report as log lines (the UI server's watcher)."""
    for line in report_lines(report):
        logger.info("%s", line)


def watch_corpus(assistant: Assistant, stop: threading.Event,
                 on_report: Callable[[IndexReport], None] | None = None) -> None:
    """Re-index after each burst of changes in the corpus folder, until ``stop`` is set."""
    from watchfiles import watch

    def relevant(_change: object, path: str) -> bool:
        return not is_partial(path)

    for changes in watch(assistant.corpus_dir, watch_filter=relevant, step=STEP_MS,
                         stop_event=stop):
        wait_until_stable(Path(path) for _, path in changes)
        try:
            report = assistant.index()
        except FIXABLE_ERRORS as exc:
            logger.warning("re-indexing failed: %s", exc)
            continue
        if on_report and report.changed:
            on_report(report)


def start_watching(assistant: Assistant,
                   on_report: Callable[[IndexReport], None] | None = None
                   ) -> tuple[threading.Thread, threading.Event]:
    """``watch_corpus`` in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=watch_corpus, args=(assistant, stop, on_report),
                              name="corpus-watch", daemon=True)
    thread.start()
    return thread, stop
