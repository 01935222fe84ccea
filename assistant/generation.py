"""Answer generators: one interface for the extractive default and the LLM backends.

A generator turns a question plus what retrieval found into a stream of text pieces that
ends with the final ``Answer``. ``extractive`` answers in the articles' own words.
The LLM generators (``local``, ``ollama``, ``openai``) write fluent text from the same
evidence, then every sentence goes through citation verification. They reuse the
extractive answerer as a gate: when it finds no sentence that answers the question, no
LLM is called and the answer says the articles do not cover it; when it does, its cited
passages are given to the model first. Questions about an article itself (author, date)
are answered from the lines that show them, exactly, without an LLM.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from typing import Protocol

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage

from .answering import CitedText, ExtractiveAnswerer
from .conversation import Message, is_follow_up, standalone_query
from .llm import GeneratorError, backend_url
from .prompts import load_prompt
from .retrieval import RetrievalResult
from .schema import Answer, Passage
from .settings import Settings
from .verification import CitationVerifier, is_refusal

logger = logging.getLogger(__name__)

Piece = str | Answer
_FAKE_MARKER = re.compile(r"\[(\s*\d+(?:\s*[,;]\s*\d+)*\s*)\]")
_TAG = re.compile(r"</?\s*source\b", re.IGNORECASE)


class Generator(Protocol):
    """What ``Assistant`` needs of a generator."""

    name: str

    def standalone(self, question: str, history: Sequence[Message] | None) -> str:
        """The question made standalone against the conversation."""

    def stream(self, question: str, query: str, result: RetrievalResult,
               index_version: str) -> Iterator[Piece]:
        """Text pieces to append, in order, then the final ``Answer``."""


class ExtractiveGenerator:
    """The embedded default: cited sentences of the articles, streamed one at a time."""

    name = "extractive"

    def __init__(self, answerer: ExtractiveAnswerer):
        self.answerer = answerer

    def standalone(self, question: str, history: Sequence[Message] | None) -> str:
        return standalone_query(question, history)

    def stream(self, question: str, query: str, result: RetrievalResult,
               index_version: str) -> Iterator[Piece]:
        cited = self.answerer.compose(question, query, result)
        answer = cited.answer(question, query, index_version)
        yield from _pieces(cited.parts) or [answer.text]
        yield answer


def _pieces(parts: list[str]) -> list[str]:
    """Parts as pieces to append: a space before every one but the first."""
    return [part if i == 0 else " " + part for i, part in enumerate(parts)]


def sanitize_source_text(text: str) -> str:
    """Article text as inert data: no ``[n]`` look-alikes, no tags that close the source."""
    return _TAG.sub(lambda m: m.group().replace("<", "‹"), _FAKE_MARKER.sub(r"(\1)", text))


def format_sources(sources: list[Passage]) -> str:
    """The numbered, delimited sources block of the answer prompt."""
    blocks = []
    for number, passage in enumerate(sources, start=1):
        about = ", ".join(x for x in (passage.title, passage.date) if x)
        blocks.append(f'<source id="{number}">\n[{number}] {sanitize_source_text(about)}\n'
                      f"{sanitize_source_text(passage.text)}\n</source>")
    return "\n".join(blocks)


def history_lines(history: Sequence[Message]) -> str:
    """The conversation as "User: …" / "Assistant: …" lines for the condense prompt."""
    names = {"user": "User", "assistant": "Assistant"}
    return "\n".join(f"{names[m['role']]}: {' '.join(str(m.get('content') or '').split())}"
                     for m in history if m.get("role") in names)


class LlmGenerator:
    """A chat model writes the answer from numbered sources; verification checks it."""

    def __init__(self, name: str, model: BaseChatModel, answerer: ExtractiveAnswerer,
                 verifier: CitationVerifier, settings: Settings):
        self.name = name
        self.model = model
        self.answerer = answerer
        self.verifier = verifier
        self.settings = settings
        self.answer_prompt = load_prompt("answer")
        self.condense_prompt = load_prompt("condense")

    # -- follow-ups ---------------------------------------------------------------------
    def standalone(self, question: str, history: Sequence[Message] | None) -> str:
        """A follow-up rewritten by the model (condense prompt); other questions untouched.

        A rewrite that comes back empty or rambling falls back to the rule-based query.
        """
        rules = standalone_query(question, history)
        if not history or not is_follow_up(question) or not self.condenses:
            return rules
        messages = self.condense_prompt.format_messages(history=history_lines(history),
                                                        question=question)
        lines = "".join(self._stream_model(messages)).strip().splitlines()
        rewritten = lines[0].strip(" \"'") if lines else ""
        if not rewritten or len(rewritten) > 3 * len(question) + 80:
            return rules
        return rewritten

    @property
    def condenses(self) -> bool:
        """Whether follow-ups are rewritten by the model (see ``Settings.condense``)."""
        mode = self.settings.condense
        return mode == "llm" or (mode == "auto" and self.name != "local")

    # -- answers ------------------------------------------------------------------------
    def stream(self, question: str, query: str, result: RetrievalResult,
               index_version: str) -> Iterator[Piece]:
        draft = self.answerer.compose(question, query, result)
        if not draft.citations or draft.from_metadata:  # no evidence, or an exact header line
            answer = draft.answer(question, query, index_version, generator=self.name)
            yield answer.text
            yield answer
            return
        sources = self.sources_for(draft, result)
        messages = self.answer_prompt.format_messages(sources=format_sources(sources),
                                                      question=query)
        pieces: list[str] = []
        for piece in self._stream_model(messages):
            pieces.append(piece)
            yield piece
        yield self._final(question, query, "".join(pieces), sources, result, draft,
                          index_version)

    def sources_for(self, draft: CitedText, result: RetrievalResult) -> list[Passage]:
        """The passages the extractive draft cited, then the best others, ``llm_sources``
        at most."""
        chosen: dict[str, Passage] = {c.chunk_id: c for c in draft.citations}
        for passage in result.passages:
            chosen.setdefault(passage.chunk_id, passage)
        return list(chosen.values())[: max(self.settings.llm_sources, len(draft.citations))]

    def _final(self, question: str, query: str, text: str, sources: list[Passage],
               result: RetrievalResult, draft: CitedText, index_version: str) -> Answer:
        """The verified answer; the extractive draft when nothing the model wrote is backed."""
        verified = self.verifier.verify(text, sources, _highlighter(result))
        if not verified.cited.citations:
            reason = "refused" if is_refusal(text) else "wrote nothing the sources support"
            logger.info("%s %s; answering extractively", self.name, reason)
            return draft.answer(question, query, index_version,
                                generator=f"{self.name} (extractive fallback)")
        return verified.cited.answer(question, query, index_version, generator=self.name,
                                     unsupported=verified.unsupported)

    def _stream_model(self, messages: list[BaseMessage]) -> Iterator[str]:
        """The model's text as it comes; backend failures become one clear GeneratorError."""
        try:
            for chunk in self.model.stream(messages):
                if chunk.text:
                    yield chunk.text
        except GeneratorError:
            raise
        except _backend_errors() as exc:
            where = backend_url(self.name, self.settings)
            raise GeneratorError(f"the {self.name} generator failed"
                                 f"{f' at {where}' if where else ''}: {exc}") from exc


def _highlighter(result: RetrievalResult):
    """Highlight, inside a cited passage, its sentence that best answered the question."""
    def highlight(passage: Passage, claim: str) -> tuple[int, int]:
        best = next((s for s in result.sentences if s.doc_id == passage.doc_id
                     and passage.start <= s.start and s.end <= passage.end), None)
        return (best.start, best.end) if best else (passage.start, passage.end)
    return highlight


def _backend_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean the LLM backend could not serve the request."""
    import httpx

    errors: list[type[BaseException]] = [OSError, httpx.HTTPError]
    for module, name in (("openai", "APIError"), ("ollama", "ResponseError")):
        try:
            errors.append(getattr(__import__(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)
