"""Hybrid retrieval: dense (Chroma) + BM25 (bm25s), reciprocal rank fusion, sentence reranking.

Dense search finds paraphrases; BM25 finds exact rare terms (names, "$142 billion") that
embeddings blur. Reciprocal rank fusion merges the two lists without calibrating their
scores. The cross-encoder then reads the question with the *sentences* of the best fused
candidates (short spans are cheap to rerank and say exactly where the answer is), only
those that BM25 finds most like the question among them; a passage's rerank score is its
best sentence's. Near-duplicate passages (overlapping
chunks of one article, copies of a paragraph) are suppressed so the top-k say k things.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LcDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .aliases import aliases_of
from .chunking import section_headings, split_sentences
from .embedders import TextEmbedder
from .lexical import LexicalIndex, best_matches_first
from .reranker import CrossEncoderReranker
from .schema import Document, Passage, version_of_chunk
from .settings import Settings
from .store import Catalog, VectorStore

SearchMode = Literal["hybrid", "dense", "lexical"]
SentenceKey = tuple[str, int, int]  # doc_id, start, end
DUPLICATE_OVERLAP = 0.5  # share of the shorter span two passages may share before one goes
DUPLICATE_JACCARD = 0.8  # word-set similarity above which two passages say the same thing
_WORD = re.compile(r"\w+")


@dataclass
class Candidate:
    """A chunk on its way through fusion and reranking."""

    chunk_id: str
    doc_id: str
    start: int
    end: int
    fused: float = 0.0
    rerank: float | None = None  # the best sentence's cross-encoder logit
    sentence_scores: list[float] = field(default_factory=list)  # all of them, best first
    rank_score: float | None = None  # its sort key once reranked (HybridSearcher._blend)

    def cut_from(self, doc: Document) -> bool:
        """True when this chunk was cut from ``doc``'s version of the article."""
        return doc.content_hash.startswith(version_of_chunk(self.chunk_id))

    @property
    def score(self) -> float:
        return self.fused if self.rerank is None else self.rerank


@dataclass(frozen=True)
class ScoredSentence:
    """A sentence of a candidate passage with its cross-encoder logit for the question."""

    doc_id: str
    start: int
    end: int
    text: str
    score: float
    context: str = ""  # what the cross-encoder read: the sentence after its predecessors


@dataclass
class RetrievalResult:
    """Passages best first, plus the scored sentences the answerer picks from."""

    passages: list[Passage]
    sentences: list[ScoredSentence] = field(default_factory=list)


def reciprocal_rank_fusion(ranked_lists: list[list[str]], k: int) -> dict[str, float]:
    """RRF (Cormack et al., 2009): each list adds 1/(k + rank) to the ids it ranks."""
    fused: dict[str, float] = {}
    for ranked in ranked_lists:
        for rank, item in enumerate(ranked, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _is_duplicate(cand: Candidate, kept: list[Candidate], words: dict[str, set[str]]) -> bool:
    """True when ``cand`` mostly repeats a passage already kept."""
    for other in kept:
        if other.doc_id == cand.doc_id:
            overlap = min(cand.end, other.end) - max(cand.start, other.start)
            shorter = min(cand.end - cand.start, other.end - other.start) or 1
            if overlap / shorter > DUPLICATE_OVERLAP:
                return True
        a, b = words[cand.chunk_id], words[other.chunk_id]
        if a and b and len(a & b) / len(a | b) > DUPLICATE_JACCARD:
            return True
    return False


class _Switched(Exception):
    """The article changed between reading its content hash and its text."""


class HybridSearcher:
    """Finds the passages that answer a question, best first."""

    def __init__(self, settings: Settings, catalog: Catalog, vectors: VectorStore,
                 lexical: LexicalIndex, embedder: TextEmbedder,
                 reranker: Callable[[], CrossEncoderReranker]):
        self.settings = settings
        self.catalog = catalog
        self.vectors = vectors
        self.lexical = lexical
        self.embedder = embedder
        self.reranker = reranker
        self.aliases = aliases_of(settings.aliases)  # models read one name for each thing
        self._document = lru_cache(maxsize=256)(self._load_document)
        # Split as chunking does, so every chunk boundary is also a sentence boundary.
        self._sentences = lru_cache(maxsize=256)(
            lambda text: split_sentences(text, max_chars=settings.chunk_chars))
        self._headings = lru_cache(maxsize=256)(
            lambda text: section_headings(text, self._sentences(text)))

    def _load_document(self, doc_id: str, content_hash: str) -> Document:
        doc = self.catalog.document(doc_id)
        if doc is None or doc.content_hash != content_hash:
            raise _Switched  # re-indexed meanwhile: never cache one version under another's key
        return doc

    def document(self, doc_id: str) -> Document | None:
        """The article as indexed now (cached per article version)."""
        try:
            return self._document(doc_id, self.catalog.content_hash(doc_id))
        except _Switched:
            return None

    def search(self, query: str, k: int, rerank_depth: int | None = None,
               mode: SearchMode = "hybrid", *, _retried: bool = False) -> RetrievalResult:
        """The top ``k`` passages for ``query``; ``rerank_depth`` candidates are reranked."""
        depth = self.settings.rerank_depth if rerank_depth is None else rerank_depth
        candidates = self._fused_candidates(query, mode, max(k, depth))
        docs, stale = self._pin_versions(candidates)
        if stale and not _retried:  # an article switched mid-search: read it again, anew
            return self.search(query, k, rerank_depth, mode, _retried=True)
        candidates = [c for c in candidates if c.doc_id in docs and c.cut_from(docs[c.doc_id])]
        texts = {c.chunk_id: docs[c.doc_id].text[c.start:c.end] for c in candidates}
        sentences = self._rerank(query, candidates[:depth], docs) if depth > 0 else []
        if depth > 0:
            key = self._blend(candidates)
            for cand in candidates[:depth]:
                cand.rank_score = key(cand)
            head = sorted(candidates[:depth], key=lambda c: c.rank_score or 0.0, reverse=True)
            candidates = head + candidates[depth:]
        kept: list[Candidate] = []
        words = {cid: _words(text) for cid, text in texts.items()}
        for cand in candidates:
            if not _is_duplicate(cand, kept, words):
                kept.append(cand)
            if len(kept) == k:
                break
        return RetrievalResult([self._passage(c, texts[c.chunk_id], docs[c.doc_id])
                                for c in kept], sentences)

    def _pin_versions(self, candidates: list[Candidate]) -> tuple[dict[str, Document], bool]:
        """Each candidate article as indexed now, read once for the whole search, and whether
        a candidate was cut from another version of it.

        A re-index beside this search may switch an article after its chunk spans were read;
        those spans would point into text they were not cut from. Every text of the search
        is read from these documents, so a result holds one version of each article.
        """
        docs: dict[str, Document] = {}
        stale = False
        for cand in candidates:
            if cand.doc_id not in docs:
                doc = self.document(cand.doc_id)
                if doc is None:
                    stale = True
                    continue
                docs[cand.doc_id] = doc
            stale = stale or not cand.cut_from(docs[cand.doc_id])
        return docs, stale

    def _blend(self, candidates: list[Candidate]) -> Callable[[Candidate], float]:
        """The sort key of reranked candidates: their fusion score plus the cross-encoder's
        order as one more reciprocal-rank list, weighted ``rerank_list_weight``, scaled
        so that 1 means first in all three lists (the passage's score).

        Ranks, not scores: the cross-encoder decides wherever its order is clear, and the
        dense and BM25 lists break its near-ties. On SciFact, where it reads claims rather
        than questions, ordering by its score alone fell below fusion alone (0.714 vs 0.731
        nDCG@10); this keeps fusion's 0.73 and the corpus MRR (docs/benchmarks.md).
        """
        head = sorted((c for c in candidates if c.rerank is not None),
                      key=lambda c: c.score, reverse=True)
        rank = {c.chunk_id: i for i, c in enumerate(head, start=1)}
        k, weight = self.settings.rrf_k, self.settings.rerank_list_weight
        best = (2 + weight) / (k + 1)
        return lambda c: (c.fused + weight / (k + rank[c.chunk_id])) / best

    def _fused_candidates(self, query: str, mode: SearchMode, need: int) -> list[Candidate]:
        ranked: list[list[str]] = []
        query = self.aliases(query)
        if mode in ("hybrid", "dense"):
            vector = self.embedder.encode([query], query=True)[0]
            n = max(need, self.settings.dense_candidates)
            ranked.append([cid for cid, _ in self.vectors.search(vector, n)])
        if mode in ("hybrid", "lexical"):
            n = max(need, self.settings.lexical_candidates)
            ranked.append([cid for cid, _ in self.lexical.search(query, n)])
        fused = reciprocal_rank_fusion(ranked, self.settings.rrf_k)
        spans = self.catalog.chunk_spans(fused)
        candidates = [Candidate(cid, *spans[cid], fused=score)
                      for cid, score in fused.items() if cid in spans]
        return sorted(candidates, key=lambda c: c.fused, reverse=True)

    def _rerank(self, query: str, candidates: list[Candidate],
                docs: dict[str, Document]) -> list[ScoredSentence]:
        """Score each distinct sentence of the candidates; a passage scores as its best one.

        Each sentence is read in its context (``_as_read``).
        """
        texts: dict[SentenceKey, str] = {}
        inputs: dict[SentenceKey, str] = {}
        owners: dict[str, list[SentenceKey]] = {}
        for cand in candidates:
            doc_text = docs[cand.doc_id].text
            sentences = self._sentences(doc_text)
            first = bisect.bisect_left(sentences, cand.start, key=lambda x: x.start)
            keys = []
            for i in range(first, len(sentences)):
                sent = sentences[i]
                if sent.end > cand.end:
                    break
                key = (cand.doc_id, sent.start, sent.end)
                keys.append(key)
                if key not in texts:
                    texts[key] = doc_text[sent.start:sent.end]
                    inputs[key] = self._as_read(doc_text, i)
            owners[cand.chunk_id] = keys
        query = self.aliases(query)
        keys = self._shortlist(query, inputs, owners)
        scores = self.reranker().score(query, [inputs[key] for key in keys])
        by_key = dict(zip(keys, (float(x) for x in scores), strict=True))
        for cand in candidates:
            cand.sentence_scores = sorted((by_key[key] for key in owners[cand.chunk_id]
                                           if key in by_key), reverse=True)
            cand.rerank = cand.sentence_scores[0] if cand.sentence_scores else -1e9
        return sorted((ScoredSentence(key[0], key[1], key[2], texts[key], by_key[key],
                                      inputs[key]) for key in keys),
                      key=lambda x: x.score, reverse=True)

    def _as_read(self, doc_text: str, i: int) -> str:
        """Sentence ``i`` as the cross-encoder reads it: after its section's heading and the
        ``sentence_context`` sentences before it (the one that says what "it" is).

        The preceding sentence lifted Recall@5 from 0.92 to 0.96 and right citations from
        0.81 to 0.91 on the development set; the heading, right citations from 0.935 to 0.961
        (docs/benchmarks.md, "Section headings").
        """
        sentences = self._sentences(doc_text)
        before = sentences[max(0, i - self.settings.sentence_context):i]
        heading = self._headings(doc_text)[i] if self.settings.section_headings else None
        if heading is not None and sentences[heading] not in before:
            before = [sentences[heading], *before]
        return self.aliases(" ".join(doc_text[s.start:s.end] for s in [*before, sentences[i]]))

    def _shortlist(self, query: str, inputs: dict[SentenceKey, str],
                   owners: dict[str, list[SentenceKey]]) -> list[SentenceKey]:
        """The sentences the cross-encoder reads: at most ``rerank_sentences`` of them, the
        best BM25 matches for the query among the candidates' sentences, and at least the
        best match of each candidate so that every passage gets a rerank score.

        The cross-encoder is nearly all of an answer's cost, and the sentence that answers
        a question shares its rare words far more often than not: on the development set,
        reading the best 20 of about 55 sentences changed no answer and no top 5 while
        reading 0.44 of the word pieces (docs/benchmarks.md, "Sentence shortlist").
        """
        keys = list(inputs)
        budget = self.settings.rerank_sentences
        if budget <= 0 or len(keys) <= budget:
            return keys
        order = [keys[i] for i in best_matches_first(query, [inputs[key] for key in keys])]
        place = {key: i for i, key in enumerate(order)}
        chosen = {min(owned, key=place.__getitem__) for owned in owners.values() if owned}
        for key in order:
            if len(chosen) >= budget:
                break
            chosen.add(key)
        return [key for key in keys if key in chosen]

    def rescore(self, question: str, sentences: list[ScoredSentence]) -> list[ScoredSentence]:
        """The same sentences scored against another question (a part of a compound one)."""
        scores = self.reranker().score(self.aliases(question),
                                       [s.context or self.aliases(s.text) for s in sentences])
        rescored = [replace(s, score=float(x)) for s, x in zip(sentences, scores, strict=True)]
        return sorted(rescored, key=lambda x: x.score, reverse=True)

    def passage_covering(self, doc_id: str, start: int, end: int) -> Passage | None:
        """The indexed passage of ``doc_id`` that contains ``[start, end)``, if any."""
        row = self.catalog.chunk_covering(doc_id, start, end)
        doc = self.document(doc_id)
        if row is None or doc is None:
            return None
        cand = Candidate(row[0], doc_id, row[1], row[2], fused=1.0)
        if not cand.cut_from(doc):
            return None
        return self._passage(cand, doc.text[cand.start:cand.end], doc)

    def _passage(self, cand: Candidate, text: str, doc: Document) -> Passage:
        score = cand.rank_score if cand.rank_score is not None else cand.fused
        return Passage(
            doc_id=cand.doc_id, text=text, start=cand.start, end=cand.end,
            score=round(score, 6), chunk_id=cand.chunk_id, title=doc.title,
            author=doc.author, date=doc.date, source=doc.source)


class PassageRetriever(BaseRetriever):
    """The hybrid searcher as a LangChain retriever, for use in LangChain chains."""

    searcher: HybridSearcher
    k: int = 5

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def _get_relevant_documents(self, query: str, *,
                                run_manager: CallbackManagerForRetrieverRun) -> list[LcDocument]:
        passages = self.searcher.search(query, self.k).passages
        return [LcDocument(page_content=p.text, metadata=p.model_dump(exclude={"text"}))
                for p in passages]
