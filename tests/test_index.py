"""Incremental indexing on a real Chroma store and the real embedding model."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant
from assistant.indexer import IndexMismatchError

NEW_ARTICLE = """Rupee Trade Grows

Author: Test Writer

Published: March 3, 2026

India and the United Arab Emirates settled a record 4,321 crore rupees of oil trade in
national currencies last quarter, officials in Mumbai said.
"""


def chunk_ids_in_chroma(a: Assistant) -> set[str]:
    return set(a.vectors.collection.get(include=[])["ids"])


def assert_consistent(a: Assistant) -> None:
    """Catalogue, Chroma and BM25 hold exactly the same chunks."""
    catalog_ids, _ = a.catalog.chunk_tokens()
    assert set(catalog_ids) == chunk_ids_in_chroma(a)
    assert sorted(a.lexical.chunk_ids) == sorted(catalog_ids)
    assert a.lexical.version == a.index_version


def test_first_index_then_noop(corpus_copy: Path, tmp_path: Path):
    a = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    first = a.index()
    assert len(first.added) == 5 and first.chunks > 20
    assert first.chunks == first.embedded_chunks == a.vectors.count()
    again = a.index()
    assert not again.changed and len(again.unchanged) == 5 and again.embedded_chunks == 0
    assert again.index_version == first.index_version
    assert_consistent(a)


def test_add_update_remove_touch_only_what_changed(corpus_copy: Path, tmp_path: Path):
    a = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    a.index()
    (corpus_copy / "rupee-trade.txt").write_text(NEW_ARTICLE)
    added = a.index()
    assert added.added == ["rupee-trade.txt"] and len(added.unchanged) == 5
    assert added.embedded_chunks == len(a.vectors.ids_for("rupee-trade.txt"))
    hits = a.retrieve("How much oil trade did India and the UAE settle in rupees?", k=3)
    assert hits[0].doc_id == "rupee-trade.txt"
    assert a.document("rupee-trade.txt").author == "Test Writer"

    (corpus_copy / "rupee-trade.txt").write_text(NEW_ARTICLE.replace("4,321", "9,876"))
    updated = a.index()
    assert updated.updated == ["rupee-trade.txt"] and not updated.added
    assert "9,876" in a.document("rupee-trade.txt").text
    lexical_hit = a.retrieve("9,876 crore", k=1, rerank_depth=0, mode="lexical")
    assert lexical_hit and lexical_hit[0].doc_id == "rupee-trade.txt"
    assert not a.retrieve("4,321", k=1, rerank_depth=0, mode="lexical")  # old text is gone

    (corpus_copy / "rupee-trade.txt").unlink()
    (corpus_copy / "india-s400-talks-snub-to-us.txt").unlink()
    removed = a.index()
    assert removed.removed == ["india-s400-talks-snub-to-us.txt", "rupee-trade.txt"]
    assert not a.vectors.ids_for("rupee-trade.txt")
    assert all(not cid.startswith("india-s400") for cid in chunk_ids_in_chroma(a))
    assert_consistent(a)


def test_index_survives_a_new_process(corpus_copy: Path, tmp_path: Path):
    Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index").index()
    reopened = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    assert not reopened.index().changed
    assert reopened.retrieve("F-35", k=1)[0].doc_id == "india-sovereignty-over-alignment.txt"
    assert_consistent(reopened)


def test_switching_embedder_without_rebuild_fails_clearly(corpus_copy: Path, tmp_path: Path):
    Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index", embedder="minilm").index()
    other = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index", embedder="bge-small")
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        other.index()
    with pytest.raises(IndexMismatchError, match="minilm"):
        other.answer("Why did India turn down the F-35?")
    rebuilt = other.index(rebuild=True)
    assert len(rebuilt.added) == 5 and other.status()["embedder"] == "bge-small"
    assert_consistent(other)


def test_bad_files_are_skipped_with_a_reason_and_the_rest_indexed(corpus_copy: Path,
                                                                   tmp_path: Path):
    (corpus_copy / "empty.txt").write_bytes(b"")
    (corpus_copy / "junk.txt").write_bytes(bytes(range(256)) * 50)
    (corpus_copy / "copy.txt").write_bytes(
        (corpus_copy / "india-s400-talks-snub-to-us.txt").read_bytes())
    (corpus_copy / "notes.docx").write_bytes(b"PK")
    (corpus_copy / "outside.txt").symlink_to("/etc/hostname")
    (corpus_copy / ".draft.txt.swp").write_text("half written")
    report = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index").index()
    reasons = {s.doc_id: s.reason for s in report.skipped}
    assert set(reasons) == {"empty.txt", "junk.txt", "copy.txt", "notes.docx", "outside.txt"}
    assert "outside" in reasons["outside.txt"] and "same content" in reasons["copy.txt"]
    assert len(report.added) == 5
