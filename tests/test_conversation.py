from assistant.conversation import contextualize, is_follow_up


def test_follow_ups_are_recognised():
    assert is_follow_up("Og hva med jernbane?")
    assert is_follow_up("Når kom den?")
    assert is_follow_up("Hva med sjøtransport")
    assert not is_follow_up("Hvor mange kommuner er med i Osloregionen?")
    assert not is_follow_up("")
    # one noun in the definite form points back ("the goals" of what we talked about)
    assert is_follow_up("Hva er målene?") and is_follow_up("Kva er måla?")
    assert is_follow_up("Hvem er styrelederen?")
    assert not is_follow_up("Hva er Osloregionen?")  # a name stands alone
    assert not is_follow_up("Hvem er statsminister?")  # indefinite
    assert not is_follow_up("Hvor ligger sekretariatet?")  # a verb and a noun: a question


def test_follow_up_carries_the_previous_topic_but_keeps_its_own_words_first():
    searched = contextualize("Og hva med jernbane?", "Hva gjør regionen for godstransport på sjø?")
    assert searched.startswith("Og hva med jernbane?")
    assert "godstransport" in searched and "hva" not in searched.split("(")[1]


def test_standalone_question_is_left_alone():
    question = "Hvem har skrevet rapportene i gods- og logistikkprosjektet?"
    assert contextualize(question, "Når ble Osloregionen etablert?") == question
    assert contextualize("Når kom den?", None) == "Når kom den?"
