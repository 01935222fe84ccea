"""Live re-indexing with watchfiles: adds, changes and deletions reach the index on their own;
temporary files are ignored and a file still being written is indexed whole."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.watching import is_partial, start_watching

from .test_webapp import private_assistant

FACT = "The Quillmere Pact was signed on the banks of the Narmada in 2031."


@pytest.fixture
def watched(built_index, tmp_path: Path) -> Iterator[Assistant]:
    assistant = private_assistant(built_index, tmp_path)
    assistant.seen_texts = []  # every text of slow.txt that an index run stored
    assistant.reports = []  # every finished index run's report, in order

    def on_report(report) -> None:
        assistant.seen_texts.extend(
            assistant.document(d).text for d in report.added + report.updated if d == "slow.txt")
        assistant.reports.append(report)

    _, stop = start_watching(assistant, on_report)
    time.sleep(0.5)  # let the watcher register before the test writes
    yield assistant
    stop.set()


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> float:
    """Seconds until ``condition`` held (fails the test after ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail("the index did not follow the corpus folder")


def indexed(assistant: Assistant) -> set[str]:
    return {row["doc_id"] for row in assistant.documents()}


def reported(assistant: Assistant, doc_id: str, change: str) -> bool:
    """True once a finished index run (catalogue, Chroma and BM25) reported the change."""
    return any(doc_id in getattr(report, change) for report in assistant.reports)


def test_added_changed_and_deleted_articles_reach_the_index(watched: Assistant):
    article = watched.corpus_dir / "dropped.txt"
    article.write_text(f"Dropped note\n{FACT}\n")
    wait_for(lambda: reported(watched, "dropped.txt", "added"))
    assert "dropped.txt" in indexed(watched)
    assert "Quillmere" in watched.answer("When was the Quillmere Pact signed?").text

    article.write_text("Dropped note\nThe Quillmere Pact was cancelled in 2032.\n")
    wait_for(lambda: reported(watched, "dropped.txt", "updated"))
    assert "cancelled" in watched.document("dropped.txt").text

    article.unlink()
    wait_for(lambda: reported(watched, "dropped.txt", "removed"))
    assert "dropped.txt" not in indexed(watched)
    assert not any(p.doc_id == "dropped.txt" for p in watched.retrieve("Quillmere Pact"))


def test_a_file_written_slowly_is_indexed_whole(watched: Assistant):
    lines = [f"Line {i} of a long report about the Quillmere Pact and its signatories."
             for i in range(40)]
    with (watched.corpus_dir / "slow.txt").open("w") as handle:
        for line in lines:  # a copy in progress: ten bursts over about a second
            handle.write(line + "\n")
            handle.flush()
            time.sleep(0.025)
    wait_for(lambda: "slow.txt" in indexed(watched))
    time.sleep(1.0)  # any later re-index would have finished by now
    assert watched.seen_texts  # seen through the watcher's own report
    for text in watched.seen_texts:  # never a half-written version, not even briefly
        assert text.rstrip().endswith(lines[-1])


def test_temporary_files_are_never_indexed(watched: Assistant):
    for name in ("draft.txt.part", ".#draft.txt", "draft.txt~", "notes.crdownload"):
        assert is_partial(name)
        (watched.corpus_dir / name).write_text(FACT)
    (watched.corpus_dir / "real.txt").write_text(f"Real note\n{FACT}\n")
    wait_for(lambda: "real.txt" in indexed(watched))
    assert indexed(watched) & {"draft.txt.part", ".#draft.txt", "draft.txt~"} == set()
