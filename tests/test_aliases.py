"""One of the articles calls India "Bharat": questions that say "India" must still find it."""

from __future__ import annotations

from pathlib import Path

from assistant import Assistant
from assistant.aliases import aliases_of
from assistant.evaluation import first_right_rank, load_qa
from assistant.settings import get_settings

BHARAT_QUESTIONS = ("q023", "q027")  # their answers say "Bharat", never "India"


def test_aliases_rewrite_whole_words_only():
    rewrite = aliases_of({"India": ["Bharat"], "Indian": ["Bharatiya"]})
    rewritten = rewrite("Bharat’s pivot, Bharatiya policymakers.")
    assert rewritten == "India’s pivot, Indian policymakers."
    assert rewrite("Bharatanatyam and bharat") == "Bharatanatyam and bharat"


def test_questions_about_india_find_passages_that_say_bharat(assistant: Assistant):
    items = [i for i in load_qa() if i.id in BHARAT_QUESTIONS]
    for item in items:
        hits = assistant.retrieve(item.question, k=5)
        assert first_right_rank(hits, item.answers) is not None, item.id
        assert all("India" not in a["phrase"] for a in item.answers)


def test_without_the_alias_they_are_missed_and_changing_aliases_re_embeds(
        corpus_copy: Path, tmp_path: Path):
    plain = get_settings().model_copy(update={"aliases": {}})
    without = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index", settings=plain)
    without.index()
    item = next(i for i in load_qa() if i.id == "q023")
    assert first_right_rank(without.retrieve(item.question, k=5), item.answers) is None

    with_aliases = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    report = with_aliases.index()
    assert len(report.updated) == 5  # the text the models read changed: every article again
    assert first_right_rank(with_aliases.retrieve(item.question, k=5), item.answers) is not None
