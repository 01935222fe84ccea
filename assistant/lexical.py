"""The BM25 side of hybrid search, with bm25s.

Tokens (lower-cased, English stop words removed, Snowball-stemmed) are computed once per
chunk when its article is indexed and kept in the catalogue, so keeping BM25 in step after
a change only re-counts cached tokens instead of re-reading and re-tokenising every chunk.
The index is saved under ``index/bm25`` (written to a temporary folder, then renamed) and
tagged with the index version it was built for.
"""

from __future__ import annotations

import json
import shutil
import threading
from functools import cache
from pathlib import Path

import bm25s
import numpy as np

BM25_DIR = "bm25"
IDS_FILE = "chunk_ids.json"


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


class LexicalIndex:
    """A BM25 index over chunk ids, rebuilt from cached tokens and persisted on disk."""

    def __init__(self, index_dir: Path):
        self.folder = index_dir / BM25_DIR
        self._lock = threading.RLock()
        self.retriever: bm25s.BM25 | None = None
        self.chunk_ids: list[str] = []
        self.version = ""

    def load(self) -> bool:
        """Load the saved index; False when there is none (or it is unreadable)."""
        ids_file = self.folder / IDS_FILE
        if not ids_file.exists():
            return False
        try:
            saved = json.loads(ids_file.read_text())
            retriever = bm25s.BM25.load(str(self.folder), show_progress=False) \
                if saved["chunk_ids"] else None
        except (OSError, ValueError, KeyError):
            return False
        with self._lock:
            self.retriever, self.chunk_ids, self.version = (
                retriever, saved["chunk_ids"], saved.get("version", ""))
        return True

    def rebuild(self, chunk_ids: list[str], tokens: list[list[str]], version: str) -> None:
        """Build from cached tokens, save atomically, and swap it in for searches."""
        retriever = None
        if chunk_ids:
            retriever = bm25s.BM25()
            retriever.index(tokens, show_progress=False)
        tmp = self.folder.with_name(BM25_DIR + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if retriever is not None:
            retriever.save(str(tmp), show_progress=False)
        (tmp / IDS_FILE).write_text(json.dumps({"version": version, "chunk_ids": chunk_ids}))
        old = self.folder.with_name(BM25_DIR + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.folder.exists():
            self.folder.rename(old)
        tmp.rename(self.folder)
        shutil.rmtree(old, ignore_errors=True)
        with self._lock:
            self.retriever, self.chunk_ids, self.version = retriever, chunk_ids, version

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """(chunk_id, BM25 score) of the best ``n`` chunks with a positive score."""
        with self._lock:
            retriever, chunk_ids = self.retriever, self.chunk_ids
        query_tokens = [t for t in tokenize([query])[0] if t in (retriever.vocab_dict
                                                                  if retriever else {})]
        if retriever is None or not query_tokens:
            return []
        n = min(n, len(chunk_ids))
        docs, scores = retriever.retrieve([query_tokens], k=n, show_progress=False, n_threads=1)
        return [(chunk_ids[int(d)], float(s))
                for d, s in zip(docs[0], scores[0], strict=True) if s > 0 and np.isfinite(s)]
