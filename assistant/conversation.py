"""Follow-up questions without an LLM: carry the topic of earlier turns into the query.

"How many have arrived so far?" means nothing alone. When a question leans on the
conversation (a pronoun such as *it*/*they*/*that*, an opening *and*/*but*, or very few
words of its own), we append the content words of the previous (resolved) question and the
names in the previous answer's first sentence, so retrieval and reranking see the topic.
A question with none of those signs is left alone, so a change of subject is not dragged
back to the previous one. Each earlier user turn is resolved in order, so a third turn
inherits what the second one borrowed from the first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bm25s.stopwords import STOPWORDS_EN_PLUS

Message = dict[str, str]

_ANAPHORA = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|this|that|these|those|he|him|his|she|her|"
    r"there|then|such|the same|that one|this one|the former|the latter)\b", re.IGNORECASE)
_OPENERS = re.compile(r"^\s*(and|but|so|also|or|what about|how about|then)\b", re.IGNORECASE)
_WORD = re.compile(r"[\w’'\-]+")
_MARKER = re.compile(r"\s*\[\d+\]")
_DESIGNATION = re.compile(r"\b([A-Z][\w\-]*\d[\w\-]*|[A-Z]{2,}[\w\-]*)")
_NAME = re.compile(r"(?<=\s)([A-Z][a-z][\w’'\-]*)")
MAX_CARRIED_NAMES = 4
_STOP = set(STOPWORDS_EN_PLUS) | {
    "many", "much", "would", "could", "should", "make", "makes", "made", "far", "actually",
    "really", "one", "kind", "way", "say", "said", "does", "do", "did"}
MIN_OWN_WORDS = 3  # a question with fewer content words of its own is treated as a follow-up
REFUSAL_PREFIX = "The articles don't answer"


def content_words(text: str) -> list[str]:
    """Words that carry the topic (no stop words or question words), in order, once each."""
    words = [w for w in _WORD.findall(text) if w.lower() not in _STOP and len(w) > 1]
    return list(dict.fromkeys(words))


def names_in(text: str) -> list[str]:
    """Designations and acronyms (S-400, Su-30MKI, RELOS) first, then capitalised names
    that are not a sentence's first word; a handful at most."""
    found = [m.group(1) for m in _DESIGNATION.finditer(text)]
    found += [m.group(1) for m in _NAME.finditer(text)]
    names = [n for n in dict.fromkeys(found) if n.lower() not in _STOP]
    return names[:MAX_CARRIED_NAMES]


def is_follow_up(question: str) -> bool:
    """Whether the question leans on the conversation to be understood."""
    return bool(_ANAPHORA.search(question) or _OPENERS.search(question)
                or len(content_words(question)) < MIN_OWN_WORDS)


def first_sentence(answer_text: str) -> str:
    text = _MARKER.sub("", answer_text).strip()
    if text.startswith(REFUSAL_PREFIX):
        return ""
    return re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]


def resolve(question: str, previous_query: str, previous_answer: str) -> str:
    """The question made standalone with the previous turn's topic, when it needs it."""
    if not previous_query or not is_follow_up(question):
        return question
    own = {w.lower() for w in content_words(question)}
    carried = [w for w in content_words(previous_query) + names_in(first_sentence(previous_answer))
               if w.lower() not in own]
    carried = list(dict.fromkeys(carried))
    return f"{question} {' '.join(carried)}".strip() if carried else question


def standalone_query(question: str, history: Sequence[Message] | None) -> str:
    """Resolve every earlier user turn in order, then the new question against the last."""
    previous_query, previous_answer = "", ""
    for message in history or []:
        content = str(message.get("content") or "")
        if message.get("role") == "user":
            previous_query, previous_answer = resolve(content, previous_query,
                                                      previous_answer), ""
        elif message.get("role") == "assistant":
            previous_answer = content
    return resolve(question, previous_query, previous_answer)
