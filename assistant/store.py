"""Persistence: the Chroma vector store for passages and a SQLite catalogue of articles.

Chroma holds one record per chunk (its embedding, its text and its span). The catalogue
(``index/catalog.sqlite3``) holds each article's text, metadata and content hash, the
chunk spans and their BM25 tokens, and the index's own facts (which embedder built it,
the index version). SQLite transactions make each article's update all-or-nothing there;
Chroma writes are idempotent (delete-by-article, then add), so a crash between the two is
repaired by the next run.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from .schema import Chunk, Document

COLLECTION = "passages"
CATALOG_FILE = "catalog.sqlite3"
CHROMA_DIR = "chroma"
WRITE_BATCH = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, title TEXT, author TEXT, date TEXT, source TEXT,
    text TEXT NOT NULL, content_hash TEXT NOT NULL, indexed_at REAL
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, idx INTEGER NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL, tokens TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class StoreError(RuntimeError):
    """The index or the Chroma server cannot be used; the message says what to do."""


class Catalog:
    """SQLite catalogue of indexed articles and chunks (thread-safe, one connection)."""

    def __init__(self, index_dir: Path):
        index_dir.mkdir(parents=True, exist_ok=True)
        self.path = index_dir / CATALOG_FILE
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get_meta(self, key: str, default: str = "") -> str:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def hashes(self) -> dict[str, str]:
        """doc_id -> content hash of every indexed article."""
        with self._lock:
            return dict(self._db.execute("SELECT doc_id, content_hash FROM documents"))

    def content_hash(self, doc_id: str) -> str:
        """The content hash of the indexed version of ``doc_id`` ('' when not indexed)."""
        with self._lock:
            row = self._db.execute("SELECT content_hash FROM documents WHERE doc_id=?",
                                   (doc_id,)).fetchone()
        return row[0] if row else ""

    def document(self, doc_id: str) -> Document | None:
        with self._lock:
            row = self._db.execute(
                "SELECT doc_id, title, author, date, source, text, content_hash "
                "FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        if row is None:
            return None
        keys = ("doc_id", "title", "author", "date", "source", "text", "content_hash")
        return Document(**dict(zip(keys, row, strict=True)))

    def document_rows(self) -> list[dict]:
        """Title, author, date, chunk count and time of indexing of every article, by title."""
        with self._lock:
            rows = self._db.execute(
                "SELECT d.doc_id, d.title, d.author, d.date, d.source, d.indexed_at, "
                "COUNT(c.chunk_id) FROM documents d LEFT JOIN chunks c ON c.doc_id = d.doc_id "
                "GROUP BY d.doc_id ORDER BY d.title").fetchall()
        keys = ("doc_id", "title", "author", "date", "source", "indexed_at", "chunks")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def replace_document(self, doc: Document, chunks: Sequence[Chunk], tokens: Sequence[str],
                         indexed_at: float) -> None:
        """Store an article and its chunks in one transaction, replacing any older version."""
        with self._lock, self._transaction():
            self._delete(doc.doc_id)
            self._db.execute(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?)",
                (doc.doc_id, doc.title, doc.author, doc.date, doc.source, doc.text,
                 doc.content_hash, indexed_at))
            self._db.executemany(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?)",
                [(c.chunk_id, c.doc_id, c.index, c.start, c.end, t)
                 for c, t in zip(chunks, tokens, strict=True)])

    def remove_document(self, doc_id: str) -> None:
        with self._lock, self._transaction():
            self._delete(doc_id)

    def _delete(self, doc_id: str) -> None:
        self._db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
        self._db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))

    def _transaction(self):
        db = self._db

        class _Tx:
            def __enter__(self):
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self, exc_type, *_):
                db.execute("ROLLBACK" if exc_type else "COMMIT")

        return _Tx()

    def chunk_ids(self) -> list[str]:
        """Every chunk id, in a stable order."""
        with self._lock:
            return [row[0] for row in
                    self._db.execute("SELECT chunk_id FROM chunks ORDER BY chunk_id")]

    def chunk_tokens(self, chunk_ids: Sequence[str] | None = None,
                     ) -> tuple[list[str], list[list[str]]]:
        """Chunk ids with their BM25 tokens: all of them in a stable order, or those given
        (the ones that exist, in the order given)."""
        if chunk_ids is None:
            with self._lock:
                rows = list(self._db.execute(
                    "SELECT chunk_id, tokens FROM chunks ORDER BY chunk_id"))
        else:
            found = dict(self._rows_for("chunk_id, tokens", chunk_ids))
            rows = [(cid, found[cid]) for cid in chunk_ids if cid in found]
        return [cid for cid, _ in rows], [joined.split(" ") if joined else []
                                          for _, joined in rows]

    def _rows_for(self, columns: str, chunk_ids: Iterable[str]) -> list[tuple]:
        """``columns`` of the chunks with these ids, queried in batches SQLite accepts."""
        ids = list(chunk_ids)
        rows: list[tuple] = []
        with self._lock:
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                marks = ",".join("?" * len(part))
                rows += self._db.execute(
                    f"SELECT {columns} FROM chunks WHERE chunk_id IN ({marks})", part)
        return rows

    def chunk_spans(self, chunk_ids: Iterable[str]) -> dict[str, tuple[str, int, int]]:
        """chunk_id -> (doc_id, start, end) for the ids given that exist."""
        return {row[0]: (row[1], row[2], row[3])
                for row in self._rows_for("chunk_id, doc_id, start, end", chunk_ids)}

    def chunk_covering(self, doc_id: str, start: int, end: int) -> tuple[str, int, int] | None:
        """(chunk_id, start, end) of the first chunk of ``doc_id`` that contains the span."""
        with self._lock:
            return self._db.execute(
                "SELECT chunk_id, start, end FROM chunks WHERE doc_id=? AND start<=? AND end>=? "
                "ORDER BY idx LIMIT 1", (doc_id, start, end)).fetchone()

    def is_empty(self) -> bool:
        """True when no chunk is indexed (a cheap check for every question)."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM chunks LIMIT 1").fetchone() is None

    def counts(self) -> tuple[int, int]:
        """(articles, chunks) in the catalogue."""
        with self._lock:
            docs = self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return docs, chunks


def open_chroma(index_dir: Path, chroma_url: str | None):
    """The embedded Chroma store under ``index/chroma``, or a client of a Chroma server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if not chroma_url:
        return chromadb.PersistentClient(path=str(index_dir / CHROMA_DIR), settings=chroma_settings)
    url = urlparse(chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise StoreError(
            f"ASSISTANT_CHROMA_URL must look like http://HOST:PORT, not '{chroma_url}'")
    try:
        client = chromadb.HttpClient(
            host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https", settings=chroma_settings)
        client.heartbeat()
    except Exception as exc:  # chromadb raises many types for a dead server
        raise StoreError(f"cannot reach the Chroma server at {chroma_url} "
                         f"(start it with: chroma run --path DIR --port PORT)") from exc
    return client


class VectorStore:
    """The Chroma collection of passage embeddings (cosine space; we always pass vectors)."""

    def __init__(self, client, name: str = COLLECTION):
        self.client = client
        self.collection = client.get_or_create_collection(
            name, configuration={"hnsw": {"space": "cosine", "ef_search": 100}},
            embedding_function=None)

    def add(self, chunks: Sequence[Chunk], embeddings: np.ndarray) -> None:
        for i in range(0, len(chunks), WRITE_BATCH):
            part = chunks[i:i + WRITE_BATCH]
            self.collection.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=embeddings[i:i + WRITE_BATCH],
                documents=[c.text for c in part],
                metadatas=[{"doc_id": c.doc_id, "index": c.index, "start": c.start, "end": c.end}
                           for c in part])

    def delete_documents(self, doc_ids: list[str]) -> None:
        """Delete every chunk of these articles in one call."""
        if doc_ids:
            self.collection.delete(where={"doc_id": {"$in": doc_ids}})

    def ids_of_documents(self, doc_ids: list[str]) -> list[str]:
        """Every chunk id Chroma holds for these articles, in one call."""
        if not doc_ids:
            return []
        return self.collection.get(where={"doc_id": {"$in": doc_ids}}, include=[])["ids"]

    def delete_ids(self, chunk_ids: list[str]) -> None:
        if chunk_ids:
            self.collection.delete(ids=chunk_ids)

    def count(self) -> int:
        return self.collection.count()

    def search(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) of the ``n`` nearest chunks, best first."""
        # Chroma returns fewer results when the collection holds fewer than n.
        result = self.collection.query(
            query_embeddings=[vector], n_results=n, include=["distances"])
        return [(cid, 1.0 - dist)
                for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)]

    def ids_for(self, doc_id: str) -> list[str]:
        return self.collection.get(where={"doc_id": doc_id}, include=[])["ids"]
