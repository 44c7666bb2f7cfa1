"""The Embedder: float32 sentence-transformers for passages, ONNX for short texts."""

import numpy as np

from assistant.config import ModelConfig
from assistant.embedding import Embedder


def test_passages_are_the_float32_model_vectors(embedder):
    texts = [f"Setning nummer {i} om samferdsel i regionen." for i in range(20)]
    reference = embedder.model.encode(texts, prompt_name="passage", normalize_embeddings=True)
    np.testing.assert_allclose(embedder.encode_passages(texts), reference, atol=1e-5)
    assert embedder.encode_queries([]).shape == (0, embedder.dimension)
    assert embedder.encode_passages([]).shape == (0, embedder.dimension)


def test_questions_take_the_onnx_path_with_the_query_prompt(embedder):
    assert embedder.onnx is not None, embedder.onnx_error
    question = "Hvor mange kommuner er med i Osloregionen?"
    np.testing.assert_array_equal(embedder.encode_queries([question])[0],
                                  embedder.onnx.encode(["query: " + question])[0])


def test_token_counts_are_the_model_tokenizer_counts(embedder):
    texts = ["Osloregionen", "ord " * 700, "Ladeinfrastruktur for tungtransport – 2024/25!", ""]
    expected = [len(ids) for ids in
                embedder.model.tokenizer(texts, add_special_tokens=False)["input_ids"]]
    assert embedder.count_tokens(texts) == expected
    assert expected[1] > 512  # counting never truncates


def test_without_the_fast_path_everything_is_sentence_transformers(embedder, embedder_model):
    slow = Embedder(ModelConfig(), embedder.models_dir, model=embedder_model, use_onnx=False)
    assert slow.onnx is None
    questions = ["Hvor mange kommuner er med i Osloregionen?", "Når?"]
    reference = embedder_model.encode(questions, prompt_name="query", normalize_embeddings=True)
    np.testing.assert_allclose(slow.encode_queries(questions), reference, atol=1e-5)
    assert slow.count_tokens(["Osloregionen"]) == [len(embedder_model.tokenizer(
        "Osloregionen", add_special_tokens=False)["input_ids"])]
