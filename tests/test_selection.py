"""The pure parts of answer selection: question types, answer spans, features, the model."""

import numpy as np
import pytest

from assistant.selection import (
    ANSWERABILITY_FEATURES,
    CHEAP_FEATURES,
    DEFAULT_READ_MORE_BELOW,
    AnswerModels,
    Candidate,
    LogisticModel,
    Question,
    answer_type,
    cheap_features,
    default_models,
    fit_logistic,
    is_chrome,
    is_heading,
    is_list_question,
    new_spans,
    reader_features,
    spans,
)


@pytest.mark.parametrize("question, kind", [
    ("Hvor mange kommuner er med i Osloregionen?", "number"),
    ("Hvor mye fikk prosjektet fra Klimasats?", "number"),
    ("Kor mykje kostar det?", "number"),
    ("How many members are there?", "number"),
    ("Hvor ofte møtes representantskapet?", "number"),  # how often: no place
    ("Kor ofte kjem rapporten?", "number"),
    ("Når ble strategien vedtatt?", "date"),
    ("I hvilket år ble rådet etablert?", "date"),
    ("Kor tid kom rapporten?", "date"),
    ("Hvem lagde veilederen for energistasjoner?", "name"),
    ("Kven leiar styret?", "name"),
    ("Hvor ligger sekretariatet?", "place"),
    ("Hvor finner vi Lierskogen?", "place"),
    ("Hvor kan jeg parkere?", "place"),
    ("Hvor kan jeg lese rapportene fra godsprosjektet?", "link"),
    ("Kvar finn eg rapportane?", "link"),
    ("Where can I download the strategy?", "link"),
    ("Hva gjør regionen for lading av tunge kjøretøy?", None),
    ("Hvorfor trengs mer godstransport på sjø?", None),
])
def test_answer_type_follows_the_question_word(question, kind):
    assert answer_type(question) == kind


def test_list_questions():
    assert is_list_question("Hvilke innsatsområder har Osloregionen?")
    assert is_list_question("Hva er målene i strategien?")
    assert not is_list_question("Hva gjør regionen for lading?")
    assert is_list_question("What are the focus areas for 2021-2024?")
    assert not is_list_question("What is the highest body of Osloregionen?")


def test_spans_find_dates_amounts_and_names():
    sentence = "Strategien, vedtatt 28. oktober 2020, fikk 1 500 000 kroner fra Klimasats."
    texts = lambda kind: [sentence[a:b] for a, b in spans(sentence, kind)]
    assert "28. oktober 2020" in texts("date")
    assert "1 500 000 kroner" in texts("number")
    assert "Klimasats" in texts("name")
    often = "Styret møtes hver måned, og strategien rulleres hvert fjerde år."
    assert [often[a:b] for a, b in spans(often, "number")] == ["hver måned", "hvert fjerde år"]
    assert "Strategien" not in texts("name")  # the first word is capitalised anyway


def test_a_question_where_to_read_something_is_answered_by_a_web_address():
    sentence = "Rapporter tilgjengelig på Osloregionens nettsider https://www.osloregionen.no/gods/."
    found = [sentence[a:b] for a, b in spans(sentence, "link")]
    assert found == ["https://www.osloregionen.no/gods/"]  # the address, without the full stop
    sentence = "Rapportene ligger på kommunens nettsider."
    assert [sentence[a:b] for a, b in spans(sentence, "link")] == ["nettsider"]
    assert spans("Flowchange har levert 3 delrapporter.", "link") == []


def test_new_spans_leave_out_what_the_question_says():
    question = Question.of("Hvor mange kommuner var med i 2020?")
    sentence = "I 2020 var 65 kommuner med."
    found = [sentence[a:b] for a, b in new_spans(sentence, "number", question.words)]
    assert found == ["65 kommuner"]


@pytest.mark.parametrize("text", ["Politiske organer:", "• Politiske organer:", "Medlemmer",
                                  "Osloregionen – Grønt", "Innsatsområder 2021 - 2024:"])
def test_headings_are_recognised(text):
    assert is_heading(text)


@pytest.mark.parametrize("text", ["Etablert i 2004", "• Klima og miljø",
                                  "Representantskapet er høyeste organ",
                                  "Medlemmer: 64 kommuner inklusiv Oslo",
                                  "• Prosjektleder: Kari Nordvik", "Sted: Storvik Rådhus"])
def test_statements_are_not_headings(text):
    assert not is_heading(text)


@pytest.mark.parametrize("text", ["Hopp til innhold", "Tlf +47 22 00 00 00 Send meg en e-post",
                                  "Vi bruker informasjonskapsler for å forbedre nettstedet.",
                                  "Meny", "Arkivfoto: Per Løchen / NTB scanpix",
                                  "FOTO: Elliott Spagat, AP / NTB scanpix"])
def test_site_chrome_is_never_an_answer(text):
    assert is_chrome(text)


@pytest.mark.parametrize("text", ["Osloregionen har 64 medlemskommuner.",
                                  "Kommunen sender e-post til alle som har søkt.",
                                  "Telefonen ble vanlig i norske hjem etter krigen."])
def test_facts_are_not_chrome(text):
    assert not is_chrome(text)


@pytest.mark.parametrize("text", ["Tlf: 22 00 00 00", "E-post: post@osloregionen.no",
                                  "Ring +47 22 00 00 00"])
def test_contact_lines_are_chrome(text):
    assert is_chrome(text)


def test_cheap_features_see_type_match_and_overlap():
    q = Question.of("Hvem lagde veilederen for energistasjoner?")
    candidates = [
        Candidate(0, 0, "Veilederen for energistasjoner ble laget av Norconsult."),
        Candidate(0, 1, "Den beskriver hva kommunene kan gjøre."),
    ]
    x = cheap_features(q, candidates, [0.85], [1.0])
    column = {name: i for i, name in enumerate(CHEAP_FEATURES)}
    assert x.shape == (2, len(CHEAP_FEATURES))
    assert x[0, column["type_match"]] == 1.0 and x[1, column["type_match"]] == 0.0
    assert x[0, column["overlap"]] > x[1, column["overlap"]]


def test_reader_features_rank_and_gap():
    x = reader_features(np.array([0.80, 0.90, 0.85]))
    np.testing.assert_allclose(x[:, 1], [-0.10, 0.0, -0.05])
    np.testing.assert_allclose(x[:, 2], [1 / 3, 1.0, 1 / 2])


def test_logistic_regression_learns_a_separable_rule_and_round_trips():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] - 0.5 * x[:, 1] > 0).astype(float)
    model = fit_logistic(x, y, ("a", "b"), l2=0.1)
    accuracy = ((model.probabilities(x) >= 0.5) == y).mean()
    assert accuracy > 0.97
    assert model.weights[0] > 0 > model.weights[1]
    again = LogisticModel.from_json(model.to_json())
    np.testing.assert_allclose(again.logits(x), model.logits(x))


def test_shipped_weights_load_and_match_the_feature_lists():
    models = default_models()
    assert isinstance(models, AnswerModels)
    assert models.cheap.features == CHEAP_FEATURES
    assert models.answerable.features == ANSWERABILITY_FEATURES
    assert models.reference.shape[1] == 384 and len(models.reference) >= 200
    assert len(models.full.weights) == len(models.full.features)
    assert 0.0 < models.answerable.threshold < 1.0
    assert models.read_more_below is not None  # chosen with the weights, saved with them
    again = AnswerModels.from_json(models.to_json())
    assert again.read_more_below == models.read_more_below
    older = {k: v for k, v in models.to_json().items() if k != "read_more_below"}
    assert AnswerModels.from_json(older).read_more_below == DEFAULT_READ_MORE_BELOW
    # A sentence that holds the thing asked for scores above one that does not.
    column = {name: i for i, name in enumerate(CHEAP_FEATURES)}
    assert models.cheap.weights[column["type_match"]] > 0


def test_a_title_over_bullets_is_a_heading():
    assert is_heading("2022: Hovedprioriteringer Klima og miljø", "• Bidra til å redusere utslipp")
    assert not is_heading("Regionen vedtok planen i 2016.", "• Bidra til å redusere utslipp")
    assert not is_heading("• Klima og miljø", "• Felleskap og samarbeid")


def test_compounds_match_by_their_first_part_and_a_verbal_noun_by_its_verb():
    from assistant.selection import overlap

    q = Question.of("Hva gjør regionen for lading av tunge kjøretøy?")
    terms = set(__import__("assistant.lexical", fromlist=["analyze"]).analyze(
        "ladeinfrastruktur for tungtransport"))
    assert overlap(q, terms, loose=True) > overlap(q, terms)


def test_a_compound_of_the_question_is_covered_by_its_parts_written_apart():
    from assistant.lexical import analyze
    from assistant.selection import covers

    terms = set(analyze("Sluttrapport – Osloregionens gods- og logistikkprosjekt"))
    assert "godsprosjekt" not in terms
    assert covers("godsprosjekt", terms)  # gods- … -prosjekt, with a linking -s-
    assert not covers("sjøprosjekt", terms)
    assert covers("kommunestyr", set(analyze("kommunens styre")))  # linking -e-


def test_a_subject_at_the_start_of_a_sentence_is_a_name():
    sentence = "• Flowchange har levert 3 delrapporter og en sluttrapport i prosjektet:"
    assert [sentence[a:b] for a, b in spans(sentence, "name")] == ["Flowchange"]
    assert "Representantskapet" not in [sentence[a:b] for a, b in spans("Representantskapet møtes i mai.", "name")]


def test_listwise_training_puts_the_answer_first_within_each_question():
    from assistant.selection import fit_listwise

    rng = np.random.default_rng(1)
    groups = []
    for _ in range(60):
        x = rng.normal(size=(5, 2))
        y = np.zeros(5)
        y[int(np.argmax(x[:, 0] + 0.2 * x[:, 1]))] = 1.0  # feature a decides, b helps a little
        x[:, 1] += 3.0  # a shift shared by the whole question changes nothing
        groups.append((x, y))
    model = fit_listwise(groups, ("a", "b"), l2=0.01)
    right = sum(y[int(np.argmax(model.logits(x)))] for x, y in groups)
    assert right >= 55 and model.weights[0] > model.weights[1] > 0


def test_answerability_compares_the_best_passage_with_unrelated_ones_and_rarity_is_relative():
    from assistant.selection import ANSWERABILITY_FEATURES, answerability_features

    column = {name: i for i, name in enumerate(ANSWERABILITY_FEATURES)}
    idf = {"ruter": 3.0, "månedskort": 3.0, "kost": 0.5}.get
    q = Question.of("Hva koster et månedskort hos Ruter?", lambda t: idf(t, 3.0))
    assert q.unknown_weight == 3.0  # a term the corpus lacks weighs most
    best = Candidate(0, 0, "Billetter kan kjøpes i appen.")
    x = answerability_features(q, best, np.array([1.0]), ["Billetter kan kjøpes i appen."],
                               [0.80], 0.0, False, reference_scores=np.array([0.70, 0.83]))
    assert x[column["dense_over_reference_top20"]] == pytest.approx(0.80 - 0.765)
    assert x[column["rare_coverage_passage"]] == 0.0  # neither "ruter" nor "månedskort"
    assert x[column["max_missing_idf"]] == pytest.approx(1.0)  # as a share of the highest
    no_background = answerability_features(q, best, np.array([1.0]), ["x"], [0.80], 0.0,
                                           False, reference_scores=np.zeros(0))
    assert no_background[column["dense_over_reference_top20"]] == 0.0
