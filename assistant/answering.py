"""The embedded answerer: answers in the articles' own words, no LLM needed.

It takes the sentences the cross-encoder scored against the question, keeps those that
actually answer it (a logit above a threshold measured on the development set), and
writes the best one to three of them, best first, each followed by the ``[n]`` of the
passage it comes from. When no sentence clears the threshold it says the articles do not
answer the question and cites nothing: a refusal beats a padded answer. Questions about an
article itself (author, date, outlet) are answered from the lines that show them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .answer_types import decides_alone, type_check
from .metadata_answers import metadata_answer
from .retrieval import HybridSearcher, RetrievalResult, ScoredSentence
from .schema import Answer, Citation, Passage

MIN_ANSWER_WORDS = 5  # headings and fragments are not answers
ADJACENT_GAP = 3  # characters (a space or a line break) between two sentences that touch
SCORE_MARGIN = 4.0  # extra sentences must score within this of the best one
_TERMINAL = re.compile(r"[.!…\"”’)]\s*$")  # a question ("…?") is not an answer

NO_ANSWER = ("The articles don't answer that. I found no passage that addresses “{question}”; "
             "try rephrasing, or add an article that covers it.")


def is_answer_sentence(text: str) -> bool:
    """A full statement: not a heading, a list label or a (rhetorical) question."""
    return len(text.split()) >= MIN_ANSWER_WORDS and bool(_TERMINAL.search(text))


def _overlaps(a: ScoredSentence, b: ScoredSentence) -> bool:
    return a.text == b.text or (a.doc_id == b.doc_id and a.start < b.end and b.start < a.end)


def choose_sentences(question: str, sentences: list[ScoredSentence], threshold: float,
                     limit: int, margin: float = SCORE_MARGIN) -> list[ScoredSentence]:
    """The best answering sentences: of the type asked for, above the threshold, near the
    best one, no repeats."""
    holds_answer = type_check(question)
    if decides_alone(question):
        threshold = -math.inf
    chosen: list[ScoredSentence] = []
    for sent in sentences:  # already best first
        if len(chosen) == limit or sent.score < threshold:
            break
        if chosen and sent.score < chosen[0].score - margin:
            break
        if (is_answer_sentence(sent.text) and holds_answer(sent.text)
                and not any(_overlaps(sent, c) for c in chosen)):
            chosen.append(sent)
    return chosen


def in_reading_order(chosen: list[ScoredSentence]) -> list[ScoredSentence]:
    """Adjacent sentences of one article in the article's order.

    The cross-encoder reads each sentence after its predecessor, so a sentence can win on
    what the one before it says; when both are chosen, the earlier one comes first.
    """
    ordered = list(chosen)
    for later in chosen:
        earlier = next((s for s in ordered if s.doc_id == later.doc_id
                        and 0 <= later.start - s.end <= ADJACENT_GAP), None)
        if earlier is not None and ordered.index(earlier) > ordered.index(later):
            ordered.remove(earlier)
            ordered.insert(ordered.index(later), earlier)
    return ordered


def home_passage(doc_id: str, start: int, end: int, passages: list[Passage]) -> Passage | None:
    """The best-ranked retrieved passage that contains the span."""
    return next((p for p in passages
                 if p.doc_id == doc_id and p.start <= start and end <= p.end), None)


@dataclass
class CitedText:
    """Answer sentences with their markers, and the citations numbered by first use."""

    parts: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    from_metadata: bool = False  # answered from the article's own byline/date/source lines

    def number(self, passage: Passage, start: int, end: int) -> int:
        """The marker number of ``passage`` (numbered by first use); ``[start, end)`` is the
        span the answer used, so a second sentence from one passage widens its highlight."""
        citation = next((c for c in self.citations if c.chunk_id == passage.chunk_id), None)
        if citation is None:
            fields = passage.model_dump(include=set(Passage.model_fields))  # a Citation too
            citation = Citation(**fields, number=len(self.citations) + 1,
                                highlight_start=start, highlight_end=end)
            self.citations.append(citation)
        else:
            citation.highlight_start = min(citation.highlight_start, start)
            citation.highlight_end = max(citation.highlight_end, end)
        return citation.number

    def cite(self, text: str, passage: Passage, start: int, end: int) -> None:
        """Append ``text [n]``, reusing the number of a passage already cited."""
        self.parts.append(f"{text} [{self.number(passage, start, end)}]")

    def answer(self, question: str, query: str, index_version: str = "",
               generator: str = "extractive", unsupported: list[str] | None = None) -> Answer:
        """The ``Answer`` these parts make, or the plain refusal when there are none."""
        text = " ".join(self.parts) or NO_ANSWER.format(question=question)
        return Answer(question=question, text=text, citations=self.citations, query=query,
                      unsupported=unsupported or [], generator=generator,
                      index_version=index_version)


_COMPOUND = re.compile(
    r",?\s+and\s+(?=(what|which|how|who|whose|why|when|where|does|did|do|is|are|was)\b)",
    re.IGNORECASE)


def split_question(question: str) -> list[str]:
    """The parts of a compound question ("How many …, and how did …?"), or the question."""
    parts = [p.strip(" ,?") for p in _COMPOUND.split(question)[::2] if p.strip(" ,?")]
    return [p + "?" for p in parts] if len(parts) > 1 else [question]


class ExtractiveAnswerer:
    """Builds answers from retrieved sentences for one searcher and its settings."""

    def __init__(self, searcher: HybridSearcher, threshold: float, limit: int):
        self.searcher = searcher
        self.threshold = threshold
        self.limit = limit

    def _sentences_for(self, question: str, query: str,
                       result: RetrievalResult) -> list[ScoredSentence]:
        """Answer sentences; each part of a compound question gets its own best sentence.

        ``question`` decides the kind of answer wanted; ``query`` (the question plus what a
        follow-up carries from earlier turns) is what sentences were scored against.
        """
        # Only sentences of the passages returned can be cited. Choosing among the others
        # and dropping them after lost answers: when two articles share a sentence, the copy
        # outside the top passages could win and shut out the citable one as its repeat.
        citable = [s for s in result.sentences
                   if home_passage(s.doc_id, s.start, s.end, result.passages) is not None]
        parts = split_question(question)
        if len(parts) == 1:
            return in_reading_order(choose_sentences(question, citable,
                                                     self.threshold, self.limit))
        carried = query[len(question):] if query.startswith(question) else ""
        chosen: list[ScoredSentence] = []
        for part in parts:
            ranked = self.searcher.rescore(part + carried, citable)
            fresh = [s for s in ranked if not any(_overlaps(s, c) for c in chosen)]
            chosen += choose_sentences(part, fresh, self.threshold, 1)
        return chosen

    def answer(self, question: str, query: str, result: RetrievalResult,
               index_version: str = "") -> Answer:
        """Compose an answer from the retrieved sentences, or refuse when none answers."""
        return self.compose(question, query, result).answer(question, query, index_version)

    def compose(self, question: str, query: str, result: RetrievalResult) -> CitedText:
        """The cited sentences that answer ``question``; none when the articles don't."""
        cited = CitedText()
        about_article = metadata_answer(question, result.passages, self.searcher.document,
                                        self.searcher.passage_covering)
        cited.from_metadata = about_article is not None
        if about_article and about_article.passage and about_article.line:
            line = about_article.line
            cited.cite(about_article.sentence, about_article.passage, line.start, line.end)
        elif about_article:
            cited.parts.append(about_article.sentence)
        else:
            for sent in self._sentences_for(question, query, result):
                passage = home_passage(sent.doc_id, sent.start, sent.end, result.passages)
                if passage is not None:
                    cited.cite(sent.text, passage, sent.start, sent.end)
        return cited
