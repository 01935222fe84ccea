"""Shared fixtures: real models, a real Chroma store under tmp_path, the real corpus."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from assistant import Assistant

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"


def free_port() -> int:
    """A loopback port nothing listens on (for servers the tests start, or must not find)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A private copy of the real corpus that a test may change."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(corpus_dir, index_dir) of the real corpus indexed once per test session."""
    base = tmp_path_factory.mktemp("built")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    Assistant(corpus_dir=corpus, index_dir=base / "index").index()
    return corpus, base / "index"


@pytest.fixture(scope="session")
def assistant(built_index: tuple[Path, Path]) -> Assistant:
    """An Assistant over the session's index of the real corpus (read-only use)."""
    corpus, index = built_index
    return Assistant(corpus_dir=corpus, index_dir=index)
