"""A search running beside a re-index sees one version of an article, never a mixture.

The reader is paused at the worst moment, right after it read which chunks exist, while a
writer switches the article to a new version; a real Chroma store, BM25 and catalogue.
"""

from __future__ import annotations

import threading
from pathlib import Path

from assistant import Assistant
from assistant.reranker import get_reranker
from assistant.retrieval import HybridSearcher, RetrievalResult
from assistant.schema import version_of_chunk
from assistant.store import Catalog

QUERY = "What does the Zorblat ledger say about the budget?"


def ledger(version: str, preface: str) -> str:
    """An article of several passages, every sentence naming its version."""
    lines = [f"The Zorblat ledger, version {version}, line {i}: the budget for the canal "
             f"works reads {i * 111} units, as the {version} audit recorded." for i in range(12)]
    return f"Zorblat Ledger\n\n{preface}\n\n" + "\n\n".join(lines) + "\n"


class PausingCatalog(Catalog):
    """Pauses the first search right after it read the chunk spans, until told to go on."""

    def __init__(self, index_dir: Path):
        super().__init__(index_dir)
        self.spans_read = threading.Event()
        self.resume = threading.Event()

    def chunk_spans(self, chunk_ids):
        spans = super().chunk_spans(chunk_ids)
        if not self.spans_read.is_set():
            self.spans_read.set()
            self.resume.wait(120)
        return spans


def assert_one_version(result: RetrievalResult, texts_by_version: dict[str, str]) -> None:
    """Every span of the ledger is read from the text of the version its chunk was cut from."""
    for passage in result.passages:
        if passage.doc_id == "ledger.txt":
            version = version_of_chunk(passage.chunk_id)
            assert passage.text == texts_by_version[version][passage.start:passage.end]
    versions = {version_of_chunk(passage.chunk_id) for passage in result.passages
                if passage.doc_id == "ledger.txt"}
    assert len(versions) <= 1
    for sentence in result.sentences:
        if sentence.doc_id == "ledger.txt":
            texts = [text[sentence.start:sentence.end] for text in texts_by_version.values()]
            assert sentence.text in texts


def test_a_search_during_a_switch_reads_one_version(corpus_copy: Path, tmp_path: Path):
    article = corpus_copy / "ledger.txt"
    old_text = ledger("ONE", "First issue.")
    article.write_text(old_text)
    writer = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    writer.index()
    old_version = writer.document("ledger.txt").content_hash[:12]

    catalog = PausingCatalog(tmp_path / "index")  # the reader's own connection
    # As in `assistant serve --watch`: one process searches while its watcher re-indexes.
    searcher = HybridSearcher(writer.settings, catalog, writer.vectors, writer.lexical,
                              writer.embedder, get_reranker)
    results: list[RetrievalResult] = []
    search = threading.Thread(target=lambda: results.append(searcher.search(QUERY, 5, 5)))
    search.start()
    assert catalog.spans_read.wait(120)

    new_text = ledger("TWO", "Second issue, corrected and reprinted with a longer preface.")
    article.write_text(new_text)
    report = writer.index()  # the article switches while the reader holds the old spans
    assert report.updated == ["ledger.txt"]
    new_version = writer.document("ledger.txt").content_hash[:12]
    catalog.resume.set()
    search.join(120)

    assert results, "the search did not finish"
    assert_one_version(results[0], {old_version: old_text, new_version: new_text})
    assert any(p.doc_id == "ledger.txt" for p in results[0].passages)  # not lost either
    after = searcher.search(QUERY, 5, 5)
    assert_one_version(after, {new_version: new_text})
    assert all("TWO" in p.text for p in after.passages if p.doc_id == "ledger.txt")


def test_a_reader_process_follows_a_writer_process(corpus_copy: Path, tmp_path: Path):
    """`assistant serve` keeps answering from the index another process (`assistant index`)
    changes; its BM25 follows the catalogue's index version."""
    article = corpus_copy / "ledger.txt"
    article.write_text(ledger("ONE", "First issue."))
    writer = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    writer.index()
    reader = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    assert reader.retrieve(QUERY, 3, rerank_depth=0)[0].doc_id == "ledger.txt"
    article.write_text(ledger("TWO", "Second issue."))
    writer.index()
    top = reader.retrieve("Zorblat ledger version TWO audit", 3, rerank_depth=0, mode="lexical")
    assert top and top[0].doc_id == "ledger.txt" and "TWO" in top[0].text
    assert reader.lexical.version == writer.index_version


def test_an_answer_records_the_index_version_it_came_from(corpus_copy: Path, tmp_path: Path):
    article = corpus_copy / "ledger.txt"
    article.write_text(ledger("ONE", "First issue."))
    assistant = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    first = assistant.index()
    question = "How many units does line 7 of the Zorblat ledger give for the canal works?"
    before = assistant.answer(question)
    assert before.index_version == first.index_version != ""
    assert before.to_dict()["index_version"] == first.index_version
    article.write_text(ledger("TWO", "Second issue."))
    second = assistant.index()
    after = assistant.answer(question)
    assert after.index_version == second.index_version != before.index_version
    assert "TWO" in after.text and "ONE" in before.text
