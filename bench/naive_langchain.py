"""The naive LangChain-tutorial pipeline next to our default ``Assistant.retrieve``, same run.

Naive: ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200,
add_start_index=True)`` over the articles in ``corpus/``, a ``langchain_chroma.Chroma`` store
with all-MiniLM-L6-v2 (our ``get_embedder("minilm")``, a LangChain ``Embeddings``), and
``similarity_search`` top-k. Both are scored with Recall@5 and MRR on ``tests/data/qa.jsonl``
by ``assistant.evaluation.retrieval_scores`` (right article and contains the expected phrase).
Results go to ``bench/out/naive.json``.

Usage:
    .venv/bin/python bench/naive_langchain.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant import Assistant
from assistant.embedders import get_embedder
from assistant.evaluation import QaItem, load_qa, retrieval_scores
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
K = 5


@dataclass(frozen=True)
class Hit:
    """What ``retrieval_scores`` needs from a retrieved span."""

    doc_id: str
    text: str


@dataclass
class Row:
    pipeline: str
    recall_at_5: float
    mrr: float
    p50_ms: float
    p95_ms: float
    chunks: int
    index_s: float
    misses: list[str]


def naive_store(corpus: Path, embedder: str, persist_dir: Path) -> tuple[Chroma, int]:
    """The tutorial's index: load, split 1000/200, embed into Chroma."""
    docs = [Document(page_content=p.read_text(), metadata={"source": p.name})
            for p in sorted(corpus.glob("*")) if p.is_file()]
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200,
                                              add_start_index=True)
    splits = splitter.split_documents(docs)
    store = Chroma(collection_name=f"naive-{embedder}", embedding_function=get_embedder(embedder),
                   persist_directory=str(persist_dir))
    store.add_documents(splits)
    return store, len(splits)


def timed(search: Callable[[str], Sequence[Hit]], times: list[float]) -> Callable[[str], list]:
    def run(question: str) -> list:
        started = time.perf_counter()
        hits = list(search(question))
        times.append((time.perf_counter() - started) * 1000)
        return hits
    return run


def score(name: str, items: list[QaItem], search: Callable[[str], Sequence[Hit]], chunks: int,
          index_s: float) -> Row:
    search(items[0].question)  # warm-up
    times: list[float] = []
    scores = retrieval_scores(items, timed(search, times), k=K)
    times.sort()
    return Row(name, round(scores.recall_at_k, 4), round(scores.mrr, 4),
               round(statistics.median(times), 1), round(times[int(0.95 * (len(times) - 1))], 1),
               chunks, round(index_s, 2), scores.misses)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--also-bge", action="store_true",
                        help="also run the naive pipeline with bge-small (isolates the embedder)")
    args = parser.parse_args(argv)
    items = load_qa()
    rows: list[Row] = []

    naive_embedders = ["minilm", "bge-small"] if args.also_bge else ["minilm"]
    with tempfile.TemporaryDirectory(prefix="naive-chroma-") as tmp:
        for name in naive_embedders:
            get_embedder(name).embed_query("warm-up")
            started = time.perf_counter()
            store, chunks = naive_store(args.corpus, name, Path(tmp) / name)
            index_s = time.perf_counter() - started

            def search(q: str, store: Chroma = store) -> list[Hit]:
                return [Hit(d.metadata["source"], d.page_content)
                        for d in store.similarity_search(q, k=K)]

            label = ("naive LangChain (1000/200 splitter, Chroma, "
                     f"{'all-MiniLM-L6-v2' if name == 'minilm' else 'bge-small'}, top-{K})")
            rows.append(score(label, items, search, chunks, index_s))

    settings = Settings()
    index_dir = OUT / "naive" / f"index-{settings.embedder}"
    assistant = Assistant(corpus_dir=args.corpus, index_dir=index_dir, settings=settings)
    assistant.embedder.encode(["warm-up"])
    started = time.perf_counter()
    report = assistant.index(rebuild=True)
    index_s = time.perf_counter() - started
    rows.append(score(f"Assistant.retrieve(k={K}), default settings ({settings.embedder}, "
                      f"hybrid, rerank@{settings.rerank_depth})", items,
                      lambda q: assistant.retrieve(q, k=K), report.chunks, index_s))
    rows.append(score(f"Assistant.retrieve(k={K}, rerank_depth=0) ({settings.embedder}, hybrid)",
                      items, lambda q: assistant.retrieve(q, k=K, rerank_depth=0),
                      report.chunks, index_s))

    print(f"{sum(i.answerable for i in items)} answerable questions of {len(items)}\n")
    print("| pipeline | Recall@5 | MRR | p50 ms | p95 ms | chunks | index s | misses |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r.pipeline} | {r.recall_at_5:.3f} | {r.mrr:.3f} | {r.p50_ms:.0f} "
              f"| {r.p95_ms:.0f} | {r.chunks} | {r.index_s:.1f} | {', '.join(r.misses) or '-'} |")
    OUT.mkdir(parents=True, exist_ok=True)
    out = {"questions": len(items), "answerable": sum(i.answerable for i in items), "k": K,
           "settings": settings.model_dump(mode="json", include={
               "embedder", "chunk_chars", "chunk_overlap_sentences", "dense_candidates",
               "lexical_candidates", "rrf_k", "rerank_depth"}),
           "rows": [asdict(r) for r in rows]}
    (OUT / "naive.json").write_text(json.dumps(out, indent=2))
    print(f"\nwrote {OUT / 'naive.json'}")


if __name__ == "__main__":
    main()
