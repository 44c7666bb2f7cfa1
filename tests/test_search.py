"""Search: the fusion arithmetic, and dense/lexical/hybrid search over a small index.

Pure logic with a fake encoder (tests/fakes.py); the index is real FAISS and real BM25.
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.config import SearchConfig
from assistant.search import PUBLIC, STAFF, Filters, Searcher, fuse
from tests.fakes import FakeEncoder, chunk_of, document_of, memory_index

# --------------------------------------------------------------------------- fuse


def test_minmax_is_the_weighted_sum_of_scaled_scores():
    dense = np.array([0.80, 0.90, 0.85])
    lexical = np.array([10.0, 0.0, 5.0])
    fused = fuse(dense, lexical, "minmax", weight=0.6)
    # dense scaled: 0, 1, 0.5; lexical scaled: 1, 0, 0.5
    np.testing.assert_allclose(fused, [0.4, 0.6, 0.5])


def test_minmax_with_equal_scores_counts_them_fully_unless_all_are_zero():
    dense = np.array([0.7, 0.7])
    np.testing.assert_allclose(fuse(dense, np.zeros(2), "minmax", weight=0.6), [0.6, 0.6])
    np.testing.assert_allclose(fuse(dense, np.array([3.0, 3.0]), "minmax", weight=0.6), [1.0, 1.0])


def test_rrf_gives_no_lexical_share_without_a_keyword_match():
    dense = np.array([0.9, 0.8, 0.7])
    lexical = np.array([0.0, 2.0, 1.0])
    fused = fuse(dense, lexical, "rrf", weight=0.5, rrf_k=60)
    expected = [0.5 / 61, 0.5 / 62 + 0.5 / 61, 0.5 / 63 + 0.5 / 62]
    np.testing.assert_allclose(fused, expected)


def test_bounded_divides_bm25_by_its_ceiling_and_caps_it():
    dense = np.array([0.8, 0.9])
    lexical = np.array([2.0, 8.0])
    fused = fuse(dense, lexical, "bounded", weight=0.5, lexical_ceiling=4.0)
    np.testing.assert_allclose(fused, [0.5 * 0 + 0.5 * 0.5, 0.5 * 1 + 0.5 * 1.0])
    np.testing.assert_allclose(fuse(dense, lexical, "bounded", 0.5, lexical_ceiling=0.0),
                               [0.0, 0.5])


def test_fusion_of_no_candidates_is_empty():
    for method in ("minmax", "rrf", "bounded"):
        assert len(fuse(np.zeros(0), np.zeros(0), method, 0.6, lexical_ceiling=1.0)) == 0


def test_weight_one_is_dense_only_and_zero_lexical_only():
    dense = np.array([0.2, 0.9, 0.5])
    lexical = np.array([9.0, 1.0, 5.0])
    assert np.argmax(fuse(dense, lexical, "minmax", 1.0)) == 1
    assert np.argmax(fuse(dense, lexical, "minmax", 0.0)) == 0


# --------------------------------------------------------------------------- Searcher

TEXTS = {
    "ferje": "Ferjesambandet Moss–Horten fikk elektriske ferjer i 2021.",
    "lading": "Regionen bygger ladestasjoner for tunge kjøretøy langs hovedveiene.",
    "intern": "Budsjettet for ladestasjoner er fortrolig inntil videre.",
    "havn": "Oslo havn tar imot containere fra hele verden.",
}


@pytest.fixture(scope="module")
def searcher() -> Searcher:
    encoder = FakeEncoder()
    documents = [document_of(d, [t], visibility="internal" if d == "intern" else "public",
                             year=2020 + i) for i, (d, t) in enumerate(TEXTS.items())]
    chunks = [chunk_of(d, t) for d, t in TEXTS.items()]
    index = memory_index(documents, chunks, encoder.encode_passages(list(TEXTS.values())))
    return Searcher(index, encoder, SearchConfig())


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_each_mode_finds_the_passage_with_the_words(searcher, mode):
    hits = searcher.search("elektriske ferjer Moss", k=2, mode=mode)
    assert hits[0].chunk.doc_id == "ferje" and hits[0].rank == 1
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_scores_are_sorted_and_lexical_mode_has_no_dense_score(searcher):
    hits = searcher.search("ladestasjoner tunge kjøretøy", k=3, mode="hybrid")
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.dense == 0.0 for h in searcher.search("ladestasjoner", mode="lexical"))


def test_internal_documents_only_for_staff(searcher):
    public = {h.chunk.doc_id for h in searcher.search("budsjettet ladestasjoner", k=4, filters=PUBLIC)}
    staff = {h.chunk.doc_id for h in searcher.search("budsjettet ladestasjoner", k=4, filters=STAFF)}
    assert "intern" not in public and "intern" in staff


def test_filters_by_year_and_document(searcher):
    only = Filters(years=frozenset({2021}))
    assert {h.chunk.doc_id for h in searcher.search("regionen ladestasjoner", filters=only)} == {"lading"}
    nothing = Filters(doc_ids=frozenset({"finnes-ikke"}))
    assert searcher.search("ferjer", filters=nothing) == []


def test_empty_question_and_unknown_mode(searcher):
    assert searcher.search("   ") == []
    with pytest.raises(ValueError, match="Ukjent søkemodus"):
        searcher.search("ferjer", mode="magisk")


# --------------------------------------------------------------------------- relevance cut


def _hits(*scores: tuple[float, float, float]):
    """Hits best first from (score, dense, lexical); chunk and document do not matter here."""
    from assistant.search import Hit

    return [Hit(rank=i, chunk_id=i, chunk=None, document=None, score=s, dense=d, lexical=lx)
            for i, (s, d, lx) in enumerate(scores, start=1)]


def test_relevance_cut_gives_nothing_when_the_best_hit_is_weak():
    from assistant.config import SearchConfig
    from assistant.search import relevant

    config = SearchConfig(min_dense=0.83, min_lexical=1.0)
    nonsense = _hits((0.6, 0.80, 0.0), (0.3, 0.79, 0.0), (0.0, 0.77, 0.0))
    assert relevant(nonsense, "hybrid", config) == []
    assert relevant(nonsense, "dense", config) == []
    # a close meaning, or a strong keyword match, is enough on its own
    assert relevant(_hits((1.0, 0.86, 0.0)), "hybrid", config)
    assert relevant(_hits((1.0, 0.70, 2.5)), "hybrid", config)
    # keyword mode only ever returns chunks with the words in them
    assert len(relevant(_hits((0.4, 0.0, 0.4)), "lexical", config)) == 1
    assert relevant([], "hybrid", config) == []


def test_relevance_cut_drops_hits_far_below_the_best():
    from assistant.config import SearchConfig
    from assistant.search import relevant

    config = SearchConfig(relevance_ratio=0.25, dense_margin=0.05)
    hybrid = _hits((1.0, 0.89, 0.6), (0.32, 0.82, 0.4), (0.08, 0.82, 0.2), (0.0, 0.8, 0.0))
    assert [h.rank for h in relevant(hybrid, "hybrid", config)] == [1, 2]
    dense = _hits((0.89, 0.89, 0.0), (0.85, 0.85, 0.0), (0.82, 0.82, 0.0))
    assert [h.rank for h in relevant(dense, "dense", config)] == [1, 2]
