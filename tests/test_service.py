"""The answer cache of :class:`Assistant`: a repeated question is not searched again."""

from assistant.config import Settings
from assistant.service import Assistant

QUESTION = "Hvor mange kommuner er med i Osloregionen?"


def small_assistant(tmp_path, embedder) -> Assistant:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "fakta.txt").write_text(
        "Osloregionen er et interkommunalt politisk råd med 64 kommuner, Oslo medregnet.\n\n"
        "Samarbeidet ble etablert i 2004 og har om lag 2,3 millioner innbyggere.\n",
        encoding="utf-8")
    assistant = Assistant(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"),
                          embedder=embedder)
    assistant.build(progress=False)
    return assistant


def test_second_ask_is_answered_from_the_cache(tmp_path, embedder, monkeypatch):
    assistant = small_assistant(tmp_path, embedder)
    first = assistant.ask(QUESTION)
    assert first.found and "64 kommuner" in first.answer
    assert assistant.cache_info().hits == 0 and assistant.cache_info().misses == 1

    # A cache hit must not touch the model or the index: make both fail loudly.
    def no_search(*args, **kwargs):
        raise AssertionError("searched again")

    monkeypatch.setattr(assistant.searcher, "search", no_search)
    monkeypatch.setattr(assistant.searcher, "embed_query", no_search)
    second = assistant.ask("  hvor mange kommuner er med i   Osloregionen? ")
    info = assistant.cache_info()
    assert (info.hits, info.misses, info.size) == (1, 1, 1)
    assert second.answer == first.answer and second.citations == first.citations


def test_rebuild_empties_the_cache(tmp_path, embedder):
    assistant = small_assistant(tmp_path, embedder)
    assistant.ask(QUESTION)
    assistant.ask(QUESTION)
    assert assistant.cache_info().hits == 1

    assistant.build(rebuild=True, progress=False)
    assert assistant.cache_info().size == 0
    answer = assistant.ask(QUESTION)
    info = assistant.cache_info()
    assert answer.found and (info.hits, info.misses, info.size) == (0, 1, 1)


def test_different_mode_is_not_a_cache_hit(tmp_path, embedder):
    assistant = small_assistant(tmp_path, embedder)
    assistant.ask(QUESTION, mode="hybrid")
    assistant.ask(QUESTION, mode="lexical")
    assert assistant.cache_info().hits == 0 and assistant.cache_info().misses == 2
