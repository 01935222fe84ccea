"""The BM25 side of hybrid search, with bm25s, kept in step with the catalogue incrementally.

Tokens (lower-cased, English stop words removed, Snowball-stemmed) are computed once per
chunk when its article is indexed and kept in the catalogue, so BM25 never re-reads or
re-tokenises an article.

A bm25s index cannot take documents once built, and rebuilding it over 100k passages for
every new article costs seconds. So BM25 is kept in two segments, as Lucene does:

- the **base**, built from every chunk at some point and saved under ``index/bm25``;
- the **delta**, the chunks added since, rebuilt in memory on every change (its cost is
  proportional to what changed). It is scored with the statistics of base and delta
  together (document count, document frequencies, average length), so a new article's
  scores compare with the base's as if they had been indexed together;
- chunks removed since the base was built are masked out of its scores (``weight_mask``).

When the delta and the removals reach ``compact_share`` of the base, the base is rebuilt
from every chunk (compaction): one rebuild per ~10 % of growth keeps the cost per article
constant on average. Only the base is saved; the delta and the mask are derived from the
catalogue at every sync, which is what keeps BM25 in step with it after any crash.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import bm25s
import numpy as np
from bm25s import scoring

from .store import Catalog

BM25_DIR = "bm25"
META_FILE = "segment.json"


@cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


_STEMMER_LOCK = threading.Lock()  # a PyStemmer object is not safe to share across threads


def tokenize(texts: list[str]) -> list[list[str]]:
    """BM25 tokens of each text (also used for queries, so both sides match)."""
    with _STEMMER_LOCK:
        return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=False,
                              show_progress=False)


def best_matches_first(query: str, texts: list[str]) -> list[int]:
    """Positions of ``texts``, best BM25 match for ``query`` first, scored among ``texts``
    alone (their own document frequencies), ties in the order given.

    This is the cheap first look that decides which sentences the cross-encoder reads: a
    few dozen texts index in about a millisecond, and rarity within the candidates is what
    tells the sentence that names the asked-for thing from its neighbours.
    """
    tokens = tokenize(texts)
    if not any(tokens):
        return list(range(len(texts)))
    bm25 = bm25s.BM25()
    bm25.index(tokens, show_progress=False)
    known = [t for t in tokenize([query])[0] if t in bm25.vocab_dict]
    if not known:
        return list(range(len(texts)))
    scores = bm25.get_scores(known)
    return sorted(range(len(texts)), key=lambda i: -scores[i])


@dataclass(frozen=True)
class CorpusStats:
    """What BM25's idf and length normalisation need from the corpus a segment belongs to."""

    documents: int
    average_length: float
    document_frequency: dict[str, int]


class DeltaBM25(bm25s.BM25):
    """A bm25s index whose scores use statistics of a larger corpus (base + this delta).

    bm25s documents ``build_index_from_ids`` as the method to override to build the index
    another way; this override only swaps in the given corpus statistics.
    """

    def __init__(self, stats: CorpusStats):
        super().__init__()
        self.stats = stats
        self._token_of_id: dict[int, str] = {}

    def index_tokens(self, corpus_tokens: list[list[str]]) -> None:
        vocab = {token: i for i, token in enumerate(dict.fromkeys(
            t for doc in corpus_tokens for t in doc))}
        self._token_of_id = {i: token for token, i in vocab.items()}
        ids = [[vocab[t] for t in doc] for doc in corpus_tokens]
        self.index((ids, vocab), create_empty_token=False, show_progress=False)

    def build_index_from_ids(self, unique_token_ids, corpus_token_ids, show_progress=True,
                             leave_progress=False):
        self.nonoccurrence_array = None  # only BM25L/BM25+ use it; we use bm25s's default
        local_df = scoring._calculate_doc_freqs(corpus_token_ids, unique_token_ids,
                                                show_progress=False)
        idf_of = scoring._select_idf_scorer(self.idf_method)
        idf = np.zeros(len(unique_token_ids), dtype=self.dtype)
        for token_id, df in local_df.items():
            if df:
                token = self._token_of_id[token_id]
                idf[token_id] = idf_of(self.stats.document_frequency.get(token, df),
                                       N=self.stats.documents)
        data, rows, cols = scoring._build_scores_and_indices_for_matrix(
            corpus_token_ids=corpus_token_ids, idf_array=idf,
            avg_doc_len=self.stats.average_length, doc_frequencies=local_df, k1=self.k1,
            b=self.b, delta=self.delta, nonoccurrence_array=None, method=self.method,
            dtype=self.dtype, int_dtype=self.int_dtype, show_progress=False)
        data, indices, indptr = self._np_csc(data=data, rows=rows, cols=cols,
                                             shape=(len(corpus_token_ids), len(idf)))
        return {"data": data.astype(self.dtype), "indices": indices, "indptr": indptr,
                "num_docs": len(corpus_token_ids)}


@dataclass
class Segments:
    """One consistent view of BM25: swapped in whole, so a search never sees half a sync."""

    base: bm25s.BM25 | None = None
    base_ids: list[str] = field(default_factory=list)
    base_stats: CorpusStats = field(default_factory=lambda: CorpusStats(0, 0.0, {}))
    signature: str = ""
    alive: np.ndarray | None = None  # 1.0 for base chunks still indexed, 0.0 for removed ones
    delta: DeltaBM25 | None = None
    delta_ids: list[str] = field(default_factory=list)
    version: str = ""

    @property
    def live_ids(self) -> list[str]:
        if self.alive is None:
            base = self.base_ids
        else:
            base = [cid for cid, keep in zip(self.base_ids, self.alive, strict=True) if keep]
        return base + self.delta_ids


def build_base(chunk_ids: list[str], tokens: list[list[str]]) -> tuple[bm25s.BM25 | None,
                                                                       CorpusStats]:
    """A plain bm25s index over every chunk, with the statistics a delta needs."""
    if not chunk_ids:
        return None, CorpusStats(0, 0.0, {})
    base = bm25s.BM25()
    base.index(tokens, show_progress=False)
    average = float(np.mean([len(t) for t in tokens]))
    return base, CorpusStats(len(tokens), average, _document_frequency(base))


def _document_frequency(base: bm25s.BM25) -> dict[str, int]:
    """token -> number of chunks holding it: the non-zeros of its column of scores."""
    frequencies = np.diff(np.asarray(base.scores["indptr"]))
    return {token: int(frequencies[col]) for token, col in base.vocab_dict.items()
            if col < len(frequencies) and frequencies[col]}


class LexicalIndex:
    """BM25 over chunk ids: a saved base segment plus an in-memory delta (module doc)."""

    def __init__(self, index_dir: Path, compact_share: float = 0.1):
        self.folder = index_dir / BM25_DIR
        self.compact_share = compact_share
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._segments = Segments()
        self._base_on_disk = False  # False while the base in use was built but not saved
        self.last_sync = ""  # "delta" or "compaction": what the last sync did (for reports)

    @property
    def version(self) -> str:
        """The index version this BM25 was last brought in step with."""
        return self._segments.version

    @property
    def base_saved(self) -> bool:
        """False when the base in use exists only in memory (a reader built it)."""
        return self._base_on_disk

    @property
    def chunk_ids(self) -> list[str]:
        """Every chunk id BM25 can find now (base chunks not removed, then the delta's)."""
        return self._segments.live_ids

    def sync(self, catalog: Catalog, version: str, signature: str, *, save: bool = True) -> None:
        """Bring BM25 in step with the catalogue's chunks.

        ``signature`` names how chunks were cut (chunk ids only mean the same text under one
        signature); a saved base of another signature is rebuilt. ``save=False`` is for
        readers: they never write the base, so only the indexer's process does.
        """
        with self._sync_lock:
            current = self._segments
            if current.version == version and current.signature == signature and (
                    self._base_on_disk or not save):
                return  # another thread brought it in step meanwhile
            if not current.signature:
                loaded = self._load()
                current, self._base_on_disk = (loaded, True) if loaded else (current, False)
            segments = None
            if self._base_on_disk or not save:
                segments = self._with_delta(current, catalog.chunk_ids(), catalog, signature)
            if segments is None:
                ids, tokens = catalog.chunk_tokens()
                base, stats = build_base(ids, tokens)
                segments = Segments(base, ids, stats, signature)
                if save:
                    self._save(segments)
                self._base_on_disk = save
                self.last_sync = "compaction"
            else:
                self.last_sync = "delta"
            segments.version = version
            with self._lock:
                self._segments = segments

    def clear(self) -> None:
        """Forget the saved base (``--rebuild``): the next sync builds a new one."""
        with self._sync_lock, self._lock:
            shutil.rmtree(self.folder, ignore_errors=True)
            self._segments = Segments()
            self._base_on_disk = False

    def _with_delta(self, current: Segments, live_ids: list[str], catalog: Catalog,
                    signature: str) -> Segments | None:
        """``current``'s base with a delta and removals for ``live_ids``; None to compact."""
        if current.base is None or current.signature != signature:
            return None
        in_base = set(current.base_ids)
        added = [cid for cid in live_ids if cid not in in_base]
        live = set(live_ids)
        alive = np.fromiter((cid in live for cid in current.base_ids), dtype=np.float32,
                            count=len(current.base_ids))
        removed = len(current.base_ids) - int(alive.sum())
        if len(added) + removed > self.compact_share * len(current.base_ids):
            return None
        delta = None
        if added:
            ids, tokens = catalog.chunk_tokens(added)
            delta = DeltaBM25(merged_stats(current.base_stats, tokens))
            delta.index_tokens(tokens)
            added = ids
        return Segments(current.base, current.base_ids, current.base_stats, signature,
                        alive if removed else None, delta, added)

    def _load(self) -> Segments | None:
        """The saved base, or None when there is none (or it is unreadable or old)."""
        try:
            meta = json.loads((self.folder / META_FILE).read_text())
            base = bm25s.BM25.load(str(self.folder), show_progress=False) \
                if meta["chunk_ids"] else None
            stats = CorpusStats(meta["documents"], meta["average_length"],
                                _document_frequency(base) if base else {})
            return Segments(base, meta["chunk_ids"], stats, meta["signature"])
        except (OSError, ValueError, KeyError):
            return None

    def _save(self, segments: Segments) -> None:
        """Write the base to a temporary folder, then rename it into place."""
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=BM25_DIR + ".", dir=self.folder.parent))
        if segments.base is not None:
            segments.base.save(str(tmp), show_progress=False)
        stats = segments.base_stats
        (tmp / META_FILE).write_text(json.dumps({
            "signature": segments.signature, "chunk_ids": segments.base_ids,
            "documents": stats.documents, "average_length": stats.average_length}))
        old = Path(tempfile.mkdtemp(prefix=BM25_DIR + ".old.", dir=self.folder.parent))
        if self.folder.exists():
            self.folder.replace(old / BM25_DIR)
        tmp.replace(self.folder)
        shutil.rmtree(old, ignore_errors=True)

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """(chunk_id, BM25 score) of the best ``n`` chunks with a positive score."""
        with self._lock:
            segments = self._segments
        query_tokens = tokenize([query])[0]
        hits = _top(segments.base, segments.base_ids, query_tokens, n, segments.alive)
        hits += _top(segments.delta, segments.delta_ids, query_tokens, n, None)
        return sorted(hits, key=lambda hit: hit[1], reverse=True)[:n]


def merged_stats(base: CorpusStats, tokens: list[list[str]]) -> CorpusStats:
    """Statistics of the base and the delta's chunks taken together (document frequencies
    only for the delta's own tokens: the only ones its scores look up)."""
    df: dict[str, int] = {}
    for doc in tokens:
        for token in set(doc):
            df[token] = df.get(token, base.document_frequency.get(token, 0)) + 1
    documents = base.documents + len(tokens)
    total = base.average_length * base.documents + sum(len(doc) for doc in tokens)
    return CorpusStats(documents, total / documents if documents else 0.0, df)


def _top(segment: bm25s.BM25 | None, chunk_ids: list[str], query_tokens: list[str], n: int,
         mask: np.ndarray | None) -> list[tuple[str, float]]:
    """The best ``n`` (chunk_id, score) of one segment, removed chunks masked out."""
    if segment is None or not chunk_ids:
        return []
    known = [t for t in query_tokens if t in segment.vocab_dict]
    if not known:
        return []
    docs, scores = segment.retrieve([known], k=min(n, len(chunk_ids)), show_progress=False,
                                    n_threads=1, weight_mask=mask)
    return [(chunk_ids[int(d)], float(s))
            for d, s in zip(docs[0], scores[0], strict=True) if s > 0 and np.isfinite(s)]
