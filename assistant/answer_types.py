"""Expected answer types: a question that asks "how many", "how much", "when", "what
percentage" or "who" is only answered by a sentence that holds a number, an amount, a
date, a percentage or a name; one that asks who holds a title ("Who is India's External
Affairs Minister?") only by a sentence giving that title with a name after it, and one that
asks what an acronym stands for only by a sentence spelling it out.

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
# "the two countries" means "both", not a count: no answer to "How many jets?"
_NOT_A_COUNT = re.compile(r"\b(the|both|these|those)\s+two\s+(countries|nations|sides|leaders|"
                          r"governments|powers|states|democracies|neighbou?rs|partners|"
                          r"militaries|armies|capitals)\b", re.IGNORECASE)
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

# Titles a person holds: "Who is India's External Affairs Minister?" asks for the person
# holding one, by name.
_TITLE = (r"minister|chief|president|premier|ambassador|secretary|commander|spokes(?:person|"
          r"man|woman)|advis[eo]r|chair(?:man|woman|person)?|director|governor|envoy|admiral|"
          r"marshal|general|ceo|head of state")
_ROLE_QUESTION = re.compile(
    rf"^\s*who\s+(?:is|was|are|were)\b.*\b(?P<title>{_TITLE})\b|"
    rf"\bname\s+of\b.*\b(?P<named>{_TITLE})\b", re.I)
# Words before a title that say whose it is or when, not which one: "Russian Foreign
# Minister" answers "Russia's foreign minister", "former President Trump" "the US President".
# Stems (STEM_CHARS) of countries and peoples, and of time words.
_NOT_QUALIFIERS = {"india", "bhara", "russi", "ameri", "us", "u.s", "unite", "state", "china",
                   "chine", "pakis", "ukrai", "sovie", "briti", "uk", "frenc", "franc", "germa",
                   "japan", "israe", "iran", "europ", "eu", "nato", "forme", "then", "curre",
                   "new"}
_ROLE_WORDS = 3  # qualifiers of a title looked at: "External Affairs Minister", "Air Force Chief"
_INITIAL_OR_NAME = re.compile(r"(?:[A-Z]\.\s*)*[A-Z][a-zA-Z’'\-]+")
# "Jaishankar, the External Affairs Minister,": the name in apposition before the title.
_NAME_BEFORE = re.compile(r"([A-Z][a-zA-Z’'\-]+),\s+(?:the\s+)?(?:[\w’'\-]+\s+){0,3}$")

# "What does RELOS stand for?", "What is the full name of CAATSA?"
_EXPANSION_QUESTION = re.compile(
    r"\b(full\s+(name|form)|stands?\s+for|short\s+for|abbreviat\w*|acronym)\b", re.I)
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,9}\b")
_WORD = re.compile(r"[^\W\d_][\w’'\-]*")

# (pattern on the question, check on a candidate sentence); the first match decides.
_QUESTION_TYPES: list[tuple[re.Pattern[str], str]] = [
    (_EXPANSION_QUESTION, "expansion"),
    (_ROLE_QUESTION, "holder"),
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


def _role(question: str) -> tuple[str, list[str]]:
    """The title asked about and the words that say which one it is (not whose):
    "India's External Affairs Minister" -> ("minister", ["exter", "affai"])."""
    match = _ROLE_QUESTION.search(question)
    if match is None:
        return "", []
    group = "title" if match.group("title") else "named"
    before = _TOKEN.findall(question[:match.start(group)])
    qualifiers = []
    for word in reversed(before[-_ROLE_WORDS:]):
        if word.endswith(("'s", "’s")) or word.lower() in {"who", "is", "was", "are", "were",
                                                            "of", "the", "a", "an"}:
            break
        qualifiers.append(_stem(word))
    return match.group(group).lower(), [q for q in qualifiers if q not in _NOT_QUALIFIERS]


def _names_the_holder(question: str) -> Callable[[str], bool]:
    """The asked-for title with the question's qualifiers before it and, right after it, a
    name the question does not give: "Foreign Minister Sergei Lavrov" answers who Russia's
    foreign minister is; "the Air Force Chief himself" and "Foreign Minister" for "External
    Affairs Minister" do not."""
    title, qualifiers = _role(question)
    asked = {_stem(w) for w in _TOKEN.findall(question)}
    pattern = re.compile(rf"\b{re.escape(title)}\b,?\s+", re.I)

    def holds(sentence: str) -> bool:
        for found in pattern.finditer(sentence):
            before = sentence[:found.start()]
            lead = {_stem(w) for w in _TOKEN.findall(before)[-_ROLE_WORDS:]}
            after = _INITIAL_OR_NAME.match(sentence, found.end())
            names = [after.group().split()[-1].strip(".")] if after else []
            names += [m.group(1) for m in [_NAME_BEFORE.search(before)] if m]
            if all(q in lead for q in qualifiers) and any(_stem(n) not in asked for n in names):
                return True
        return False
    return holds


def _spells(words: list[str], letters: str) -> bool:
    """True when the words' leading letters spell ``letters`` in order: every capitalised
    word gives the first one or more of its letters, small words ("of", "and") give their
    first letter or none. "Reciprocal Exchange of LOgistic Support" spells RELOS."""
    if not words:
        return not letters
    head, rest = words[0], words[1:]
    if head[0].islower() and _spells(rest, letters):
        return True
    return any(_spells(rest, letters[k:])
               for k in range(1, min(len(head), len(letters)) + 1)
               if head[:k].lower() == letters[:k].lower())


def _spells_out(acronym: str) -> Callable[[str], bool]:
    """A sentence giving the acronym's expansion: "CAATSA (Countering America's Adversaries
    Through Sanctions Act)" or "Reciprocal Exchange of Logistic Support (RELOS)"."""
    after = re.compile(rf"\b{acronym}\s*\(([^)]+)\)")
    before = re.compile(rf"([^()]+)\(\s*{acronym}\s*\)")

    def holds(sentence: str) -> bool:
        if any(_spells(_WORD.findall(m.group(1)), acronym) for m in after.finditer(sentence)):
            return True
        for m in before.finditer(sentence):
            words = _WORD.findall(m.group(1))[-3 * len(acronym):]
            if any(_spells(words[i:], acronym) for i in range(len(words))):
                return True
        return False
    return holds


def decides_alone(question: str) -> bool:
    """Whether a sentence of the kind asked for answers by its form, whatever its relevance
    score: an acronym's spelled-out expansion answers "What does it stand for?" even in a
    sentence about something else, where the cross-encoder scores it low."""
    return expected_type(question) == "expansion" and bool(_ACRONYM.search(question))


def without_question_terms(question: str, sentence: str) -> str:
    """The sentence minus the words the question already uses ("F-35" is not a count)."""
    asked = {w.lower() for w in _TOKEN.findall(question)}
    return _TOKEN.sub(lambda m: " " if m.group().lower() in asked else m.group(), sentence)


def type_check(question: str) -> Callable[[str], bool]:
    """A predicate telling whether a sentence holds the kind of answer asked for."""
    kind = expected_type(question)
    if kind == "holder":  # reads the title itself, so keeps every word
        return _names_the_holder(question)
    if kind == "expansion":
        acronym = _ACRONYM.search(question)
        return _spells_out(acronym.group()) if acronym else lambda sentence: True
    check = _type_predicate(question)
    return lambda sentence: check(without_question_terms(question, sentence))


def _type_predicate(question: str) -> Callable[[str], bool]:
    checks: dict[str, Callable[[str], bool]] = {
        "percent": lambda s: bool(_PERCENT.search(s)),
        "number": lambda s: bool(_NUMBER.search(_NOT_A_COUNT.sub(" ", s))),
        "amount": lambda s: bool(_AMOUNT.search(s)),
        "date": lambda s: bool(_DATE.search(s)),
        "time": lambda s: bool(_DATE.search(s) or _TIME.search(s)),
        "distance": lambda s: bool(_DISTANCE.search(s)),
        "name": _has_new_name(question),
    }
    return checks.get(expected_type(question), lambda s: True)
