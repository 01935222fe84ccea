"""16 people chatting at once against one real server: every answer is the one each would
get alone (so nothing errors and no conversation bleeds into another)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from assistant.webapp import serve

from .conftest import free_port
from .test_webapp import private_assistant

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from concurrency import load_test, reference_answers, session_scripts

SESSIONS, QUESTIONS = 16, 10


@pytest.mark.slow
def test_sixteen_concurrent_sessions_get_their_own_answers(built_index, tmp_path):
    assistant = private_assistant(built_index, tmp_path)
    scripts = session_scripts(SESSIONS, QUESTIONS)
    assert any(len(convo) > 1 for script in scripts for convo in script)  # follow-ups asked
    expected = [reference_answers(assistant, script) for script in scripts]
    app = serve(assistant, port=free_port(), block=False)
    try:
        result = load_test(app.local_url, scripts)
    finally:
        app.close()
    assert result["requests"] == SESSIONS * QUESTIONS
    for got, want in zip(result["answers"], expected, strict=True):
        assert got == want
    cited = sum("[1]" in text for texts in result["answers"] for text in texts)
    assert cited >= 0.8 * SESSIONS * QUESTIONS  # answered with sources, not refusals
