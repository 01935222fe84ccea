"""Chroma server mode: a real ``chroma run`` server on a free loopback port gives the same
index and answers as the embedded store, and a stopped server is one clear error."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant import Assistant

from .conftest import free_port
from .test_answers import F35

QUESTIONS = [F35, "How many S-400 systems have arrived?", "What does Russia gain from RELOS?"]


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    """A real Chroma server for one test, stopped afterwards."""
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    server = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "server"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the Chroma server did not start within 60 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def spans(passages) -> list[tuple[str, int, int]]:
    return [(p.doc_id, p.start, p.end) for p in passages]


@pytest.mark.slow
def test_server_index_matches_the_embedded_store(corpus_copy: Path, tmp_path: Path,
                                                 chroma_url: str, assistant: Assistant):
    served = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "catalogue",
                       chroma_url=chroma_url)
    first = served.index()
    assert first.chunks == assistant.status()["passages"] and not first.skipped
    for question in QUESTIONS:
        assert spans(served.retrieve(question)) == spans(assistant.retrieve(question))
        assert served.answer(question).text == assistant.answer(question).text
    assert served.index().changed is False  # running it twice changes nothing

    article = next(corpus_copy.glob("*.txt"))
    article.write_text(article.read_text() + "\n\nA closing line added later for the test.\n")
    again = served.index()
    assert again.updated == [article.name] and not again.added and not again.removed
    assert 0 < again.embedded_chunks < first.chunks  # only the changed article is embedded
    stored = served.vectors.collection.count()
    assert stored == again.chunks  # no orphan chunk of the old version left on the server


def test_stopped_server_is_one_clear_error(built_index, tmp_path: Path):
    url = f"http://127.0.0.1:{free_port()}"
    corpus, _ = built_index
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--corpus", str(corpus), "--index",
         str(tmp_path / "index"), "--chroma-url", url, "index"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert url in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
