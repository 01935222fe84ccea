"""Citation verification: after any generator writes, check every sentence against its sources.

An LLM may cite the wrong source, a source that does not exist, or nothing at all. Each
sentence of the answer is scored against each source it was given with the cross-encoder
(the model that already ranks passages; its logit says how well a passage backs a text).
A marker stays only when its passage supports the sentence; a marker to no source is
dropped; a sentence without a surviving marker gets the best supporting source when one
clears the threshold (so a model that forgets to cite is still traceable), and otherwise
it is listed in ``Answer.unsupported`` and shown as such. Numbers are then reassigned by
first use, exactly as for the extractive answerer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .answering import CitedText
from .chunking import split_sentences
from .lexical import tokenize
from .schema import Passage

Scorer = Callable[[str, list[str]], np.ndarray]  # (claim, passages) -> one logit each
Highlighter = Callable[[Passage, str], tuple[int, int]]  # the span of a passage a claim used

MIN_CLAIM_WORDS = 4  # "Sure." or "In short:" asserts nothing that needs a source
_MARKER_GROUP = r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]"
_MARKERS = re.compile(r"\s*" + _MARKER_GROUP)
_NUMBER = re.compile(r"\d+")
# "… 2018. [1]" -> "… 2018 [1]." so a marker stays with the sentence it follows.
_MARKER_AFTER_STOP = re.compile(r"([.!?])((?:\s*" + _MARKER_GROUP + r")+)")
_COMPLETE = re.compile(r"[.!?…\"”’)]\s*$")
_REFUSAL = re.compile(r"\b(don't|do not|does not|doesn't|cannot|can't)\s+(answer|say|mention|"
                      r"cover|contain|provide)", re.IGNORECASE)


@dataclass
class Claim:
    """One sentence of a generated answer and the source numbers it cited."""

    text: str
    cited: list[int] = field(default_factory=list)

    @property
    def needs_source(self) -> bool:
        return len(self.text.split()) >= MIN_CLAIM_WORDS


def split_claims(text: str) -> list[Claim]:
    """The answer's sentences, each with the ``[n]`` numbers written in or right after it."""
    text = _MARKER_AFTER_STOP.sub(lambda m: m.group(2) + m.group(1), text.strip())
    claims = []
    for span in split_sentences(text, max_chars=max(len(text), 1)):
        sentence = text[span.start:span.end]
        numbers = [int(n) for group in _MARKERS.findall(sentence) for n in _NUMBER.findall(group)]
        bare = " ".join(_MARKERS.sub("", sentence).split())
        if bare:
            claims.append(Claim(bare, list(dict.fromkeys(numbers))))
    return claims


def is_refusal(text: str) -> bool:
    """Whether the model said the sources do not answer."""
    return bool(_REFUSAL.search(text))


def coverage(claim_tokens: list[str], source_tokens: list[str]) -> float:
    """Share of the claim's content words (stemmed) that the source contains.

    The cross-encoder judges relevance, so a sentence on the right topic with a wrong name
    or number still scores well; a swapped name or number is a word the source lacks.
    """
    if not claim_tokens:
        return 1.0
    present = set(source_tokens)
    return sum(t in present for t in claim_tokens) / len(claim_tokens)


_SPECIFIC = re.compile(r"\d[\d,.]*\d|\d|(?<!^)(?<![.!?]\s)\b[A-Z][\w\-’']+")


def specifics(text: str) -> set[str]:
    """Numbers and mid-sentence capitalised names: the facts a wrong answer gets wrong."""
    return {m.group().replace(",", "").lower().rstrip(".") for m in _SPECIFIC.finditer(text)}


def missing_specifics(claim: str, source: str) -> set[str]:
    """The claim's numbers and names that the source never mentions."""
    lowered = source.replace(",", "").lower()
    return {s for s in specifics(claim) if not _mentions(lowered, s)}


def _mentions(lowered_source: str, specific: str) -> bool:
    """A name as a substring ("Russia" in "Russian"); a number only as a whole number."""
    if not specific[0].isdigit():
        return specific in lowered_source
    return re.search(rf"(?<![\d.]){re.escape(specific)}(?![\d]|\.\d)", lowered_source) is not None


@dataclass
class VerifiedText:
    """The verified answer: cited sentences, their citations, and the unsupported ones."""

    cited: CitedText
    unsupported: list[str]


@dataclass
class SupportScores:
    """How well each source backs one claim, by both signals."""

    logits: np.ndarray
    coverages: np.ndarray
    exact: np.ndarray  # True where the source mentions every number and name of the claim


class CitationVerifier:
    """Keeps the markers that sources support, adds missing ones, flags the rest."""

    def __init__(self, scorer: Scorer, min_score: float, min_coverage: float):
        self.scorer = scorer
        self.min_score = min_score
        self.min_coverage = min_coverage

    def scores(self, claim: str, sources: list[Passage]) -> SupportScores:
        """Cross-encoder logit and word coverage of each source for ``claim``."""
        tokens = tokenize([claim, *(s.text for s in sources)])
        return SupportScores(self.scorer(claim, [s.text for s in sources]),
                             np.array([coverage(tokens[0], t) for t in tokens[1:]]),
                             np.array([not missing_specifics(claim, s.text) for s in sources],
                                      dtype=bool))

    def passes(self, found: SupportScores) -> np.ndarray:
        """Which sources back the claim by all three signals."""
        return ((found.logits >= self.min_score) & (found.coverages >= self.min_coverage)
                & found.exact)

    def supported(self, claim: str, sources: list[Passage]) -> np.ndarray:
        """Whether each source supports ``claim``."""
        return self.passes(self.scores(claim, sources))

    def verify(self, text: str, sources: list[Passage], highlight: Highlighter) -> VerifiedText:
        """Check ``text`` (markers numbered 1..len(sources)) against ``sources``."""
        cited, unsupported = CitedText(), []
        for claim in _distinct(split_claims(text)):
            if not claim.needs_source:
                cited.parts.append(claim.text)
                continue
            backing = self._backing(claim, sources)
            numbers = [cited.number(sources[i], *highlight(sources[i], claim.text))
                       for i in backing]
            cited.parts.append(claim.text + "".join(f" [{n}]" for n in numbers))
            if not numbers:
                unsupported.append(claim.text)
        return VerifiedText(cited, unsupported)

    def _backing(self, claim: Claim, sources: list[Passage]) -> list[int]:
        """Indexes of the sources that support the claim: its own valid markers that pass,
        else the best passing source, else none."""
        if not sources:
            return []
        found = self.scores(claim.text, sources)
        passing = self.passes(found)
        kept = [n - 1 for n in claim.cited if 1 <= n <= len(sources) and passing[n - 1]]
        if kept or not passing.any():
            return kept
        return [int(np.argmax(np.where(passing, found.logits, -np.inf)))]


def _distinct(claims: list[Claim]) -> list[Claim]:
    """Claims without repeats, and without a last sentence the token limit cut off."""
    seen: set[str] = set()
    distinct = [c for c in claims if not (c.text in seen or seen.add(c.text))]
    if len(distinct) > 1 and not _COMPLETE.search(distinct[-1].text):
        distinct.pop()
    return distinct
