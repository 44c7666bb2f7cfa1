"""Dense search above the HNSW threshold: graph search, filters and exact fallback."""

from dataclasses import replace

import numpy as np
import pytest

from assistant.config import SearchConfig
from assistant.search import Searcher
from assistant.store import faiss_index_kind, make_faiss_index
from tests.fakes import FakeEncoder, chunk_of, document_of, memory_index


def clustered_vectors(n: int, d: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // 50, d)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + 0.3 * rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def setup():
    config = replace(SearchConfig(), hnsw_min_chunks=2000)
    x = clustered_vectors(5000)
    exact = make_faiss_index(x, x.shape[1], replace(config, hnsw_min_chunks=10**9))
    index = memory_index([document_of("d", ["tekst"])], [chunk_of("d", "tekst")] * len(x), x, config)
    graph = index.vectors
    searcher = Searcher(index, FakeEncoder(x.shape[1]), config)  # only dense search is used
    queries = clustered_vectors(60, seed=1)
    return config, x, exact, graph, searcher, queries


def test_kind_follows_the_threshold():
    config = SearchConfig()
    assert faiss_index_kind(config.hnsw_min_chunks - 1, config) == "IndexFlatIP"
    assert faiss_index_kind(config.hnsw_min_chunks, config) == "IndexHNSWFlat"


def test_graph_search_finds_what_exact_search_finds(setup):
    _, _, exact, graph, searcher, queries = setup
    assert type(graph).__name__ == "IndexHNSWFlat"
    mask = np.ones(graph.ntotal, dtype=bool)
    recalls = []
    for q in queries:
        _, truth = exact.search(q[None, :], 10)
        found = searcher.dense_candidates(q, 10, mask)
        recalls.append(len(set(truth[0]) & set(found)) / 10)
    assert np.mean(recalls) >= 0.98


def test_filters_are_respected_and_small_filters_are_exact(setup):
    config, x, exact, graph, searcher, queries = setup
    for share in (0.5, 0.01):  # 2 500 allowed: graph with selector; 50: exact over them
        mask = np.zeros(graph.ntotal, dtype=bool)
        mask[np.random.default_rng(2).choice(graph.ntotal, int(share * graph.ntotal), replace=False)] = True
        allowed = np.flatnonzero(mask)
        for q in queries[:20]:
            found = searcher.dense_candidates(q, 10, mask)
            assert len(found) == 10 and all(mask[i] for i in found)
            truth = allowed[np.argsort(-(x[allowed] @ q))[:10]]
            recall = len(set(truth) & set(found)) / 10
            assert recall >= (1.0 if share == 0.01 else 0.8)
            for i, score in found.items():
                assert score == pytest.approx(float(x[i] @ q), abs=1e-5)


def test_reconstruct_works_on_the_graph_index(setup):
    _, x, _, graph, searcher, queries = setup
    ids = [3, 1500, 4999]
    np.testing.assert_allclose(searcher.dense_scores(queries[0], ids), x[ids] @ queries[0], atol=1e-5)
