"""Sentence-aware chunking with exact character offsets.

Sentences come from blingfire (fast, with offsets) applied one paragraph (line) at a time,
so headings and list items stay sentences of their own. Chunks pack whole sentences up to
``chunk_chars`` and repeat the last ``overlap`` sentences of the previous chunk, so an
answer that straddles a boundary is still whole in one chunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import blingfire

from .schema import Chunk

_LINE = re.compile(r"[^\n]+")


@dataclass(frozen=True)
class Span:
    """A half-open character range ``[start, end)`` into a document's text."""

    start: int
    end: int


def _hard_wrap(text: str, start: int, end: int, limit: int) -> list[Span]:
    """Split an over-long run without sentence punctuation at white space, ``limit`` at most."""
    spans: list[Span] = []
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        cut = cut if cut > start else start + limit
        spans.append(Span(start, cut))
        start = cut
        while start < end and text[start] == " ":
            start += 1
    if start < end:
        spans.append(Span(start, end))
    return spans


def split_sentences(text: str, max_chars: int = 1000) -> list[Span]:
    """Sentence spans of ``text``, trimmed of white space, none longer than ``max_chars``."""
    spans: list[Span] = []
    for line in _LINE.finditer(text):
        if not line.group().strip():
            continue
        _, offsets = blingfire.text_to_sentences_and_offsets(line.group())
        for rel_start, rel_end in offsets:
            start, end = line.start() + rel_start, line.start() + rel_end
            spans.extend(_hard_wrap(text, start, end, max_chars))
    return spans


HEADING_MAX_WORDS = 12
_SENTENCE_END = re.compile(r"[.!?…\"”’)]\s*$")


def is_heading(text: str, span: Span) -> bool:
    """A line of its own, short and without a sentence's closing punctuation."""
    whole_line = ((span.start == 0 or text[span.start - 1] == "\n")
                  and (span.end == len(text) or text[span.end] == "\n"))
    words = text[span.start:span.end].split()
    return (whole_line and 0 < len(words) <= HEADING_MAX_WORDS
            and not _SENTENCE_END.search(text[span.start:span.end]))


def section_headings(text: str, sentences: list[Span]) -> list[int | None]:
    """For each sentence, the index of the nearest heading before it (None above the first).

    A sentence deep in a section often names nothing it is about ("The United States refused
    to share source codes"); its heading ("The F-35 Issue: Technology Without Control") does.
    """
    headings: list[int | None] = []
    current: int | None = None
    for i, span in enumerate(sentences):
        headings.append(current)
        if is_heading(text, span):
            current = i
    return headings


def chunk_sentences(sentences: list[Span], chunk_chars: int, overlap: int) -> list[Span]:
    """Pack consecutive sentences into chunks of at most ``chunk_chars`` (one sentence at least)."""
    chunks: list[Span] = []
    first = 0
    while first < len(sentences):
        last = first
        while (
            last + 1 < len(sentences)
            and sentences[last + 1].end - sentences[first].start <= chunk_chars
        ):
            last += 1
        chunks.append(Span(sentences[first].start, sentences[last].end))
        if last + 1 >= len(sentences):
            break
        first = max(first + 1, last + 1 - overlap)
    return chunks


def chunk_document(doc_id: str, text: str, chunk_chars: int, overlap: int,
                   version: str = "") -> list[Chunk]:
    """The chunks of one document, each carrying its exact offsets and text.

    ``version`` (the article's content-hash prefix) goes into every chunk id; see ``Chunk``.
    """
    sentences = split_sentences(text, max_chars=chunk_chars)
    return [
        Chunk(doc_id=doc_id, index=i, start=span.start, end=span.end,
              text=text[span.start:span.end], version=version)
        for i, span in enumerate(chunk_sentences(sentences, chunk_chars, overlap))
    ]
