"""The ONNX export that encodes questions and answer sentences."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.config import ModelConfig
from assistant.embedding import Embedder
from assistant.norquad import read_norquad
from assistant.onnx_encoder import (
    MARKER_FILE,
    MODEL_FILE,
    OnnxEncoder,
    encoder_dir,
    is_complete,
)

TEXTS = [
    "query: Hvor mange kommuner er med i Osloregionen?",
    "query: Når?",
    "passage: Osloregionen er et interkommunalt politisk råd med 64 kommuner, Oslo medregnet. " * 4,
    "passage: " + "ord " * 700,  # longer than the model's 512 tokens: cut the same way
]


DATA = Path(__file__).parent / "data"


def test_export_gives_the_float32_vectors_on_any_cpu(embedder, embedder_model):
    vectors = embedder.onnx.encode(TEXTS)
    reference = embedder_model.encode(TEXTS, normalize_embeddings=True)
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() > 0.999, cosines
    # One text at a time, so a batch gives exactly the vectors of its texts alone.
    for text, row in zip(TEXTS, vectors):
        np.testing.assert_array_equal(embedder.onnx.encode([text])[0], row)


@pytest.fixture(scope="module")
def norquad_questions():
    """240 NorQuAD validation questions, each with the index of its passage."""
    questions, _ = read_norquad(DATA / "norquad-validation-240.json")
    passages: dict[str, int] = {}
    gold = [passages.setdefault(q.context, len(passages)) for q in questions]
    return [q.question for q in questions], list(passages), np.array(gold)


def test_questions_are_encoded_as_sentence_transformers_does_and_rank_alike(
        embedder, embedder_model, norquad_questions):
    """The fast path must be the same model on every x86 CPU, not an approximation that
    holds on one: a quantised matrix product that saturates without VNNI fails this."""
    questions, passages, gold = norquad_questions
    assert len(questions) >= 200
    exact = embedder_model.encode(questions, prompt_name="query", normalize_embeddings=True)
    fast = embedder.encode_queries(questions)
    cosines = (exact * fast).sum(axis=1)
    assert cosines.min() >= 0.995, (cosines.min(), questions[int(cosines.argmin())])
    index = embedder.encode_passages(passages)
    recall_exact = ((exact @ index.T).argmax(axis=1) == gold).mean()
    recall_fast = ((fast @ index.T).argmax(axis=1) == gold).mean()
    assert abs(recall_fast - recall_exact) <= 0.005, (recall_fast, recall_exact)


def test_token_ids_are_the_sentence_transformers_ones_also_when_cut(embedder, embedder_model):
    for text in [*TEXTS, "passage: " + "Ladeinfrastruktur for tungtransport. " * 300, ""]:
        expected = embedder_model.tokenizer(text, truncation=True,
                                            max_length=embedder_model.max_seq_length)["input_ids"]
        assert embedder.onnx.token_ids(text) == expected
    assert len(embedder.onnx.token_ids(TEXTS[3])) == 512


def test_fast_questions_rank_float32_passages_as_the_float32_questions_do(embedder, embedder_model):
    passages = [
        "Osloregionen bygger ut ladeinfrastruktur for tungtransport langs hovedveiene.",
        "Representantskapet er Osloregionens høyeste organ og møtes to ganger i året.",
        "Regionen har 64 medlemskommuner og om lag 2,3 millioner innbyggere.",
        "Kollektivtrafikken i regionen skal ta veksten i persontransporten.",
        "Strategien for areal og transport ble vedtatt i 2016.",
    ]
    questions = [
        "Hva gjør regionen for lading av tunge kjøretøy?",
        "Hva er det høyeste organet?",
        "Hvor mange kommuner er med?",
        "Hvem skal ta veksten i persontrafikken?",
        "Når ble areal- og transportstrategien vedtatt?",
    ]
    index = embedder.encode_passages(passages)  # the index keeps float32 vectors
    exact = embedder_model.encode(questions, prompt_name="query", normalize_embeddings=True)
    fast = embedder.encode_queries(questions)
    assert list((fast @ index.T).argmax(axis=1)) == list((exact @ index.T).argmax(axis=1)) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(fast @ index.T, exact @ index.T, atol=0.02)


def test_the_export_is_reused_and_a_second_process_needs_no_torch(embedder, e5_model_dir):
    cache = e5_model_dir.parents[1]
    folder = encoder_dir(ModelConfig().name, cache / "models")
    assert folder == embedder.onnx.folder and is_complete(folder)
    marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    assert marker["dimension"] == 384 and marker["max_length"] == 512

    script = (
        "import sys; from assistant.config import Settings; from assistant.embedding import Embedder; "
        "from assistant.reader import CrossEncoderReader; "
        "s = Settings.from_env(); e = Embedder(s.model, s.models_dir); "
        "v = e.encode_queries(['Hvor mange kommuner?']); "
        "CrossEncoderReader(s.models_dir).score('Hvor mange kommuner?', ['Etablert i 2004.']); "
        "print(v.shape[1], 'torch' in sys.modules)  # no torch: the model was never loaded"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={**__import__("os").environ, "ASSISTANT_CACHE_DIR": str(cache)},
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["384", "False"]


def test_an_unfinished_export_is_not_used(tmp_path):
    (tmp_path / MODEL_FILE).write_bytes(b"half written")
    assert not is_complete(tmp_path)  # no marker: made again, never loaded
    (tmp_path / MARKER_FILE).write_text('{"export_format": 0}', encoding="utf-8")
    assert not is_complete(tmp_path)  # an older format: made again


def test_a_failed_export_falls_back_to_sentence_transformers(embedder_model, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")  # the cache cannot be created below a file
    fallback = Embedder(ModelConfig(), blocker / "models", model=embedder_model)
    assert fallback.onnx is None and "ONNX" in fallback.onnx_error
    reference = embedder_model.encode(["Når?"], prompt_name="query", normalize_embeddings=True)
    np.testing.assert_allclose(fallback.encode_queries(["Når?"]), reference, atol=1e-5)


def test_one_worker_gives_the_same_vectors_and_a_missing_export_fails_clearly(embedder):
    encoder = OnnxEncoder(embedder.onnx.folder, workers=1)
    try:
        np.testing.assert_array_equal(encoder.encode(TEXTS[:3]), embedder.onnx.encode(TEXTS[:3]))
    finally:
        encoder.close()
    with pytest.raises(FileNotFoundError):
        OnnxEncoder(embedder.onnx.folder.parent / "finnes-ikke")
