"""The public face of the package: ``Assistant`` and the module-level ``answer``.

One ``Assistant`` owns one index (catalogue + Chroma collection + BM25) and the models it
needs, loaded lazily and cached per process, so the CLI, the UI and Python callers all go
through the same code path.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel

from .answering import ExtractiveAnswerer
from .embedders import ModelMissingError, TextEmbedder, get_embedder
from .generation import ExtractiveGenerator, Generator, LlmGenerator
from .indexer import Indexer, IndexMismatchError, ProgressCallback, chunking_signature
from .lexical import LexicalIndex
from .llm import GeneratorError, chat_model
from .reranker import get_reranker
from .retrieval import HybridSearcher, PassageRetriever, SearchMode
from .schema import Answer, Document, IndexReport, Passage
from .settings import EmbedderName, GeneratorName, Settings, get_settings
from .store import Catalog, StoreError, VectorStore, open_chroma
from .verification import CitationVerifier

Message = dict[str, str]
CUSTOM_GENERATOR = "custom"  # the name of a chat model passed as Assistant(generator=model)


class UserError(ValueError):
    """A problem the user can fix (empty question, no index yet); the message says how."""


# Errors whose message tells the user what to do: shown as one sentence, never a traceback.
FIXABLE_ERRORS = (UserError, IndexMismatchError, StoreError, ModelMissingError, GeneratorError)


class Assistant:
    """Index a folder of articles and answer questions about them with cited passages."""

    def __init__(self, corpus_dir: str | Path | None = None, index_dir: str | Path | None = None,
                 *, embedder: EmbedderName | None = None, chroma_url: str | None = None,
                 generator: GeneratorName | BaseChatModel | None = None,
                 settings: Settings | None = None):
        base = settings or get_settings()
        overrides: dict = {"corpus_dir": Path(corpus_dir or base.corpus_dir),
                           "index_dir": Path(index_dir or base.index_dir)}
        if embedder:
            overrides["embedder"] = embedder
        if chroma_url:
            overrides["chroma_url"] = chroma_url
        # A LangChain chat model of the caller's own is used as the "custom" generator.
        self.custom_model = generator if isinstance(generator, BaseChatModel) else None
        if isinstance(generator, str):
            overrides["generator"] = generator
        self.settings = base.model_copy(update=overrides)
        self.corpus_dir: Path = self.settings.corpus_dir
        self.index_dir: Path = self.settings.index_dir
        self._index_lock = threading.Lock()
        self._generators: dict[str, Generator] = {}
        self._generators_lock = threading.Lock()

    # -- components, built on first use -------------------------------------------------
    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.index_dir)

    @cached_property
    def vectors(self) -> VectorStore:
        return VectorStore(open_chroma(self.index_dir, self.settings.chroma_url),
                           self.settings.chroma_collection)

    @cached_property
    def lexical(self) -> LexicalIndex:
        lexical = LexicalIndex(self.index_dir, self.settings.bm25_compact_share)
        # Readers never write the saved base; only indexing does (Indexer._refresh_lexical).
        lexical.sync(self.catalog, self.index_version, chunking_signature(self.settings),
                     save=False)
        return lexical

    @cached_property
    def embedder(self) -> TextEmbedder:
        return get_embedder(self.settings.embedder)

    @cached_property
    def searcher(self) -> HybridSearcher:
        return HybridSearcher(self.settings, self.catalog, self.vectors, self.lexical,
                              self.embedder, get_reranker)

    @cached_property
    def answerer(self) -> ExtractiveAnswerer:
        return ExtractiveAnswerer(self.searcher, self.settings.answer_min_score,
                                  self.settings.answer_max_sentences)

    def generator(self, name: str | None = None) -> Generator:
        """The generator ``name`` (default: the configured one), built once per Assistant."""
        name = name or (CUSTOM_GENERATOR if self.custom_model else self.settings.generator)
        with self._generators_lock:
            if name not in self._generators:
                self._generators[name] = self._build_generator(name)
            return self._generators[name]

    def _build_generator(self, name: str) -> Generator:
        if name == "extractive":
            return ExtractiveGenerator(self.answerer)
        verifier = CitationVerifier(get_reranker().score, self.settings.verify_min_score,
                                    self.settings.verify_min_coverage)
        model = self.custom_model if name == CUSTOM_GENERATOR and self.custom_model else \
            chat_model(name, self.settings)
        return LlmGenerator(name, model, self.answerer, verifier, self.settings)

    @cached_property
    def indexer(self) -> Indexer:
        return Indexer(self.settings, self.catalog, self.vectors, self.lexical, self.embedder)

    # -- indexing ----------------------------------------------------------------------
    def index(self, *, rebuild: bool = False, show_progress: bool = False,
              on_progress: ProgressCallback | None = None) -> IndexReport:
        """Bring the index in step with the corpus folder (incrementally unless ``rebuild``)."""
        if not self.corpus_dir.is_dir():
            raise UserError(f"the corpus folder {self.corpus_dir} does not exist")
        with self._index_lock:
            if rebuild:
                self._clear_index()
            return self.indexer.run(self.corpus_dir, show_progress=show_progress,
                                    on_progress=on_progress)

    def _clear_index(self) -> None:
        """Drop every indexed article, vector and BM25 entry (for ``--rebuild``)."""
        for doc_id in self.catalog.hashes():
            self.catalog.remove_document(doc_id)
        client = self.vectors.client
        client.delete_collection(self.vectors.collection.name)
        self.lexical.clear()
        self.__dict__.pop("vectors", None)
        self.__dict__.pop("searcher", None)
        self.__dict__.pop("indexer", None)
        self.__dict__.pop("answerer", None)
        self._generators.clear()
        for key in ("embedder", "chunking"):
            self.catalog.set_meta(key, "")

    @property
    def index_version(self) -> str:
        return self.catalog.get_meta("version", "")

    def status(self) -> dict:
        """What the index holds: articles, passages, embedder, version, last indexed."""
        docs, chunks = self.catalog.counts()
        rows = self.catalog.document_rows()
        return {"documents": docs, "passages": chunks,
                "embedder": self.catalog.get_meta("embedder") or self.settings.embedder,
                "index_version": self.index_version,
                "last_indexed": max((r["indexed_at"] or 0 for r in rows), default=None),
                "store": self.settings.chroma_url or str(self.index_dir)}

    def documents(self) -> list[dict]:
        """One row per indexed article: doc_id, title, author, date, source, chunks."""
        return self.catalog.document_rows()

    # -- questions ---------------------------------------------------------------------
    def _ready(self) -> None:
        if self.catalog.is_empty():
            raise UserError("the index is empty: run `assistant index` first")
        self.indexer.check_embedder()
        version = self.index_version
        if self.lexical.version != version:  # another process re-indexed: follow it
            self.lexical.sync(self.catalog, version, chunking_signature(self.settings),
                              save=False)

    def _clean_question(self, question: str) -> str:
        cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in question).split())
        if not cleaned:
            raise UserError("please type a question")
        return cleaned[: self.settings.max_question_chars]

    def retrieve(self, question: str, k: int | None = None, *, rerank_depth: int | None = None,
                 mode: SearchMode = "hybrid") -> list[Passage]:
        """The ``k`` passages that best answer ``question``, best first."""
        self._ready()
        query = self._clean_question(question)
        return self.searcher.search(query, k or self.settings.top_k, rerank_depth, mode).passages

    def answer(self, question: str, history: list[Message] | None = None, *,
               k: int | None = None, generator: GeneratorName | None = None) -> Answer:
        """Answer ``question`` from the articles, citing the exact passages used."""
        final = None
        for piece in self.stream(question, history, k=k, generator=generator):
            final = piece
        assert isinstance(final, Answer)  # every stream ends with its Answer
        return final

    def stream(self, question: str, history: list[Message] | None = None, *,
               k: int | None = None,
               generator: GeneratorName | None = None) -> Iterator[str | Answer]:
        """Yield the answer's text in pieces as it is produced, then the final ``Answer``.

        Pieces are appended in order to make the draft text; the final ``Answer`` may differ
        from it, because verification renumbers, adds or drops citations.
        """
        self._ready()
        cleaned = self._clean_question(question)
        chosen = self.generator(generator)
        query = chosen.standalone(cleaned, history)
        depth = max(self.settings.rerank_depth, k or self.settings.top_k)
        result = self.searcher.search(query, k or self.settings.top_k, depth)
        for piece in chosen.stream(cleaned, query, result, self.index_version):
            if isinstance(piece, Answer):
                piece = piece.model_copy(update={"question": question})
            yield piece

    def document(self, doc_id: str) -> Document:
        """The indexed article ``doc_id`` (path relative to the corpus folder)."""
        doc = self.catalog.document(doc_id)
        if doc is None:
            raise KeyError(f"no article '{doc_id}' in the index")
        return doc

    def as_retriever(self, k: int | None = None) -> PassageRetriever:
        """This assistant's hybrid search as a LangChain retriever."""
        return PassageRetriever(searcher=self.searcher, k=k or self.settings.top_k)


_default: Assistant | None = None
_default_lock = threading.Lock()


def default_assistant() -> Assistant:
    """The process-wide Assistant built from settings (used by ``answer`` and the UI)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Assistant()
        return _default


def answer(question: str, history: list[Message] | None = None, **kwargs) -> Answer:
    """Answer ``question`` with the default Assistant (settings from the environment)."""
    return default_assistant().answer(question, history, **kwargs)
