"""Expected answer types: a question that asks "how many", "how much", "when", "what
percentage" or "who" is only answered by a sentence that holds a number, an amount, a
date, a percentage or a name.

The cross-encoder scores topical relevance: for "How much did India pay for the S-400?"
every sentence about the S-400 deal scores high, although none gives a price. Checking
that a sentence contains the *kind* of thing asked for is what lets the answerer refuse
such questions instead of answering with a related sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                 r"forty|fifty|hundred|thousand|dozen|dozens|several|half|a few")
# A standalone number: "Su-57" and "F-35" are names of things, not counts.
_NUMBER = re.compile(rf"(?<![\w-])\d[\d,.]*(?![\w-])|\b({_NUMBER_WORDS})\b", re.IGNORECASE)
_AMOUNT = re.compile(r"[$₹€£¥]\s?\d|\b\d[\d,.]*\s?(billion|million|trillion|crore|lakh|bn|mn)\b|"
                     r"\b(rupees?|dollars?|roubles?|rubles?|crore)\b", re.IGNORECASE)
_PERCENT = re.compile(r"\d\s?%|\b(per\s?cent|percent|percentage)\b", re.IGNORECASE)
_DATE = re.compile(r"\b(1[89]|20)\d\d\b|\b(January|February|March|April|May|June|July|August|"
                   r"September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|"
                   r"Oct|Nov|Dec)\b|\b\d{1,2}(st|nd|rd|th)\b")
_TIME = re.compile(r"\b(after|before|during|since|following|ago|until|when|decades?|years?|"
                   r"months?|weeks?|recently|today|yesterday)\b", re.IGNORECASE)
_DISTANCE = re.compile(r"\d[\d,.]*\s?(km|kilomet(er|re)s?|miles?|nautical)\b", re.IGNORECASE)
_CAPITALISED = re.compile(r"\b[A-Z][a-zA-Z’'\-]+")
_TOKEN = re.compile(r"[\w’'\-]+")
STEM_CHARS = 5  # "Russia" and "Russian" name the same thing

# (pattern on the question, check on a candidate sentence); the first match decides.
_QUESTION_TYPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(what|which)\s+(\w+\s+){0,2}(percentage|percent|share|proportion|rate)\b|"
                r"\bhow\s+much\s+of\b", re.I), "percent"),
    (re.compile(r"\bhow\s+many\b", re.I), "number"),
    (re.compile(r"\bhow\s+much\b|\b(what|how)\b.*\b(price|cost|worth|value|paid|budget)\b",
                re.I), "amount"),
    (re.compile(r"\b(what|which)\s+(year|date|day|month)\b|\bon\s+what\s+date\b", re.I), "date"),
    (re.compile(r"^\s*when\b", re.I), "time"),
    (re.compile(r"\b(range|how\s+far|distance)\b", re.I), "distance"),
    (re.compile(r"^\s*(who|where)\b|\bname\s+of\b|\bwho\s+is\b", re.I), "name"),
]


def expected_type(question: str) -> str:
    """The kind of answer the question asks for, or '' when any sentence may answer it."""
    return next((kind for pattern, kind in _QUESTION_TYPES if pattern.search(question)), "")


def _stem(word: str) -> str:
    return word.lower()[:STEM_CHARS]


def _has_new_name(question: str) -> Callable[[str], bool]:
    """A capitalised word, not the sentence's first, that the question does not mention."""
    asked = {_stem(w) for w in _TOKEN.findall(question)}
    return lambda sentence: any(_stem(m.group()) not in asked
                                for m in _CAPITALISED.finditer(sentence) if m.start() > 0)


def without_question_terms(question: str, sentence: str) -> str:
    """The sentence minus the words the question already uses ("F-35" is not a count)."""
    asked = {w.lower() for w in _TOKEN.findall(question)}
    return _TOKEN.sub(lambda m: " " if m.group().lower() in asked else m.group(), sentence)


def type_check(question: str) -> Callable[[str], bool]:
    """A predicate telling whether a sentence holds the kind of answer asked for."""
    check = _type_predicate(question)
    return lambda sentence: check(without_question_terms(question, sentence))


def _type_predicate(question: str) -> Callable[[str], bool]:
    checks: dict[str, Callable[[str], bool]] = {
        "percent": lambda s: bool(_PERCENT.search(s)),
        "number": lambda s: bool(_NUMBER.search(s)),
        "amount": lambda s: bool(_AMOUNT.search(s)),
        "date": lambda s: bool(_DATE.search(s)),
        "time": lambda s: bool(_DATE.search(s) or _TIME.search(s)),
        "distance": lambda s: bool(_DISTANCE.search(s)),
        "name": _has_new_name(question),
    }
    return checks.get(expected_type(question), lambda s: True)
