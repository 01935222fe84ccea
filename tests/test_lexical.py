"""BM25 kept in step incrementally: a saved base, a delta of new chunks, removed chunks masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.indexer import chunking_signature
from assistant.lexical import META_FILE, DeltaBM25, LexicalIndex, build_base, merged_stats, tokenize
from assistant.settings import Settings

from .test_index import NEW_ARTICLE

TEXTS = ["India buys S-400 systems from Russia", "The F-35 was offered by the United States",
         "Rupee trade with Russia grew to 9,876 crore", "Oil imports from Russia rose sharply",
         "India and the United States signed a defence pact", "Modi met Putin in Moscow"]


def test_delta_scores_equal_a_full_rebuild():
    """A chunk in the delta scores exactly as it would in a base built with it."""
    tokens = tokenize(TEXTS)
    full, _ = build_base([str(i) for i in range(len(TEXTS))], tokens)
    _, base_stats = build_base(["0", "1", "2", "3"], tokens[:4])
    delta = DeltaBM25(merged_stats(base_stats, tokens[4:]))
    delta.index_tokens(tokens[4:])
    query = tokenize(["United States defence pact with Russia, Putin in Moscow"])[0]
    full_scores = full.get_scores([t for t in query if t in full.vocab_dict])
    delta_scores = delta.get_scores([t for t in query if t in delta.vocab_dict])
    assert delta_scores[0] == pytest.approx(full_scores[4], rel=1e-6)
    assert delta_scores[1] == pytest.approx(full_scores[5], rel=1e-6)
    assert delta_scores.min() > 0


def saved_base(index_dir: Path) -> dict:
    return json.loads((index_dir / "bm25" / META_FILE).read_text())


def full_rebuild_scores(a: Assistant, folder: Path, query: str) -> dict[str, float]:
    """BM25 scores from a base built from scratch over the same catalogue."""
    reference = LexicalIndex(folder)
    reference.sync(a.catalog, a.index_version, chunking_signature(a.settings))
    assert reference.last_sync == "compaction"
    return dict(reference.search(query, 200))


@pytest.fixture
def incremental(corpus_copy: Path, tmp_path: Path) -> Assistant:
    """An indexed corpus whose BM25 takes changes up to half its size as a delta."""
    a = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index",
                  settings=Settings(bm25_compact_share=0.5))
    a.index()
    assert a.lexical.last_sync == "compaction"  # the first run builds the base
    return a


def test_an_added_article_goes_to_the_delta_not_a_rebuild(incremental, corpus_copy, tmp_path):
    a = incremental
    base_before = saved_base(a.index_dir)
    (corpus_copy / "rupee-trade.txt").write_text(NEW_ARTICLE)
    a.index()
    assert a.lexical.last_sync == "delta"
    assert saved_base(a.index_dir) == base_before  # the saved base was not rewritten
    hits = a.lexical.search("4,321 crore rupees of oil trade", 10)
    assert hits[0][0].startswith("rupee-trade.txt::")
    expected = full_rebuild_scores(a, tmp_path / "reference", "4,321 crore rupees of oil trade")
    for chunk_id, score in hits:
        if chunk_id.startswith("rupee-trade.txt::"):
            assert score == pytest.approx(expected[chunk_id], rel=1e-5)
    assert sorted(a.lexical.chunk_ids) == sorted(a.catalog.chunk_ids())


def test_changed_and_removed_articles_leave_no_old_chunk_in_bm25(incremental, corpus_copy):
    a = incremental
    article = corpus_copy / "rupee-trade.txt"
    article.write_text(NEW_ARTICLE)
    a.index()
    article.write_text(NEW_ARTICLE.replace("4,321", "9,876"))
    a.index()
    assert a.lexical.last_sync == "delta"
    assert not a.lexical.search("4,321", 10)
    assert a.lexical.search("9,876", 10)[0][0].startswith("rupee-trade.txt::")
    article.unlink()
    (corpus_copy / "india-s400-talks-snub-to-us.txt").unlink()  # chunks of the saved base
    a.index()
    assert a.lexical.last_sync == "delta"
    found = {cid for cid, _ in a.lexical.search("S-400 rupee trade India Russia", 200)}
    assert found and not any(cid.startswith(("rupee-trade", "india-s400")) for cid in found)
    assert sorted(a.lexical.chunk_ids) == sorted(a.catalog.chunk_ids())


def test_a_new_process_sees_the_same_bm25(incremental, corpus_copy):
    a = incremental
    (corpus_copy / "rupee-trade.txt").write_text(NEW_ARTICLE)
    (corpus_copy / "india-s400-talks-snub-to-us.txt").unlink()
    a.index()
    reopened = Assistant(corpus_dir=corpus_copy, index_dir=a.index_dir,
                         settings=a.settings)
    assert reopened.lexical.base_saved and reopened.lexical.last_sync == "delta"
    for query in ("4,321 crore", "S-400 deliveries", "India Russia defence ties"):
        assert reopened.lexical.search(query, 20) == a.lexical.search(query, 20)


def test_changes_beyond_the_share_rebuild_the_saved_base(corpus_copy, tmp_path):
    a = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index",
                  settings=Settings(bm25_compact_share=0.01))
    a.index()
    (corpus_copy / "rupee-trade.txt").write_text(NEW_ARTICLE)
    a.index()
    assert a.lexical.last_sync == "compaction"
    assert sorted(saved_base(a.index_dir)["chunk_ids"]) == sorted(a.catalog.chunk_ids())
