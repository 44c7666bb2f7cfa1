"""The one-thread TorchScript path for questions gives the vectors sentence-transformers gives."""

import numpy as np

TEXTS = [
    "Hvor mange kommuner er med i Osloregionen?",
    "Når?",
    "Osloregionen er et interkommunalt politisk råd med 64 kommuner, Oslo medregnet. " * 4,
    "ord " * 700,  # longer than the model's 512 tokens: truncated the same way
]


def test_frozen_path_matches_sentence_transformers(embedder):
    assert embedder.small is not None and embedder.small.wait(120)
    for prompt_name, encode in (("query", embedder.encode_queries), ("passage", embedder.encode_passages)):
        reference = embedder.model.encode(TEXTS, prompt_name=prompt_name, normalize_embeddings=True,
                                          convert_to_numpy=True)
        np.testing.assert_allclose(encode(TEXTS), reference, atol=1e-5)
        for text, row in zip(TEXTS, reference):  # batch of one: no padding at all
            np.testing.assert_allclose(encode([text])[0], row, atol=1e-5)


def test_many_texts_take_the_sentence_transformers_path(embedder):
    texts = [f"Setning nummer {i} om samferdsel i regionen." for i in range(20)]
    reference = embedder.model.encode(texts, prompt_name="passage", normalize_embeddings=True)
    np.testing.assert_allclose(embedder.encode_passages(texts), reference, atol=1e-5)
    assert embedder.encode_queries([]).shape == (0, embedder.dimension)


def test_sentence_vectors_are_remembered(embedder):
    sentences = ["Etablert i 2004.", "Representantskapet er høyeste organ.", "Etablert i 2004."]
    reference = embedder.encode_passages(sentences)
    hits, misses = embedder.sentence_hits, embedder.sentence_misses
    np.testing.assert_allclose(embedder.encode_sentences(sentences), reference, atol=1e-6)
    np.testing.assert_allclose(embedder.encode_sentences(sentences[:2]), reference[:2], atol=1e-6)
    assert embedder.sentence_misses - misses <= 2  # each text encoded at most once
    assert embedder.sentence_hits - hits >= 3
