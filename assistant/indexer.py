"""Incremental indexing: decide what changed by content hash and touch only that.

For each corpus file the SHA-256 of its bytes decides added / updated / unchanged; articles
gone from the folder are removed with all their chunks. Changed articles are parsed,
chunked, tokenised and embedded in large batches (one pass, no text embedded twice), then
written article by article: Chroma first (delete-by-article, add), the catalogue last, so
a crash at any point leaves the catalogue saying "not indexed" and the next run redoes it.

Two records make that hold whatever the corpus does between the crash and the next run:
the articles a group is writing are noted in the catalogue (``writing``) before Chroma is
touched, and the next run drops them from Chroma and the catalogue before anything else;
and the index version is bumped before the first write, so the next run brings BM25 in
step even when it finds nothing else to do. It is bumped again after the last write, so a
reader that brought its BM25 in step with a half-written catalogue does so once more.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .aliases import aliases_of
from .chunking import chunk_document
from .embedders import TextEmbedder
from .ingest import CorpusFile, IngestError, file_hash, iter_corpus_files, parse_article
from .lexical import LexicalIndex, tokenize
from .schema import Chunk, Document, IndexReport, SkippedFile
from .settings import Settings
from .store import Catalog, VectorStore

CHUNK_VERSION_CHARS = 12  # 48 bits of the content hash: unique among an article's versions
ProgressCallback = Callable[[int, int], None]
WRITING = "writing"  # catalogue meta: JSON list of the articles whose write is under way


class IndexMismatchError(RuntimeError):
    """The index was built with another embedder; mixing vectors would give wrong answers."""


@dataclass
class CorpusScan:
    """What the corpus folder holds now, compared with the catalogue."""

    files: dict[str, tuple[CorpusFile, bytes, str]] = field(default_factory=dict)
    skipped: list[SkippedFile] = field(default_factory=list)


def scan_corpus(corpus_dir: Path, max_bytes: int,
                indexed: dict[str, str] | None = None) -> CorpusScan:
    """Read every candidate file once; unreadable, oversized or duplicate files are skipped.

    Of two files with the same content, the one already indexed (else the older) is kept,
    so a copy never displaces its original.
    """
    scan = CorpusScan()
    indexed = indexed or {}
    root = corpus_dir.resolve()
    readable: list[tuple[CorpusFile, bytes, str]] = []
    for item in iter_corpus_files(corpus_dir):
        reason = _unreadable_reason(item, root, max_bytes)
        if reason:
            scan.skipped.append(SkippedFile(doc_id=item.doc_id, reason=reason))
            continue
        data = item.path.read_bytes()
        readable.append((item, data, file_hash(data)))
    readable.sort(key=lambda r: (indexed.get(r[0].doc_id) != r[2], r[0].path.stat().st_mtime,
                                 r[0].doc_id))
    seen_hashes: dict[str, str] = {}
    for item, data, digest in readable:
        if digest in seen_hashes:
            scan.skipped.append(SkippedFile(
                doc_id=item.doc_id, reason=f"same content as {seen_hashes[digest]}"))
            continue
        seen_hashes[digest] = item.doc_id
        scan.files[item.doc_id] = (item, data, digest)
    scan.files = dict(sorted(scan.files.items()))
    return scan


def _unreadable_reason(item: CorpusFile, root: Path, max_bytes: int) -> str:
    """Why a file cannot be read safely, or '' when it can."""
    try:
        real = item.path.resolve(strict=True)
    except OSError:
        return "broken link"
    if not real.is_relative_to(root):
        return "link points outside the corpus folder"
    if not real.is_file():
        return "not a regular file"
    size = real.stat().st_size
    if size > max_bytes:
        return f"larger than the {max_bytes / 1e6:.0f} MB limit ({size / 1e6:.1f} MB)"
    if not os.access(real, os.R_OK):
        return "not readable"
    return ""


def chunking_signature(settings: Settings) -> str:
    """What decides chunk boundaries, ids and the text models read; an index built with
    another one is re-chunked and re-embedded.

    ``ids`` is the chunk-id format (2: the article version is part of the id).
    """
    return json.dumps({"chars": settings.chunk_chars, "overlap": settings.chunk_overlap_sentences,
                       "ids": 2, "aliases": settings.aliases}, sort_keys=True)


def chunk_version(doc: Document) -> str:
    """The article version written into its chunk ids: 12 hex digits of its content hash."""
    return doc.content_hash[:CHUNK_VERSION_CHARS]


def embedding_text(doc: Document, chunk: Chunk) -> str:
    """The text embedded for a chunk: its article's title gives it context, once."""
    if doc.title and not chunk.text.startswith(doc.title[:40]):
        return f"{doc.title}\n{chunk.text}"
    return chunk.text


class Indexer:
    """Keeps the catalogue, Chroma and BM25 in step with the corpus folder."""

    def __init__(self, settings: Settings, catalog: Catalog, vectors: VectorStore,
                 lexical: LexicalIndex, embedder: TextEmbedder):
        self.settings = settings
        self.catalog = catalog
        self.vectors = vectors
        self.lexical = lexical
        self.embedder = embedder
        self.aliases = aliases_of(settings.aliases)

    def check_embedder(self) -> None:
        """Refuse to mix embedders in one index (their vectors are not comparable)."""
        built_with = self.catalog.get_meta("embedder")
        if built_with and built_with != self.embedder.name and not self.catalog.is_empty():
            raise IndexMismatchError(
                f"the index was built with the '{built_with}' embedder, not "
                f"'{self.embedder.name}'; run `assistant index --rebuild` to rebuild it")

    def run(self, corpus_dir: Path, show_progress: bool = True,
            on_progress: ProgressCallback | None = None) -> IndexReport:
        """Bring the index in step with ``corpus_dir`` and say what changed."""
        started = time.perf_counter()
        self.check_embedder()
        self._drop_unfinished()
        max_bytes = int(self.settings.max_file_mb * 1e6)
        indexed = self.catalog.hashes()
        scan = scan_corpus(corpus_dir, max_bytes, indexed)
        report = IndexReport(skipped=list(scan.skipped))
        rechunk = self.catalog.get_meta("chunking") != chunking_signature(self.settings)
        changed: list[Document] = []
        for doc_id, (_, data, digest) in scan.files.items():
            if indexed.get(doc_id) == digest and not rechunk:
                report.unchanged.append(doc_id)
                continue
            try:
                changed.append(parse_article(doc_id, data))
            except IngestError as exc:
                report.skipped.append(SkippedFile(doc_id=doc_id, reason=str(exc)))
                continue
            (report.updated if doc_id in indexed else report.added).append(doc_id)
        report.removed = sorted(set(indexed) - {d.doc_id for d in changed} - set(report.unchanged))
        if report.changed:
            self._bump_version()
        self.vectors.delete_documents(report.removed)
        for doc_id in report.removed:
            self.catalog.remove_document(doc_id)
        report.embedded_chunks = self._write(changed, show_progress, on_progress)
        self.catalog.set_meta("embedder", self.embedder.name)
        self.catalog.set_meta("chunking", chunking_signature(self.settings))
        if report.changed:
            self._bump_version()  # again: a reader that synced BM25 mid-run syncs once more
        report.index_version = self._refresh_lexical()
        report.chunks = self.catalog.counts()[1]
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _write(self, docs: list[Document], show_progress: bool,
               on_progress: ProgressCallback | None) -> int:
        """Chunk, embed and store the changed articles; returns the number of chunks embedded."""
        pending = [(doc, chunk_document(doc.doc_id, doc.text, self.settings.chunk_chars,
                                        self.settings.chunk_overlap_sentences,
                                        version=chunk_version(doc))) for doc in docs]
        total = sum(len(chunks) for _, chunks in pending)
        done = 0
        with tqdm(total=total, desc="Embedding passages", unit="passage",
                  disable=not show_progress or total == 0, leave=False) as bar:
            for group in _groups(pending, self.settings.index_group_chunks):
                texts = [self.aliases(embedding_text(doc, c))
                         for doc, chunks in group for c in chunks]
                self._store(group, self.embedder.encode(texts))
                done += len(texts)
                bar.update(len(texts))
                if on_progress:
                    on_progress(done, total)
        return total

    def _store(self, group: list[tuple[Document, list[Chunk]]], vectors: np.ndarray) -> None:
        """Write a group of articles: new chunks into Chroma, the catalogue, then old chunks out.

        Chunk ids carry the article version, so an updated article's new chunks sit beside
        its old ones until the catalogue switches; searches keep only the chunks the
        catalogue lists, so a reader sees the old version or the new one, never a mixture.
        The old chunks are deleted last. A crash anywhere is repaired by the next run
        (``_drop_unfinished``).
        """
        chunks = [c for _, doc_chunks in group for c in doc_chunks]
        doc_ids = [doc.doc_id for doc, _ in group]
        self.catalog.set_meta(WRITING, json.dumps(doc_ids))
        previous = self.vectors.ids_of_documents(doc_ids)
        if chunks:
            self.vectors.add(chunks, vectors)
        tokens = iter(" ".join(t) for t in tokenize([self.aliases(c.text) for c in chunks]))
        now = time.time()
        for doc, doc_chunks in group:
            self.catalog.replace_document(doc, doc_chunks, [next(tokens) for _ in doc_chunks],
                                          indexed_at=now)
        current = {c.chunk_id for c in chunks}
        self.vectors.delete_ids([cid for cid in previous if cid not in current])
        self.catalog.set_meta(WRITING, "[]")

    def _drop_unfinished(self) -> None:
        """Forget the articles a crashed run was writing, in Chroma and in the catalogue.

        Chroma may hold chunks for them that the catalogue does not describe (written before
        the crash); if the file then went away or went back to its indexed content, nothing
        else would ever delete those chunks. Dropped, they are indexed again if still there.
        """
        unfinished = json.loads(self.catalog.get_meta(WRITING) or "[]")
        if not unfinished:
            return
        self._bump_version()
        self.vectors.delete_documents(unfinished)
        for doc_id in unfinished:
            self.catalog.remove_document(doc_id)
        self.catalog.set_meta(WRITING, "[]")

    def _bump_version(self) -> None:
        """A new index version, recorded before the catalogue changes (see the module doc)."""
        version = self.catalog.get_meta("version", "0")
        self.catalog.set_meta("version", str(int(version) + 1 if version.isdigit() else 1))

    def _refresh_lexical(self) -> str:
        """Bring BM25 in step when it is not at the catalogue's index version.

        Only what changed is re-counted (``LexicalIndex.sync``: a delta segment beside the
        saved base), so adding an article to a large index costs in proportion to it.
        """
        version = self.catalog.get_meta("version", "0")
        if not version.isdigit():
            self._bump_version()
            version = self.catalog.get_meta("version")
        if self.lexical.version != version or not self.lexical.base_saved:
            self.lexical.sync(self.catalog, version, chunking_signature(self.settings))
        return version


def _groups(pending: list[tuple[Document, list[Chunk]]],
            size: int) -> Iterator[list[tuple[Document, list[Chunk]]]]:
    """Consecutive articles grouped to about ``size`` chunks per embedding call."""
    group: list[tuple[Document, list[Chunk]]] = []
    count = 0
    for item in pending:
        group.append(item)
        count += len(item[1])
        if count >= size:
            yield group
            group, count = [], 0
    if group:
        yield group
