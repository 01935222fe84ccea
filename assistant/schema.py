"""The records the pipeline passes around and the public API returns.

Every span (``start``/``end``) is a character offset into ``Document.text`` so that
``assistant.document(doc_id).text[start:end] == text`` always holds.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ArticleMeta(BaseModel):
    """What the article's own text says about itself; empty when the text does not show it."""

    title: str = ""
    author: str = ""
    date: str = ""
    source: str = ""


class Document(ArticleMeta):
    """One article as indexed: its id (path relative to the corpus) and its full text."""

    doc_id: str
    text: str
    content_hash: str = ""


def version_of_chunk(chunk_id: str) -> str:
    """The article version a chunk id names (``Chunk.chunk_id``), '' for unversioned ids."""
    parts = chunk_id.rsplit("::", 2)
    return parts[1] if len(parts) == 3 else ""


class Chunk(BaseModel):
    """A sentence-aligned slice of a document, the unit that is embedded and searched.

    ``version`` names the article version the chunk was cut from (a prefix of its content
    hash). It is part of ``chunk_id`` so that a changed article's new chunks never reuse
    the ids of its old ones: both can sit in Chroma side by side while the catalogue
    switches from one set to the other (see ``indexer``), and the same id always means the
    same text, span and vector.
    """

    doc_id: str
    index: int
    start: int
    end: int
    text: str
    version: str = ""

    @property
    def chunk_id(self) -> str:
        """``doc_id::version::index`` (see ``version_of_chunk``)."""
        if self.version:
            return f"{self.doc_id}::{self.version}::{self.index}"
        return f"{self.doc_id}::{self.index}"


class Passage(ArticleMeta):
    """A retrieved chunk with its article's metadata and a relevance score (higher is better)."""

    doc_id: str
    text: str
    start: int
    end: int
    score: float
    chunk_id: str = ""


class Citation(Passage):
    """A passage an answer rests on, numbered as its ``[n]`` marker.

    ``highlight_start``/``highlight_end`` locate, inside the passage, the sentence(s) the
    answer actually used (absolute offsets into the document text).
    """

    number: int
    highlight_start: int
    highlight_end: int


class Answer(BaseModel):
    """An answer with ``[n]`` markers, each resolving to one of ``citations``."""

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    query: str = ""
    unsupported: list[str] = Field(default_factory=list)
    generator: str = "extractive"
    index_version: str = ""

    @property
    def refused(self) -> bool:
        """True when the articles did not answer the question (and nothing is cited)."""
        return not self.citations

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of everything on the answer."""
        return self.model_dump(mode="json") | {"refused": self.refused}


class SkippedFile(BaseModel):
    """A corpus file that was not indexed, and the one-line reason why."""

    doc_id: str
    reason: str


class IndexReport(BaseModel):
    """What one ``Assistant.index()`` run did."""

    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    skipped: list[SkippedFile] = Field(default_factory=list)
    chunks: int = 0
    embedded_chunks: int = 0
    seconds: float = 0.0
    index_version: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)
