"""Follow-up questions are resolved against the conversation; new topics are left alone."""

from __future__ import annotations

from assistant import Assistant
from assistant.conversation import is_follow_up, standalone_query
from assistant.evaluation import conversation_scores

from .conftest import DATA


def history(*turns: str) -> list[dict[str, str]]:
    roles = ["user", "assistant"] * len(turns)
    return [{"role": r, "content": t} for r, t in zip(roles, turns, strict=False)]


def test_follow_up_detection():
    assert is_follow_up("How many have arrived so far?")
    assert is_follow_up("And what does it give Russia?")
    assert is_follow_up("Why?")
    assert not is_follow_up("Which joint military exercise improves interoperability "
                            "between Indian and US armed forces?")


def test_follow_up_carries_the_topic_and_a_new_topic_does_not():
    past = history("What logistics pact did the Russian Duma approve with India?",
                   "The Russian Duma’s approval of the RELOS pact … [1]")
    assert "RELOS" in standalone_query("And what does it give Russia?", past)
    new = "Why did India refuse to buy the F-35?"
    assert standalone_query(new, past) == new


def test_follow_up_is_answered_from_the_right_passage(assistant: Assistant):
    first = "What logistics pact did the Russian Duma approve with India?"
    answer_1 = assistant.answer(first)
    follow = assistant.answer("And what does it give Russia?",
                              history(first, answer_1.text))
    assert "pact" in follow.query or "RELOS" in follow.query
    assert any("Indian Ocean" in c.text for c in follow.citations), follow.text
    alone = assistant.answer("And what does it give Russia?")
    assert alone.query == "And what does it give Russia?"


def test_development_conversations_beat_answering_without_history(assistant: Assistant):
    path = DATA / "conversations.jsonl"
    with_history = conversation_scores(lambda q, h: assistant.answer(q, h), path)
    without = conversation_scores(lambda q, h: assistant.answer(q, []), path)
    assert with_history.last_turn_cited_right >= without.last_turn_cited_right + 0.25
    assert with_history.topic_switch_cited_right == 1.0
