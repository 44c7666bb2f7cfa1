import numpy as np

from assistant.lexical import ANALYZER_FILE, Decompounder, LexicalIndex, analyze

TEXTS = [
    "Osloregionens gods- og logistikkprosjekt 2018–2020.",
    "Sluttrapport fra gods- og logistikkprosjektet, oktober 2020.",
    "Rapporter er tilgjengelige på Osloregionens nettsider.",
    "Et prosjekt om logistikk og gods på jernbane.",
    "Prosjektet skrev en rapport om sjøtransport.",
    "Kommunene og innbyggerne i regionen.",
    "Logistikk for sjø og bane.",
]


def test_a_compound_is_split_into_two_known_terms_with_the_longest_head():
    split = Decompounder(frozenset({"slutt", "rapport", "port", "sluttrap", "god", "prosjekt"}))
    assert split.parts("sluttrapport") == ("slutt", "rapport")
    # A linking -s- between the parts: "gods-prosjekt" → "god" (as the stemmer has it).
    assert split.parts("godsprosjekt") == ("god", "prosjekt")
    assert split.parts("kommun") == ()  # too short to be a compound
    assert split.parts("2020") == ()
    assert split.expand(["les", "sluttrapport"]) == ["les", "sluttrapport", "slutt", "rapport"]


def test_a_part_must_be_known_from_the_corpus():
    split = Decompounder(frozenset({"rapport"}))
    assert split.parts("sluttrapport") == ()  # "slutt" is not a term of this corpus


def test_the_index_finds_the_parts_of_a_compound_the_corpus_never_writes():
    index = LexicalIndex.build(TEXTS)
    assert "godsprosjekt" not in index.vocab
    terms = index.analyze("Hvor kan jeg lese rapportene fra godsprosjektet?")
    assert {"god", "prosjekt"} <= set(terms)
    scores = index.scores("godsprosjektet")
    assert scores[3] > 0 and scores[5] == 0  # "prosjekt om logistikk og gods"
    assert index.ceiling("godsprosjektet") > 0


def test_the_index_splits_the_compounds_in_its_texts_too():
    index = LexicalIndex.build(TEXTS)
    # "logistikk" and "prosjekt" are each in two texts, so "logistikkprosjekt" is indexed
    # by them as well; "transport" is in no text alone, so "sjøtransport" stays whole.
    assert index.scores("prosjekt")[0] > 0 and index.scores("prosjekt")[1] > 0
    assert index.scores("transport")[4] == 0


def test_saved_index_keeps_its_analyzer_and_an_old_index_is_queried_unsplit(tmp_path):
    index = LexicalIndex.build(TEXTS)
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    assert loaded.decompounder == index.decompounder
    np.testing.assert_allclose(loaded.scores("godsprosjektet"), index.scores("godsprosjektet"))
    (tmp_path / ANALYZER_FILE).unlink()  # as an index built before compounds were split
    old = LexicalIndex.load(tmp_path)
    assert old.decompounder is None
    assert old.analyze("godsprosjektet") == analyze("godsprosjektet") == ["godsprosjekt"]
