"""16 people chatting at once against one real server: every answer is the one each would
get alone (so nothing errors and no conversation bleeds into another), also while articles
are uploaded through the Library tab."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client

from assistant import Assistant
from assistant.webapp import serve

from .conftest import free_port
from .test_webapp import private_assistant

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from concurrency import (
    UPLOAD_QUESTION,
    load_test,
    reference_answers,
    reference_answers_after_each,
    session_scripts,
    unmatched_answers,
    write_upload_articles,
)

SESSIONS, QUESTIONS, UPLOADS = 16, 10, 3


@pytest.fixture(scope="module")
def scripts() -> list[list[list[str]]]:
    scripts = session_scripts(SESSIONS, QUESTIONS)
    assert any(len(convo) > 1 for script in scripts for convo in script)  # follow-ups asked
    return scripts


@pytest.fixture(scope="module")
def scratch(built_index, tmp_path_factory) -> Assistant:
    """A private copy that reference answers are computed on (uploads are added to it)."""
    return private_assistant(built_index, tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="module")
def expected(scratch, scripts) -> list[list[str]]:
    """The answers each script gets asked alone, before any server starts or upload lands."""
    return reference_answers(scratch, scripts)


@pytest.fixture(scope="module")
def articles(tmp_path_factory) -> list[Path]:
    return write_upload_articles(tmp_path_factory.mktemp("uploads"), UPLOADS)


@pytest.fixture(scope="module")
def expected_by_state(expected, scratch, scripts, articles) -> list[list[list[str]]]:
    """``expected``, then the answers asked alone after each upload is indexed in turn."""
    return [expected, *reference_answers_after_each(scratch, scripts, articles)]


@pytest.fixture
def served(built_index, tmp_path) -> Iterator[tuple[str, Assistant]]:
    """(url, assistant) of a server over a private copy of the corpus and index."""
    assistant = private_assistant(built_index, tmp_path)
    app = serve(assistant, port=free_port(), block=False)
    yield app.local_url, assistant
    app.close()


def assert_answered_as_alone(result: dict, states: list[list[list[str]]]) -> None:
    """All requests answered, each as asked alone on one of the index ``states``, with sources."""
    assert result["requests"] == SESSIONS * QUESTIONS
    assert unmatched_answers(result["answers"], states) == []
    cited = sum("[1]" in text for texts in result["answers"] for text in texts)
    assert cited >= 0.8 * SESSIONS * QUESTIONS  # answered with sources, not refusals


@pytest.mark.slow
def test_sixteen_concurrent_sessions_get_their_own_answers(served, scripts, expected):
    assert_answered_as_alone(load_test(served[0], scripts), [expected])


@pytest.mark.slow
def test_uploads_during_the_sessions_break_no_answer_and_are_indexed(served, scripts, articles,
                                                                     expected_by_state):
    url, assistant = served
    result = load_test(url, scripts, articles)
    # each answer is the one asked alone on the index before, between or after the uploads
    assert_answered_as_alone(result, expected_by_state)
    assert [row["file"] for row in result["uploads"]] == [path.name for path in articles]
    for row in result["uploads"]:
        assert row["ok"], row["error"]
        # the sessions keep the /chat queue full, so answers were being computed throughout
        assert row["answered_before"] > 0 and row["answered_after"] > 0
    assert {path.name for path in articles} <= {row["doc_id"] for row in assistant.documents()}
    found = Client(url, verbose=False).predict(UPLOAD_QUESTION[0], api_name="/ask")
    assert found["citations"][0]["doc_id"] == UPLOAD_QUESTION[1]
    assert "4,300" in found["text"]
