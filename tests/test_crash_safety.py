"""Indexing survives crashes: whatever point ``assistant index`` dies at, the next run repairs it.

The slow test kills a real ``assistant index`` process with SIGKILL at 20+ points spread over
its run while a separate reader process keeps answering. The fast tests stop an in-process
indexer at the two points where a crash used to leave the index wrong (found that way);
``Crash`` stands for the kill: nothing after it runs, exactly as after SIGKILL.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from chromadb.api.client import SharedSystemClient

from assistant import Assistant
from assistant.embedders import get_embedder
from assistant.indexer import Indexer, chunking_signature
from assistant.lexical import LexicalIndex
from assistant.store import Catalog, VectorStore, open_chroma

from .conftest import CORPUS, ROOT, load_jsonl

TRIALS = 22  # kill points; at least MIN_KILLS of them must land while the run is still going
MIN_KILLS = 20
# Kill points spread over this share of the measured run: a run on this shared machine can be
# 15 % quicker than the one measured, and a kill after the end tests nothing.
KILL_SPAN = 0.85
EXTRA_ARTICLES = 12  # per swapped set: enough for several write groups of GROUP_CHUNKS
GROUP_CHUNKS = 48  # small groups so that kills also land between and inside group writes
# The INT8 embedder quantises activations per batch, so one text embedded in two different
# batches gets vectors that differ slightly (cosine above 0.99); another text's is far lower.
SAME_TEXT_COSINE = 0.98
READER_QUESTIONS = ("q001", "q003")  # answered from base articles that never change

NEW_ARTICLE = ("Rupee Trade Grows\n\nIndia and the United Arab Emirates settled a record 4,321 "
               "crore rupees of oil trade in national currencies last quarter, officials said.\n")


class Crash(BaseException):
    """Stands for SIGKILL at a chosen point (a BaseException, so no handler runs)."""


# -- what an index holds -----------------------------------------------------------------

@dataclass(frozen=True)
class IndexContent:
    """Everything a reader can get from an index, in a form two indexes can be compared by."""

    documents: dict[str, str]  # doc_id -> content hash
    chunks: dict[str, str]  # chunk_id -> text, from the catalogue
    vector_chunks: dict[str, str]  # chunk_id -> text, from Chroma
    vector_keys: tuple[tuple[str, int], ...]  # (doc_id, index) of every Chroma record
    bm25_ids: tuple[str, ...]  # chunk ids BM25 finds in a new process (saved base + delta)


def read_index(assistant: Assistant) -> tuple[IndexContent, dict[str, np.ndarray], bool]:
    """(content, chunk_id -> vector, whether a new process finds a usable saved BM25 base)."""
    catalog = assistant.catalog
    chunks = {}
    for chunk_id, (doc_id, start, end) in catalog.chunk_spans(catalog.chunk_tokens()[0]).items():
        chunks[chunk_id] = assistant.document(doc_id).text[start:end]
    got = assistant.vectors.collection.get(include=["documents", "metadatas", "embeddings"])
    saved_bm25 = LexicalIndex(assistant.index_dir)
    saved_bm25.sync(catalog, assistant.index_version, chunking_signature(assistant.settings),
                    save=False)
    content = IndexContent(
        documents=catalog.hashes(), chunks=chunks,
        vector_chunks=dict(zip(got["ids"], got["documents"], strict=True)),
        vector_keys=tuple(sorted((m["doc_id"], m["index"]) for m in got["metadatas"])),
        bm25_ids=tuple(sorted(saved_bm25.chunk_ids)))
    vectors = dict(zip(got["ids"], np.asarray(got["embeddings"]), strict=True))
    return content, vectors, saved_bm25.base_saved


def min_cosine(vectors: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> float:
    """The lowest cosine between each chunk's vector and its vector in ``expected``."""
    return min(float(np.dot(vector, expected[chunk_id])
                     / (np.linalg.norm(vector) * np.linalg.norm(expected[chunk_id])))
               for chunk_id, vector in vectors.items())


def assert_consistent(content: IndexContent) -> None:
    """Catalogue, Chroma and BM25 hold the same chunks, once each, with the same texts."""
    assert content.vector_chunks == content.chunks
    assert len(set(content.vector_keys)) == len(content.vector_keys) == len(content.chunks)
    assert content.bm25_ids == tuple(sorted(content.chunks))
    assert {cid.rsplit("::", 2)[0] for cid in content.chunks} <= set(content.documents)


def fresh_assistant(corpus: Path, index: Path, **settings) -> Assistant:
    """An Assistant that opens Chroma anew, as a new process would (models stay loaded)."""
    SharedSystemClient.clear_system_cache()
    assistant = Assistant(corpus_dir=corpus, index_dir=index)
    assistant.settings = assistant.settings.model_copy(update=settings)
    return assistant


# -- the fast tests: a crash at a chosen point ---------------------------------------------

class CatalogDyingBeforeMeta(Catalog):
    """Dies on the first index fact written after all articles are in the catalogue."""

    def set_meta(self, key: str, value: str) -> None:
        if key == "embedder":
            raise Crash
        super().set_meta(key, value)


class CatalogDyingBeforeArticles(Catalog):
    """Dies when the first article is written to the catalogue, after Chroma got its chunks."""

    def replace_document(self, *args, **kwargs) -> None:
        raise Crash


def run_until_crash(assistant: Assistant, catalog_class: type[Catalog]) -> None:
    """Index with a catalogue that dies part-way, like a process killed at that point."""
    settings = assistant.settings
    indexer = Indexer(settings, catalog_class(assistant.index_dir),
                      VectorStore(open_chroma(assistant.index_dir, None)),
                      LexicalIndex(assistant.index_dir), get_embedder(settings.embedder))
    with pytest.raises(Crash):
        indexer.run(assistant.corpus_dir, show_progress=False)
    indexer.catalog.close()


def test_a_crash_after_the_articles_are_written_leaves_bm25_to_be_rebuilt(corpus_copy, tmp_path):
    Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index").index()
    (corpus_copy / "rupee-trade.txt").write_text(NEW_ARTICLE)
    run_until_crash(fresh_assistant(corpus_copy, tmp_path / "index"), CatalogDyingBeforeMeta)
    after = fresh_assistant(corpus_copy, tmp_path / "index")
    after.index()
    content, _, bm25_in_step = read_index(after)
    assert any(cid.startswith("rupee-trade.txt::") for cid in content.bm25_ids)
    assert bm25_in_step
    assert_consistent(content)


@pytest.mark.parametrize("then", ["deleted", "reverted"])
def test_chunks_written_before_a_crash_never_outlive_it(corpus_copy, tmp_path, then):
    """Chroma got an article's chunks, the catalogue did not; then the file changed again."""
    article = corpus_copy / "rupee-trade.txt"
    if then == "reverted":
        article.write_text(NEW_ARTICLE)
        Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index").index()
    else:
        Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index").index()
    article.write_text(NEW_ARTICLE.replace("4,321 crore rupees", "a modest sum"))
    run_until_crash(fresh_assistant(corpus_copy, tmp_path / "index"),
                    CatalogDyingBeforeArticles)
    if then == "deleted":
        article.unlink()
    else:
        article.write_text(NEW_ARTICLE)
    after = fresh_assistant(corpus_copy, tmp_path / "index")
    after.index()
    content, _, bm25_in_step = read_index(after)
    assert_consistent(content)
    assert bm25_in_step
    assert ("rupee-trade.txt" in content.documents) == (then == "reverted")


# -- the slow test: SIGKILL at random points -----------------------------------------------

def write_extra_articles(folder: Path, first: int, count: int) -> None:
    """Articles made of the real articles' sentences in a seeded order (each one distinct)."""
    sentences = [s for path in sorted(CORPUS.iterdir())
                 for s in re.split(r"(?<=[.!?])\s+", path.read_text()) if len(s) > 40]
    for number in range(first, first + count):
        body = " ".join(random.Random(number).sample(sentences, 40))
        (folder / f"extra-{number:03d}.txt").write_text(f"Extra article {number}\n\n{body}\n")


@dataclass
class SwappingCorpus:
    """The real articles plus one of two sets of extra articles; ``swap`` exchanges the sets."""

    corpus: Path
    shelf: Path
    state: str = "A"

    @classmethod
    def create(cls, base: Path) -> SwappingCorpus:
        corpus, shelf = base / "corpus", base / "shelf"
        shutil.copytree(CORPUS, corpus)
        shelf.mkdir()
        write_extra_articles(corpus, 0, EXTRA_ARTICLES)
        write_extra_articles(shelf, EXTRA_ARTICLES, EXTRA_ARTICLES)
        return cls(corpus, shelf)

    def swap(self) -> None:
        here, away = list(self.corpus.glob("extra-*")), list(self.shelf.glob("extra-*"))
        for path in here:
            path.rename(self.shelf / path.name)
        for path in away:
            path.rename(self.corpus / path.name)
        self.state = "B" if self.state == "A" else "A"


def index_command(corpus: Path, index: Path) -> list[str]:
    return [sys.executable, "-m", "assistant.cli", "index", "--corpus", str(corpus),
            "--index", str(index)]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process: this checkout's code first on the path."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def clean_build(corpus: SwappingCorpus, index: Path) -> tuple[IndexContent, dict]:
    """The content of a clean build of the corpus as it is now."""
    assistant = fresh_assistant(corpus.corpus, index)
    assistant.index()
    content, vectors, bm25_in_step = read_index(assistant)
    assert bm25_in_step
    assert_consistent(content)
    return content, vectors


def kill_after(delay: float, corpus: Path, index: Path) -> bool:
    """Start ``assistant index``, SIGKILL it after ``delay`` s; True when it was still running."""
    process = subprocess.Popen(index_command(corpus, index), env=child_env(
        ASSISTANT_INDEX_GROUP_CHUNKS=str(GROUP_CHUNKS)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True


def articles_indexed(index: Path, corpus: Path) -> int:
    """How many of the corpus's extra articles the catalogue holds (read-only, no Chroma)."""
    catalog = Catalog(index)
    try:
        return sum(doc_id.startswith("extra-") and (corpus / doc_id).exists()
                   for doc_id in catalog.hashes())
    finally:
        catalog.close()


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[tuple]:
    """(start, first_answer, stop, expected answer phrases) of a reader process on an index;
    ``stop`` returns every answer line it printed."""
    stop_file = tmp_path / "stop-reader"
    started: list[subprocess.Popen] = []
    questions = [q for q in load_jsonl("qa.jsonl") if q["id"] in READER_QUESTIONS]

    def start(corpus: Path, index: Path) -> None:
        started.append(subprocess.Popen(
            [sys.executable, "-m", "tests.index_reader", str(corpus), str(index),
             str(stop_file), json.dumps(questions)],
            cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))

    def first_answer() -> str:
        return started[0].stdout.readline()

    def stop(first: str) -> list[dict]:
        stop_file.touch()
        out, err = started[0].communicate(timeout=120)
        assert started[0].returncode == 0, err
        return [json.loads(line) for line in [first, *out.splitlines()]]

    # The phrase that answers, not the article: the extra articles are made of the real
    # articles' sentences, so a copy of the answering sentence is an equally right source.
    expected = {q["id"]: [a["phrase"] for a in q["answers"]] for q in questions}
    yield start, first_answer, stop, expected
    if started and started[0].poll() is None:
        started[0].kill()


@pytest.mark.slow
def test_index_killed_at_random_points_is_repaired_by_the_next_run(tmp_path, reader):
    corpus = SwappingCorpus.create(tmp_path)
    clean = {"A": clean_build(corpus, tmp_path / "clean-a")}
    corpus.swap()
    clean["B"] = clean_build(corpus, tmp_path / "clean-b")
    corpus.swap()
    SharedSystemClient.clear_system_cache()
    work = tmp_path / "index"
    shutil.copytree(tmp_path / "clean-a", work)
    start_reader, first_answer, stop_reader, expected_phrases = reader
    start_reader(corpus.corpus, work)
    first = first_answer()  # the reader is past loading its models: the load the trials see
    corpus.swap()
    started = time.perf_counter()
    subprocess.run(index_command(corpus.corpus, work), env=child_env(
        ASSISTANT_INDEX_GROUP_CHUNKS=str(GROUP_CHUNKS)), check=True, capture_output=True)
    run_seconds = time.perf_counter() - started

    rng, kills, written_at_kill = random.Random(7), 0, []
    for trial in range(TRIALS):
        corpus.swap()
        kills += kill_after(KILL_SPAN * run_seconds * (trial + rng.random()) / TRIALS,
                            corpus.corpus, work)
        written_at_kill.append(articles_indexed(work, corpus.corpus))
        if trial % 3 == 2:
            corpus.swap()  # the corpus changes again before the next run
        after = fresh_assistant(corpus.corpus, work)
        after.index()
        content, vectors, bm25_in_step = read_index(after)
        expected, expected_vectors = clean[corpus.state]
        assert content == expected, f"trial {trial}"
        assert bm25_in_step, f"trial {trial}"
        assert min_cosine(vectors, expected_vectors) > SAME_TEXT_COSINE, f"trial {trial}"

    answers = stop_reader(first)
    print(f"\n{TRIALS} trials over a {run_seconds:.1f} s run, {kills} killed mid-run; "
          f"new articles in the catalogue at each kill: {written_at_kill}; "
          f"reader answered {len(answers)} questions")
    assert kills >= MIN_KILLS
    assert len(set(written_at_kill)) >= 3  # kills before, between and after group writes
    assert [a for a in answers if "error" in a] == []
    assert len(answers) >= TRIALS
    wrong = [a for a in answers if not any(phrase in passage for phrase in expected_phrases[a["id"]]
                                           for passage in a["passages"])]
    assert wrong == []
