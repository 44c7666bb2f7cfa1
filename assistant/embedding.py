"""Chunks → vectors: the sentence-transformers model behind dense search.

One :class:`Embedder` per process is enough; it is created by whoever needs it (CLI,
server, tests) and passed along, never kept in a module global.

Two paths. Indexing encodes many passages through sentence-transformers in float32 on
all cores; that model is loaded only when passages are encoded. Questions and answer
sentences, a few short texts that a user waits for, go through an ONNX export of the
same model on one thread each (:mod:`assistant.onnx_encoder`): ~13 ms for a question
instead of 22–50 ms, the same vectors on every CPU, and a server that only answers never
loads torch.
See docs/performance.md.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from .config import ModelConfig
from .onnx_encoder import OnnxEncoder, encoder_dir, ensure_exported, is_complete, supports

#: Answer sentences remembered (by text) with their vectors: ~1.5 KB each.
SENTENCE_CACHE = 4096


class Embedder:
    """A sentence-transformers model with the query/passage prompts it was trained with.

    ``model`` is an already loaded ``SentenceTransformer`` (tests share one); without it
    the model named by ``config`` is loaded when first needed. ``fast=False`` keeps every
    text on sentence-transformers (float32), e.g. for a model the ONNX export cannot take.
    """

    def __init__(self, config: ModelConfig = ModelConfig(), model=None, fast: bool = True):
        self.config = config
        self._model = model
        self._model_lock = threading.Lock()
        self.threads: int | None = None  # torch's default (all cores), read at first use
        #: Why the ONNX path is not used, when it is not (export failed, odd model).
        self.fast_error: str | None = None
        self.short = self._load_short() if fast else None
        self._sentences: OrderedDict[str, np.ndarray] = OrderedDict()
        self._sentences_lock = threading.Lock()
        self.sentence_hits = self.sentence_misses = 0

    # ------------------------------------------------------------------ models

    @property
    def model(self):
        """The sentence-transformers model (float32, torch), loaded on first use."""
        with self._model_lock:
            if self._model is None:
                from .model_export import load_sentence_transformer

                self._model = load_sentence_transformer(self.config.name)
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
    def model_loaded(self) -> bool:
        return self._model is not None

    @property
    def dimension(self) -> int:
        if self.short is not None:
            return self.short.dimension
        return int(self.model.get_embedding_dimension())

    def _load_short(self) -> OnnxEncoder | None:
        folder = encoder_dir(self.config.name)
        if not is_complete(folder):
            model = self.model
            if not supports(model):
                self.fast_error = "modellen har ikke oppsettet ONNX-eksporten gjenskaper"
                return None
            try:
                ensure_exported(model, folder, self.config.name)
            except Exception as exc:  # noqa: BLE001 - sentence-transformers keeps working
                self.fast_error = f"ONNX-eksporten feilet: {exc}"
                return None
        return OnnxEncoder(folder)

    # ------------------------------------------------------------------ encode

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "query")

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Passages for the index: always float32 sentence-transformers, all cores."""
        return self._encode_model(texts, "passage", progress)

    def encode_sentences(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors of answer sentences, remembered by text (LRU): a passage that
        answers one question is often quoted for the next ones about the same subject."""
        with self._sentences_lock:
            known = {t: self._sentences.get(t) for t in texts}
        missing = list(dict.fromkeys(t for t, v in known.items() if v is None))
        if missing:
            for text, vector in zip(missing, self._encode(missing, "passage")):
                known[text] = vector
        with self._sentences_lock:
            self.sentence_misses += len(missing)
            self.sentence_hits += len(texts) - len(missing)
            for text in texts:
                self._sentences[text] = known[text]
                self._sentences.move_to_end(text)
            while len(self._sentences) > SENTENCE_CACHE:
                self._sentences.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([known[t] for t in texts])

    def clear_sentence_cache(self) -> None:
        with self._sentences_lock:
            self._sentences.clear()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text costs the model, without special tokens or prompt."""
        if not texts:
            return []
        if self.short is not None:
            return self.short.count_tokens(texts)
        encoded = self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def _encode(self, texts: Sequence[str], prompt_name: str) -> np.ndarray:
        """A few short texts: the ONNX path when there is one."""
        if self.short is None:
            return self._encode_model(texts, prompt_name)
        prompt = {"query": self.config.query_prompt, "passage": self.config.passage_prompt}[prompt_name]
        return self.short.encode([prompt + text for text in texts])

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


def is_prepared(config: ModelConfig) -> bool:
    """True when the one-time preparation (model export, ONNX export) is done already."""
    return is_complete(encoder_dir(config.name))
