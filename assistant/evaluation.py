"""Metrics on the development question set (``tests/data/qa.jsonl``) and its conversations.

A retrieved passage (or a citation) is *right* when it comes from an expected article and
contains that article's expected verbatim phrase. Recall@k: share of answerable questions
with a right passage in the top k. MRR: mean reciprocal rank of the first right passage.
Cited right: share of answerable questions whose answer cites a right passage. Refusal:
share of unanswerable questions answered with no citation (and, reported beside it, the
share of answerable questions wrongly refused).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

DEFAULT_QA = Path(__file__).resolve().parent.parent / "tests" / "data" / "qa.jsonl"


class Span(Protocol):
    doc_id: str
    text: str


@dataclass
class QaItem:
    """One development question with the phrases a right passage contains."""

    id: str
    question: str
    answerable: bool
    answers: list[dict]


def load_qa(path: Path = DEFAULT_QA) -> list[QaItem]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [QaItem(r["id"], r["question"], r["answerable"], r["answers"]) for r in rows]


def is_right(span: Span, answers: Sequence[dict]) -> bool:
    """True when the span is from an expected article and contains its expected phrase."""
    return any(span.doc_id == a["doc_id"] and a["phrase"] in span.text for a in answers)


def first_right_rank(spans: Sequence[Span], answers: Sequence[dict]) -> int | None:
    """1-based rank of the first right span, or None."""
    return next((i for i, s in enumerate(spans, 1) if is_right(s, answers)), None)


@dataclass
class RetrievalScores:
    recall_at_k: float
    mrr: float
    misses: list[str] = field(default_factory=list)


def retrieval_scores(items: Sequence[QaItem], search: Callable[[str], Sequence[Span]],
                     k: int = 5) -> RetrievalScores:
    """Recall@k and MRR of ``search`` over the answerable questions."""
    ranks, misses = [], []
    for item in (i for i in items if i.answerable):
        rank = first_right_rank(list(search(item.question))[:k], item.answers)
        ranks.append(rank)
        if rank is None:
            misses.append(item.id)
    recall = sum(r is not None for r in ranks) / len(ranks)
    mrr = sum(1 / r for r in ranks if r) / len(ranks)
    return RetrievalScores(recall, mrr, misses)


@dataclass
class AnswerScores:
    cited_right: float
    refused_unanswerable: float
    refused_answerable: float
    p50_ms: float
    p95_ms: float
    wrong: list[str] = field(default_factory=list)


def answer_scores(items: Sequence[QaItem], ask: Callable[[str], object]) -> AnswerScores:
    """Share of answers citing a right passage, refusal rates, and answer latency."""
    cited, refused_bad, refused_good, times, wrong = 0, 0, 0, [], []
    for item in items:
        started = time.perf_counter()
        answer = ask(item.question)
        times.append((time.perf_counter() - started) * 1000)
        citations = answer.citations  # type: ignore[attr-defined]
        if not item.answerable:
            refused_bad += not citations
            if citations:
                wrong.append(item.id)
            continue
        refused_good += not citations
        if any(is_right(c, item.answers) for c in citations):
            cited += 1
        else:
            wrong.append(item.id)
    answerable = sum(i.answerable for i in items)
    unanswerable = len(items) - answerable
    times.sort()
    return AnswerScores(
        cited_right=cited / answerable,
        refused_unanswerable=refused_bad / max(unanswerable, 1),
        refused_answerable=refused_good / answerable,
        p50_ms=statistics.median(times),
        p95_ms=times[int(0.95 * (len(times) - 1))],
        wrong=wrong)


DEFAULT_CONVERSATIONS = DEFAULT_QA.with_name("conversations.jsonl")


@dataclass
class ConversationScores:
    last_turn_cited_right: float
    topic_switch_cited_right: float
    wrong: list[str] = field(default_factory=list)


def conversation_scores(ask: Callable[[str, list[dict]], object],
                        path: Path = DEFAULT_CONVERSATIONS) -> ConversationScores:
    """Share of conversations whose last turn cites a right passage, the history being the
    system's own earlier answers (as in a real chat)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    right, switches, switches_right, wrong = 0, 0, 0, []
    for row in rows:
        history: list[dict] = []
        answer = None
        for turn in row["turns"]:
            answer = ask(turn["question"], history)
            history += [{"role": "user", "content": turn["question"]},
                        {"role": "assistant", "content": answer.text}]  # type: ignore[attr-defined]
        ok = any(is_right(c, row["turns"][-1]["answers"])
                 for c in answer.citations)  # type: ignore[attr-defined]
        right += ok
        if row.get("topic_switch"):
            switches += 1
            switches_right += ok
        if not ok:
            wrong.append(row["id"])
    return ConversationScores(right / len(rows), switches_right / max(switches, 1), wrong)
