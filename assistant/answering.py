"""The embedded answerer: answers in the articles' own words, no LLM needed.

It takes the sentences the cross-encoder scored against the question, keeps those that
actually answer it (a logit above a threshold measured on the development set), and
writes the best one to three of them, best first, each followed by the ``[n]`` of the
passage it comes from. When no sentence clears the threshold it says the articles do not
answer the question and cites nothing: a refusal beats a padded answer.
"""

from __future__ import annotations

import re

from .retrieval import RetrievalResult, ScoredSentence
from .schema import Answer, Citation, Passage

MIN_ANSWER_WORDS = 5  # headings and fragments are not answers
SCORE_MARGIN = 4.0  # extra sentences must score within this of the best one
_TERMINAL = re.compile(r"[.!?…\"”’)]\s*$")

NO_ANSWER = ("The articles don't answer that. I found no passage that addresses “{question}”; "
             "try rephrasing, or add an article that covers it.")


def is_answer_sentence(text: str) -> bool:
    """A full sentence, not a heading or a list label."""
    return len(text.split()) >= MIN_ANSWER_WORDS and bool(_TERMINAL.search(text))


def choose_sentences(sentences: list[ScoredSentence], threshold: float,
                     limit: int) -> list[ScoredSentence]:
    """The best answering sentences: above the threshold, near the best, no repeats."""
    chosen: list[ScoredSentence] = []
    for sent in sentences:  # already best first
        if len(chosen) == limit or sent.score < threshold:
            break
        if chosen and sent.score < chosen[0].score - SCORE_MARGIN:
            break
        if not is_answer_sentence(sent.text):
            continue
        if any(sent.text == c.text or (sent.doc_id == c.doc_id and sent.start < c.end
                                       and c.start < sent.end) for c in chosen):
            continue
        chosen.append(sent)
    return chosen


def _home_passage(sent: ScoredSentence, passages: list[Passage]) -> Passage | None:
    """The best-ranked retrieved passage that contains the sentence."""
    for passage in passages:
        if passage.doc_id == sent.doc_id and passage.start <= sent.start \
                and sent.end <= passage.end:
            return passage
    return None


def extractive_answer(question: str, query: str, result: RetrievalResult, threshold: float,
                      limit: int, index_version: str = "") -> Answer:
    """Compose an answer from the retrieved sentences, or refuse when none answers."""
    citations: list[Citation] = []
    parts: list[str] = []
    for sent in choose_sentences(result.sentences, threshold, limit):
        passage = _home_passage(sent, result.passages)
        if passage is None:
            continue
        number = next((c.number for c in citations if c.chunk_id == passage.chunk_id), None)
        if number is None:
            number = len(citations) + 1
            citations.append(Citation(**passage.model_dump(), number=number,
                                      highlight_start=sent.start, highlight_end=sent.end))
        parts.append(f"{sent.text} [{number}]")
    text = " ".join(parts) if parts else NO_ANSWER.format(question=question.strip())
    return Answer(question=question, text=text, citations=citations, query=query,
                  generator="extractive", index_version=index_version)
