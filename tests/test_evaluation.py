"""Evaluation metrics, relevance, gold files and the NorQuAD converter (no model needed)."""

import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant.documents import load_corpus
from assistant.evaluation import (
    GoldError,
    GoldQuestion,
    answer_metrics,
    document_ranking,
    evaluate,
    first_relevant_rank,
    format_answer_table,
    format_table,
    load_gold,
    metrics,
)
from assistant.norquad import context_id, context_title, convert

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- metrics


def test_metrics_on_hand_computed_ranks():
    result = metrics([1, 3, None, 2])
    assert list(result) == ["recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "n"]
    assert result["n"] == 4
    assert result["recall@1"] == 0.25
    assert result["recall@5"] == 0.75
    assert result["recall@10"] == 0.75
    assert result["mrr@10"] == pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4, rel=1e-15)
    assert result["ndcg@10"] == pytest.approx(
        (1 + 1 / math.log2(4) + 0 + 1 / math.log2(3)) / 4, rel=1e-15
    )


def test_metrics_cut_off_at_ten():
    result = metrics([5, 10, 11, None])
    assert result["recall@1"] == 0.0
    assert result["recall@5"] == 0.25
    assert result["recall@10"] == 0.5
    assert result["mrr@10"] == pytest.approx((1 / 5 + 1 / 10) / 4, rel=1e-15)
    assert result["ndcg@10"] == pytest.approx((1 / math.log2(6) + 1 / math.log2(11)) / 4, rel=1e-15)


def test_metrics_edge_cases():
    assert metrics([]) == {"recall@1": 0.0, "recall@5": 0.0, "recall@10": 0.0,
                           "mrr@10": 0.0, "ndcg@10": 0.0, "n": 0}
    perfect = metrics([1, 1])
    assert perfect["ndcg@10"] == 1.0 and perfect["mrr@10"] == 1.0
    with pytest.raises(ValueError):
        metrics([0])


# --------------------------------------------------------------------------- relevance


def test_document_ranking_keeps_first_hit_per_document():
    hits = [("a", "a1"), ("b", "b1"), ("a", "a2"), ("c", "c1"), ("b", "b2")]
    assert document_ranking(hits) == [("a", "a1"), ("b", "b1"), ("c", "c1")]


def test_later_hit_of_same_document_with_evidence_does_not_count():
    gold = GoldQuestion("Når?", "a", "Etablert i 2004")
    hits = [("b", "noe annet"), ("a", "ingen belegg her"), ("a", "Etablert i 2004"), ("c", "x")]
    assert first_relevant_rank(document_ranking(hits), gold) is None
    # Dedupe also applies when raw hits are passed.
    assert first_relevant_rank(hits, gold) is None
    # Ranks are by document: the other document does not push the rank.
    hits = [("b", "x"), ("b", "y"), ("c", "z"), ("a", "… Etablert i 2004 …")]
    assert first_relevant_rank(document_ranking(hits), gold) == 3


def test_evidence_matching_collapses_whitespace_and_ignores_case():
    gold = GoldQuestion("Når?", "doc", "Omdannet til interkommunalt  politisk råd\n28. oktober 2020")
    passage = "• OMDANNET til interkommunalt\npolitisk   råd\n\t28. Oktober 2020 etter vedtak"
    assert first_relevant_rank([("doc", passage)], gold) == 1
    assert first_relevant_rank([("doc", "Omdannet til interkommunalt råd")], gold) is None
    # The evidence in the wrong document is not relevant.
    assert first_relevant_rank([("other", passage)], gold) is None


def test_without_evidence_the_document_is_enough():
    gold = GoldQuestion("Hva?", "doc")
    assert first_relevant_rank([("x", "t"), ("doc", "hva som helst")], gold) == 2
    assert first_relevant_rank([], gold) is None


# --------------------------------------------------------------------------- gold files


def test_load_gold_reads_the_dev_set():
    gold = load_gold(DATA / "osloregionen-dev.jsonl")
    assert len(gold) == 10
    assert all(isinstance(g, GoldQuestion) and g.question and g.doc for g in gold)
    assert gold[0] == GoldQuestion(
        "Når ble Osloregionen etablert?", "osloregionen-gront-landtransportprogram", "Etablert i 2004"
    )


def write_lines(tmp_path, lines, name="osloregionen-dev.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_gold_skips_blank_lines_and_allows_extra_fields(tmp_path):
    path = write_lines(tmp_path, [
        '{"question": "Q1", "doc": "d1"}',
        "",
        "   ",
        '{"question": "Q2", "doc": "d2", "evidence": null, "answer": "svar"}',
    ])
    assert load_gold(path) == [GoldQuestion("Q1", "d1"), GoldQuestion("Q2", "d2")]


@pytest.mark.parametrize(
    ("bad_line", "field", "fragment"),
    [
        ('{"question": "Q3"}', "doc", "feltet «doc» mangler"),
        ('{"doc": "d3"}', "question", "feltet «question» mangler"),
        ('{"question": "Q3", "doc": 7}', "doc", "feltet «doc» må være tekst"),
        ('{"question": "  ", "doc": "d3"}', "question", "feltet «question» er tomt"),
        ('{"question": "Q3", "doc": "d3", "evidence": ["x"]}', "evidence", "feltet «evidence»"),
        ('{"question": "Q3", "doc": "d3", "evidence": ""}', "evidence", "feltet «evidence» er tomt"),
    ],
)
def test_load_gold_errors_name_file_line_and_field(tmp_path, bad_line, field, fragment):
    path = write_lines(tmp_path, ['{"question": "Q1", "doc": "d1"}', "", bad_line])
    with pytest.raises(GoldError) as info:
        load_gold(path)
    message = str(info.value)
    assert message.startswith("osloregionen-dev.jsonl, linje 3: ")
    assert fragment in message
    assert info.value.line == 3 and info.value.field == field


def test_load_gold_errors_for_bad_json_and_non_objects(tmp_path):
    path = write_lines(tmp_path, ['{"question": "Q1", "doc": "d1"}', '{"question": "Q2",'])
    with pytest.raises(GoldError, match=r"^osloregionen-dev\.jsonl, linje 2: ugyldig JSON"):
        load_gold(path)
    path = write_lines(tmp_path, ['["Q1", "d1"]'])
    with pytest.raises(GoldError, match=r"linje 1: forventet et JSON-objekt"):
        load_gold(path)
    with pytest.raises(GoldError, match=r"^mangler\.jsonl: fant ikke filen \(.+mangler\.jsonl\)$"):
        load_gold(tmp_path / "mangler.jsonl")


def test_a_gold_file_without_questions_or_that_is_a_folder_is_refused(tmp_path):
    # An empty file measured nothing, yet printed a table of zeros that looked like a result.
    path = write_lines(tmp_path, ["", "   "])
    with pytest.raises(GoldError, match=r"^osloregionen-dev\.jsonl: filen har ingen spørsmål$"):
        load_gold(path)
    with pytest.raises(GoldError, match=r"filen kan ikke leses \(det er en mappe, ikke en fil\)"):
        load_gold(tmp_path)


def test_a_missing_gold_file_given_by_bare_name_is_named_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(GoldError, match=r"^mangler\.jsonl: fant ikke filen$"):
        load_gold("mangler.jsonl")


# --------------------------------------------------------------------------- evaluate


class FakeSearcher:
    """Returns a fixed chunk list per question and mode; records the k it was asked for."""

    def __init__(self, results):
        self.results = results
        self.calls = []

    def search(self, question, k=10, mode=None):
        self.calls.append((question, k, mode))
        hits = self.results[(question, mode)]
        return [SimpleNamespace(chunk=SimpleNamespace(doc_id=d, text=t)) for d, t in hits[:k]]


def test_evaluate_and_format_table():
    many = [(f"doc{i // 20}", f"p{i}") for i in range(300)]  # 20 chunks per document
    searcher = FakeSearcher({
        ("Q1", "dense"): [("a", "svar her"), ("b", "x")],
        ("Q1", "lexical"): [("b", "x"), ("a", "svar her")],
        ("Q2", "dense"): [("c", "x")],
        ("Q2", "lexical"): many + [("z", "svar")],
    })
    gold = [GoldQuestion("Q1", "a", "SVAR  her"), GoldQuestion("Q2", "doc9")]
    result = evaluate(searcher, gold, modes=("dense", "lexical"), progress=False)
    assert set(result) == {"modes"}
    assert result["modes"]["dense"] == metrics([1, None])
    assert result["modes"]["lexical"] == metrics([2, 10])
    # 100 chunks hold only 5 documents, so the searcher is asked again for more.
    assert ("Q2", 200, "lexical") in searcher.calls

    table = format_table(result).splitlines()
    assert len(table) == 4
    assert [c.strip() for c in table[0].strip("|").split("|")] == [
        "modus", "n", "R@1", "R@5", "R@10", "MRR@10", "nDCG@10"]
    assert set(table[1]) <= set("|-: ")
    assert [c.strip() for c in table[2].strip("|").split("|")] == [
        "dense", "2", "0.500", "0.500", "0.500", "0.500", "0.500"]
    assert table[3].split("|")[1].strip() == "lexical"
    assert table[3].split("|")[-2].strip() == f"{(1 / math.log2(3) + 1 / math.log2(11)) / 2:.3f}"


# --------------------------------------------------------------------------- NorQuAD


SHARED = "Overskrift med \"sitat\" og \\ skråstrek\nFørste avsnitt. Svaret er 42.\nAndre avsnitt."
OTHER = "Gresk mytologi\nZevs er gudenes konge."


def write_squad(path):
    data = {"data": [
        {"paragraphs": [{"context": SHARED, "qas": [
            {"question": "Hva er svaret?", "id": 1, "is_impossible": False,
             "answers": [{"text": "42", "answer_start": 60}]},
            {"question": " Hva står i andre avsnitt? ", "id": 2,
             "answers": [{"text": "Andre avsnitt", "answer_start": 70}]},
        ]}]},
        {"paragraphs": [{"context": OTHER, "qas": [
            {"question": "Hvem er gudenes konge?", "id": 3, "answers": [{"text": "Zevs"}]},
            {"question": "Umulig?", "id": 4, "is_impossible": True, "answers": []},
        ]}]},
    ]}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_converter_writes_one_document_per_context_and_stable_ids(tmp_path):
    squad = write_squad(tmp_path / "squad.json")
    corpus, gold_file = tmp_path / "corpus", tmp_path / "gold.jsonl"
    report = convert(squad, corpus, gold_file)
    assert (report.documents, report.questions, report.skipped) == (2, 3, 1)
    assert report.summary().startswith("Skrev 2 dokumenter og 3 spørsmål")

    shared_id = context_id(SHARED)
    assert shared_id.startswith("norquad-") and len(shared_id) == len("norquad-") + 10
    assert sorted(p.name for p in corpus.iterdir()) == sorted(
        [f"{shared_id}.txt", f"{shared_id}.meta.toml",
         f"{context_id(OTHER)}.txt", f"{context_id(OTHER)}.meta.toml"])
    assert (corpus / f"{shared_id}.txt").read_text(encoding="utf-8") == SHARED

    lines = [json.loads(line) for line in gold_file.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {"question": "Hva er svaret?", "doc": shared_id, "evidence": "42", "answer": "42"},
        {"question": "Hva står i andre avsnitt?", "doc": shared_id, "evidence": "Andre avsnitt",
         "answer": "Andre avsnitt"},
        {"question": "Hvem er gudenes konge?", "doc": context_id(OTHER), "evidence": "Zevs",
         "answer": "Zevs"},
    ]
    gold = load_gold(gold_file)
    assert [g.doc for g in gold] == [shared_id, shared_id, context_id(OTHER)]
    assert [g.evidence for g in gold] == ["42", "Andre avsnitt", "Zevs"]

    meta = tomllib.loads((corpus / f"{shared_id}.meta.toml").read_text(encoding="utf-8"))
    assert meta == {"title": 'Overskrift med "sitat" og \\ skråstrek',
                    "publisher": "NorQuAD (CC0)", "doc_type": "norquad"}

    # A second run (elsewhere) gives the same ids and bytes.
    convert(squad, tmp_path / "again", tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_bytes() == gold_file.read_bytes()
    for path in corpus.iterdir():
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes()

    # The corpus loader reads the documents with the sidecar titles.
    loaded = load_corpus(corpus)
    assert not loaded.problems
    titles = {d.doc_id: (d.meta.title, d.meta.doc_type) for d in loaded.documents}
    assert titles[context_id(OTHER)] == ("Gresk mytologi", "norquad")


def test_converter_can_leave_passages_out_to_make_unanswerable_questions(tmp_path):
    squad = write_squad(tmp_path / "squad.json")
    report = convert(squad, tmp_path / "c", tmp_path / "g.jsonl", drop_every=2)
    left_out = sorted([context_id(SHARED), context_id(OTHER)])[0]
    assert report.documents == 1 and report.unanswerable == (2 if left_out == context_id(SHARED) else 1)
    assert not (tmp_path / "c" / f"{left_out}.txt").exists()
    gold = load_gold(tmp_path / "g.jsonl")
    assert [g.answerable for g in gold].count(False) == report.unanswerable
    assert all(g.evidence is None for g in gold if not g.answerable)
    assert "uten svar i korpuset" in report.summary()


def test_unanswerable_gold_rows_are_left_out_of_retrieval_and_judged_as_answers(tmp_path):
    path = write_lines(tmp_path, ['{"question": "Q1", "doc": "a", "evidence": "svar her"}',
                                  '{"question": "Q2", "doc": null}'])
    gold = load_gold(path)
    assert [g.answerable for g in gold] == [True, False]
    searcher = FakeSearcher({("Q1", "dense"): [("a", "svar her")]})
    assert evaluate(searcher, gold, modes=("dense",), progress=False)["modes"]["dense"]["n"] == 1

    def answer(text, found=True, doc="a"):
        citations = (SimpleNamespace(doc_id=doc),) if found else ()
        return SimpleNamespace(answer=text, found=found, citations=citations)

    more = gold + [GoldQuestion("Q3", "b", "64 kommuner"), GoldQuestion("Q4", "c"),
                   GoldQuestion("Q5", None)]
    answers = [answer("… SVAR\n her. [1]"), answer("Noe annet [1]"), answer("Fant ikke", found=False),
               answer("Noe [1]", doc="c"), answer("Fant ikke", found=False)]
    result = answer_metrics(answers, more)
    assert result == {"n_answerable": 3, "hit": 2 / 3, "answered": 2 / 3,
                      "n_unanswerable": 2, "declined": 0.5}
    table = format_answer_table(result)
    assert "0.667" in table and "0.500" in table and "declined" in table


def test_gold_row_with_evidence_but_no_document_is_refused(tmp_path):
    path = write_lines(tmp_path, ['{"question": "Q", "doc": null, "evidence": "x"}'])
    with pytest.raises(GoldError) as error:
        load_gold(path)
    assert error.value.field == "evidence" and "linje 1" in str(error.value)


def test_converter_limit_and_long_titles(tmp_path):
    squad = write_squad(tmp_path / "squad.json")
    report = convert(squad, tmp_path / "c", tmp_path / "g.jsonl", limit=1)
    assert (report.documents, report.questions) == (1, 1)
    title = context_title("Ord " * 100 + "\nTekst")
    assert len(title) == 120 and title.endswith("…")
    assert context_title("\n\n  Tittel  etter  tomme linjer \nTekst") == "Tittel etter tomme linjer"


def test_converter_cli(tmp_path):
    squad = write_squad(tmp_path / "squad.json")
    script = ROOT / "scripts" / "norquad_to_corpus.py"
    run = subprocess.run(
        [sys.executable, str(script), "--input", str(squad), "--corpus", str(tmp_path / "c"),
         "--gold", str(tmp_path / "g.jsonl")],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "Skrev 2 dokumenter og 3 spørsmål" in run.stdout

    usage = subprocess.run([sys.executable, str(script), "--corpus", str(tmp_path / "c")],
                           capture_output=True, text=True, check=False)
    assert usage.returncode == 2 and "feil:" in usage.stderr and "--gold" in usage.stderr

    missing = subprocess.run(
        [sys.executable, str(script), "--input", str(tmp_path / "nei.json"),
         "--corpus", str(tmp_path / "c2"), "--gold", str(tmp_path / "g2.jsonl")],
        capture_output=True, text=True, check=False,
    )
    assert missing.returncode == 1 and "Fant ikke filen" in missing.stderr


def test_converter_without_the_shared_data_says_to_give_the_file(tmp_path):
    """A clone outside the folder next to ``shared/`` has no default NorQuAD file."""
    import os
    import shutil

    scripts = tmp_path / "repo" / "scripts"
    scripts.mkdir(parents=True)
    script = scripts / "norquad_to_corpus.py"
    shutil.copy(ROOT / "scripts" / "norquad_to_corpus.py", script)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, str(script), "--corpus", str(tmp_path / "c"),
                          "--gold", str(tmp_path / "g.jsonl")],
                         capture_output=True, text=True, check=False, env=env)
    assert run.returncode == 1
    assert "Fant ikke filen" in run.stderr and "--input FIL" in run.stderr
    assert "validation.json. Oppgi" in run.stderr  # two sentences, not run together
    assert "Traceback" not in run.stderr
