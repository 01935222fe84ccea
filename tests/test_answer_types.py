"""Expected answer types: a question asking for a kind of thing is answered only by a
sentence holding that kind of thing. Sentences are the corpus's own."""

from __future__ import annotations

import pytest

from assistant import Assistant
from assistant.answer_types import expected_type, type_check

LAVROV = ("When Russian Foreign Minister Sergei Lavrov recently appreciated India’s stand "
          "against US pressure, it wasn’t just gratitude.")
AIR_CHIEF = ("The Indian Air Force Chief himself recently praised its performance, calling it "
             "“wonderful.”")
PUTIN = ("High-level engagements between India and Russia, spearheaded by President Vladimir "
         "Putin's visit, have underscored a crucial reality.")
MODI = "Fresh off Prime Minister Narendra Modi’s China visit, headlines are buzzing."


@pytest.mark.parametrize(("question", "sentence", "answers"), [
    ("Who is Russia's foreign minister?", LAVROV, True),
    ("Who is India's External Affairs Minister?", LAVROV, False),  # another minister
    ("Who is India's External Affairs Minister?",
     "External Affairs Minister S. Jaishankar said India would keep buying oil.", True),
    ("What is the name of the Indian Air Force Chief who praised the S-400?", AIR_CHIEF, False),
    ("What is the name of the Indian Air Force Chief who praised the S-400?",
     "Not bad for a system that has made Washington squirm and Beijing cautious.", False),
    ("Who is India's External Affairs Minister?",
     "India’s position was set out by Jaishankar, the External Affairs Minister, in Moscow.",
     True),
    ("Who is the Russian President?", PUTIN, True),  # whose title it is need not be repeated
    ("Who is India's prime minister?", MODI, True),
])
def test_a_question_about_a_title_holder_needs_that_title_and_a_name(question, sentence,
                                                                      answers):
    assert expected_type(question) == "holder"
    assert type_check(question)(sentence) is answers


@pytest.mark.parametrize("question", [
    "Who is India's External Affairs Minister?",
    "What is the name of the Indian Air Force Chief who praised the S-400?",
])
def test_title_holders_the_articles_do_not_name_are_refused(assistant: Assistant, question):
    """The articles mention a Russian foreign minister by name and an unnamed Indian Air Force
    Chief; neither answers these, though the cross-encoder scores both highly."""
    answer = assistant.answer(question)
    assert answer.refused and answer.citations == []


def test_a_named_title_holder_is_answered(assistant: Assistant):
    answer = assistant.answer("Who is Russia's foreign minister?")
    assert "Lavrov" in answer.text and answer.citations


CAATSA = ("The platform is so advanced that it rattled Washington enough to threaten sanctions "
          "under CAATSA (Countering America’s Adversaries Through Sanctions Act).")
RELOS = ("The Russian Duma’s approval of the Reciprocal Exchange of Logistic Support (RELOS) "
         "pact signified a significant expansion of operational cooperation.")


@pytest.mark.parametrize(("question", "sentence", "answers"), [
    ("What is the full name of CAATSA?", CAATSA, True),
    ("What does RELOS stand for?", RELOS, True),  # "LOgistic" gives two letters
    ("What does RELOS stand for?", CAATSA, False),
    ("What does CAATSA stand for?",
     "For Bharat, the warning signs were clear: veiled threats of sanctions under CAATSA.", False),
    ("What does CAATSA stand for?", "CAATSA (a US law) was never enforced.", False),
])
def test_an_acronym_question_needs_the_acronym_spelled_out(question, sentence, answers):
    assert expected_type(question) == "expansion"
    assert type_check(question)(sentence) is answers


@pytest.mark.parametrize(("question", "expansion"), [
    ("What is the full name of CAATSA?", "Countering America’s Adversaries Through Sanctions Act"),
    ("What does RELOS stand for?", "Reciprocal Exchange of Logistic Support"),
])
def test_acronyms_are_answered_from_the_sentence_that_spells_them_out(assistant: Assistant,
                                                                      question, expansion):
    """The cross-encoder scores the CAATSA sentence at about -5.6 (it is about sanctions), far
    below the answer threshold; its form answers the question all the same."""
    answer = assistant.answer(question)
    assert expansion in answer.text and answer.citations


def test_an_acronym_the_articles_never_spell_out_is_refused(assistant: Assistant):
    assert assistant.answer("What does BRICS stand for?").refused


def test_the_two_countries_is_not_a_count():
    how_many = type_check("How many Su-57 jets would India build under Russia's offer?")
    assert not how_many("Aircraft such as the Su-30MKI reflect the high level of military "
                        "collaboration between the two countries.")
    assert how_many("Russia offered to build two squadrons in India.")
