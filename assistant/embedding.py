"""Chunks → vectors: the sentence-transformers model behind dense search.

One :class:`Embedder` per process is enough; it is created by whoever needs it (CLI,
server, tests) and passed along, never kept in a module global.

Two paths, the same vectors. Indexing encodes many passages through sentence-transformers
on all cores. A question (or a few sentences) is encoded on one thread through a frozen
TorchScript trace of the same transformer: on two shared cores, sentence-transformers
spent ~50 ms on a question with one thread and several hundred ms with two whenever
another process kept a core busy (OpenMP threads waiting on each other), the trace ~25 ms.
See docs/performance.md.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from .config import ModelConfig

#: Up to this many texts an encode counts as small and takes the one-thread path.
SMALL_BATCH = 8
#: Answer sentences remembered (by text) with their vectors: ~1.5 KB each.
SENTENCE_CACHE = 4096


class Embedder:
    """A sentence-transformers model with the query/passage prompts it was trained with."""

    def __init__(self, config: ModelConfig = ModelConfig(), model=None, fast: bool = True):
        import torch

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
        #: Threads for indexing: torch's default (all cores) as it was when we started.
        self.threads = torch.get_num_threads()
        self.small = FrozenEncoder(self.model) if fast and FrozenEncoder.supports(self.model) else None
        self._queries = 0
        self._sentences: OrderedDict[str, np.ndarray] = OrderedDict()
        self._sentences_lock = threading.Lock()
        self.sentence_hits = self.sentence_misses = 0

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self._queries += 1
        if self._queries == 2 and self.small is not None:
            # A second question means a process that keeps answering (server, eval): worth
            # the trace. A one-shot `ask` never starts it and exits without waiting for it.
            self.small.start()
        return self._encode(texts, "query")

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, "passage", progress)

    def encode_sentences(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors of answer sentences, remembered by text (LRU): a passage that
        answers one question is often quoted for the next ones about the same subject."""
        with self._sentences_lock:
            known = {t: self._sentences.get(t) for t in texts}
        missing = list(dict.fromkeys(t for t, v in known.items() if v is None))
        if missing:
            for text, vector in zip(missing, self.encode_passages(missing)):
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

    def _encode(self, texts: Sequence[str], prompt_name: str, progress: bool = False) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        small = len(texts) <= SMALL_BATCH
        if small and self.small is not None and self.small.ready:
            prompt = self.model.prompts.get(prompt_name, "")
            return self.small.encode([prompt + text for text in texts])
        # Per calling thread (OpenMP): one for a few texts, all cores for indexing.
        torch.set_num_threads(1 if small else self.threads)
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


class FrozenEncoder:
    """Transformer + mean pooling + L2 norm as one frozen TorchScript module, on one thread.

    Only used for models laid out as [Transformer, mean Pooling (prompt included),
    Normalize] on CPU, where it computes what ``model.encode`` does (to ~1e-7). Tracing
    takes a few seconds, so :meth:`start` does it in the background (from the second
    question on) and the Embedder uses sentence-transformers until it is :attr:`ready`;
    no question is kept waiting. The trace is made with a padded batch, so the attention mask stays in the
    graph for padded batches of any length.
    """

    def __init__(self, model):
        self.tokenizer = model.tokenizer
        self.transformer = model[0].auto_model
        self.max_length = int(model.max_seq_length)
        self._module = None
        self.error: Exception | None = None  # why tracing failed, if it did
        self._done = threading.Event()
        self._started = False
        self._lock = threading.Lock()

    @staticmethod
    def supports(model) -> bool:
        try:
            modules = list(model)
            pooling = modules[1].get_config_dict()
            return (
                len(modules) == 3
                and hasattr(modules[0], "auto_model")
                and type(modules[2]).__name__ == "Normalize"
                and pooling.get("pooling_mode") == "mean"
                and pooling.get("include_prompt", True)
                and str(model.device) == "cpu"
            )
        except (AttributeError, IndexError, TypeError):
            return False

    def start(self) -> None:
        """Trace in a background thread (once)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        # Not a daemon: a process that ends while tracing waits for it (a few seconds at
        # most) instead of aborting inside torch.
        threading.Thread(target=self._build, name="frozen-encoder").start()

    @property
    def ready(self) -> bool:
        return self._module is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until tracing has finished (tests, benchmarks); True if it succeeded."""
        self.start()
        self._done.wait(timeout)
        return self.ready

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        batch = self._tokenize(texts)
        torch.set_num_threads(1)
        with torch.inference_mode():
            vectors = self._module(batch["input_ids"], batch["attention_mask"])
        return np.ascontiguousarray(vectors.numpy(), dtype=np.float32)

    def _tokenize(self, texts: list[str]):
        return self.tokenizer(texts, padding=True, truncation="longest_first",
                              max_length=self.max_length, return_tensors="pt")

    def _build(self) -> None:
        import logging
        import warnings

        import torch

        # Tracing reads every attribute, and transformers logs one about a training loss.
        transformers_log = logging.getLogger("transformers.modeling_utils")
        level = transformers_log.level
        try:
            torch.set_num_threads(1)  # leave the other core to whatever starts meanwhile
            pooled = _mean_pooled(self.transformer).eval()
            example = self._tokenize(["ein to tre fire fem seks sju", "ein"])  # padded: mask kept
            transformers_log.setLevel(logging.ERROR)
            # Tracing warns about the branches it freezes (the mask path is kept on purpose)
            # and that TorchScript is deprecated; filters, not catch_warnings, which is not
            # safe outside the main thread.
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", message=r".*(optimize_for_inference|torch\.jit).*",
                                    category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
            with torch.inference_mode():
                traced = torch.jit.trace(pooled, (example["input_ids"], example["attention_mask"]),
                                         strict=False, check_trace=False)
                self._module = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))
        except Exception as exc:  # noqa: BLE001 - the sentence-transformers path keeps working
            self.error = exc
        finally:
            transformers_log.setLevel(level)
            self._done.set()


def _mean_pooled(transformer):
    """``transformer`` followed by sentence-transformers' mean pooling and Normalize."""
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask):
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    return MeanPooled()
