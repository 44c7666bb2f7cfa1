"""Chunks → vectors: the sentence-transformers model behind dense search.

One :class:`Embedder` per process is enough; it is created by whoever needs it (CLI,
server, tests) and passed along, never kept in a module global.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .config import ModelConfig


class Embedder:
    """A sentence-transformers model with the query/passage prompts it was trained with."""

    def __init__(self, config: ModelConfig = ModelConfig(), model=None):
        from .model_export import load_sentence_transformer

        self.config = config
        self.model = model if model is not None else load_sentence_transformer(config.name)
        self.model.prompts = {
            **self.model.prompts,
            "query": config.query_prompt,
            "passage": config.passage_prompt,
            "document": config.passage_prompt,
        }
        self.tokenizer = self.model.tokenizer
        self.dimension = int(self.model.get_embedding_dimension())

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "query")

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, "passage", progress)

    def _encode(self, texts: Sequence[str], prompt_name: str, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            prompt_name=prompt_name,
            batch_size=self.config.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text costs the model, without special tokens or prompt."""
        if not texts:
            return []
        encoded = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]
