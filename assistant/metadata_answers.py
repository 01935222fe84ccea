"""Questions about an article itself ("who wrote…", "when was … published") answered from
the byline, ``Published:`` line or dateline that the article's text shows.

Those lines are too short for the sentence answerer (and a cross-encoder trained on web
passages scores them poorly), yet readers ask for them. The answer names the article and
cites the passage holding the line, with the line highlighted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .ingest import HeaderField, header_fields
from .schema import Document, Passage

_ASKS_AUTHOR = re.compile(
    r"\b(who\s+(wrote|authored|penned|is\s+the\s+(author|writer))|author|byline|written\s+by|"
    r"writer\s+of)\b", re.IGNORECASE)
_ASKS_DATE = re.compile(
    r"\b(published|publication\s+date|dated|dateline|datelined|date\s+of\s+the\s+(article|piece)|"
    r"when\s+was\s+(the|this|that)\s+(article|piece|story|report|op-ed)\b.*\b(written|out))\b",
    re.IGNORECASE)
_ASKS_SOURCE = re.compile(
    r"\b((which|what)\s+(outlet|publication|newspaper|website|site|magazine)|published\s+(in|by))\b",
    re.IGNORECASE)


def asked_field(question: str) -> str:
    """The metadata field a question asks about ('author', 'date', 'source'), or ''."""
    if _ASKS_SOURCE.search(question):
        return "source"
    if _ASKS_AUTHOR.search(question):
        return "author"
    if _ASKS_DATE.search(question):
        return "date"
    return ""


def metadata_sentence(doc: Document, field: str, line: HeaderField) -> str:
    """A one-sentence answer naming the article and the field's value as the text shows it."""
    title = f"“{doc.title}”" if doc.title else "The article"
    if field == "author":
        return f"{title} is by {doc.author or line.value}."
    if field == "date":
        return f"{title} is dated {line.value.strip().rstrip(':')}."
    return f"{title} was published by {doc.source or line.value}."


def not_shown_sentence(doc: Document, field: str) -> str:
    """Say plainly that the article does not show the field (we never guess one)."""
    title = f"“{doc.title}”" if doc.title else "The article"
    what = {"author": "name its author", "date": "give a date", "source": "name its outlet"}
    return f"{title} does not {what[field]}."


@dataclass
class MetadataAnswer:
    """The answer sentence, and the passage and line it cites (None when not shown)."""

    sentence: str
    passage: Passage | None = None
    line: HeaderField | None = None


def metadata_answer(question: str, passages: list[Passage],
                    document: Callable[[str], Document | None],
                    passage_covering: Callable[[str, int, int], Passage | None],
                    ) -> MetadataAnswer | None:
    """Answer a question about the best-matching article's author, date or outlet."""
    field = asked_field(question)
    doc = document(passages[0].doc_id) if field and passages else None
    if doc is None:
        return None
    line = header_fields(doc.text).get(field)
    passage = passage_covering(doc.doc_id, line.start, line.end) if line else None
    if line is None or passage is None:
        return MetadataAnswer(not_shown_sentence(doc, field))
    return MetadataAnswer(metadata_sentence(doc, field, line), passage, line)
