"""Chunks → vectors: the sentence-transformers model behind dense search.

:class:`Encoder` is the seam: search, answers and the index builder use only its four
methods, so tests of pure logic pass a small fake. :class:`Embedder` is the real one.
One per process is enough; it is created by whoever needs it (CLI, server, tests) and
passed along, never kept in a module global.

Two paths. Indexing encodes many passages through sentence-transformers in float32 on
all cores; that model is loaded only when passages are encoded. Questions and answer
sentences, a few short texts that a user waits for, go through an ONNX export of the
same model on one thread each (:mod:`assistant.onnx_encoder`): ~13 ms for a question
instead of 22–50 ms, the same vectors on every CPU, and a server that only answers never
loads torch. See docs/performance.md.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .config import ModelConfig
from .onnx_encoder import (
    OnnxEncoder,
    encoder_dir,
    ensure_exported,
    is_complete,
    supports,
)


class Encoder(Protocol):
    """What the pipeline needs from an embedding model (all vectors L2-normalised)."""

    @property
    def dimension(self) -> int: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


class Embedder:
    """A sentence-transformers model with the query/passage prompts it was trained with.

    The constructor only records what to load; the model (and, the first time on a
    machine, its ONNX export) is loaded by :meth:`warm_up` or on first use. ``model`` is
    an already loaded ``SentenceTransformer`` (tests share one). ``use_onnx=False`` keeps
    every text on sentence-transformers (float32), e.g. for a model the export cannot take.
    """

    def __init__(self, config: ModelConfig, models_dir: Path, model=None,
                 use_onnx: bool = True):
        self.config = config
        self.models_dir = models_dir
        self.use_onnx = use_onnx
        self._model = model
        self._model_lock = threading.Lock()
        self._warm_lock = threading.Lock()
        self._warm = False
        self._onnx: OnnxEncoder | None = None
        self.threads: int | None = None  # torch's default (all cores), read at first use
        #: Why the ONNX path is not used, when it is not (export failed, odd model).
        self.onnx_error: str | None = None

    # ------------------------------------------------------------------ models

    def warm_up(self) -> "Embedder":
        """Load the encoder for short texts now (exporting it once per machine)."""
        with self._warm_lock:
            if not self._warm:
                self._onnx = self._load_onnx() if self.use_onnx else None
                self._warm = True
        return self

    @property
    def onnx(self) -> OnnxEncoder | None:
        """The ONNX encoder for questions and sentences, or None (see ``onnx_error``)."""
        return self.warm_up()._onnx

    @property
    def is_prepared(self) -> bool:
        """True when the one-time preparation (model export, ONNX export) is done already."""
        return is_complete(encoder_dir(self.config.name, self.models_dir))

    @property
    def model(self):
        """The sentence-transformers model (float32, torch), loaded on first use."""
        with self._model_lock:
            if self._model is None:
                from .model_export import load_sentence_transformer

                self._model = load_sentence_transformer(self.config.name, self.models_dir)
            if self.threads is None:  # first use by this Embedder: threads and prompts
                import torch

                self.threads = torch.get_num_threads()
                self._model.prompts = {
                    **self._model.prompts,
                    "query": self.config.query_prompt,
                    "passage": self.config.passage_prompt,
                    "document": self.config.passage_prompt,
                }
            return self._model

    @property
    def dimension(self) -> int:
        if self.onnx is not None:
            return self.onnx.dimension
        return int(self.model.get_embedding_dimension())

    def _load_onnx(self) -> OnnxEncoder | None:
        folder = encoder_dir(self.config.name, self.models_dir)
        if not is_complete(folder):
            model = self.model
            if not supports(model):
                self.onnx_error = "modellen har ikke oppsettet ONNX-eksporten gjenskaper"
                return None
            try:
                ensure_exported(model, folder, self.config.name)
            except Exception as exc:  # noqa: BLE001 - sentence-transformers keeps working
                self.onnx_error = f"ONNX-eksporten feilet: {exc}"
                return None
        return OnnxEncoder(folder)

    # ------------------------------------------------------------------ encode

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "query")

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Passages for the index: always float32 sentence-transformers, all cores."""
        return self._encode_model(texts, "passage", progress)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text costs the model, without special tokens or prompt."""
        if not texts:
            return []
        if self.onnx is not None:
            return self.onnx.count_tokens(texts)
        encoded = self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def _encode(self, texts: Sequence[str], prompt_name: str) -> np.ndarray:
        """A few short texts: the ONNX path when there is one."""
        if self.onnx is None:
            return self._encode_model(texts, prompt_name)
        prompt = {"query": self.config.query_prompt, "passage": self.config.passage_prompt}[prompt_name]
        return self.onnx.encode([prompt + text for text in texts])

    def _encode_model(self, texts: Sequence[str], prompt_name: str,
                      progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        model = self.model
        # Per calling thread (OpenMP): one for a few texts, all cores for indexing.
        torch.set_num_threads(1 if len(texts) <= 8 else self.threads)
        vectors = model.encode(
            list(texts),
            prompt_name=prompt_name,
            batch_size=self.config.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
