"""The command line as a user runs it: a real process, real model, real index."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.pdfs import make_pdf

SEED = "osloregionen-gront-landtransportprogram"


@pytest.fixture(scope="module")
def env(e5_model_dir):
    """The environment of a user whose model cache already holds the exported model."""
    return {**os.environ, "ASSISTANT_CACHE_DIR": str(e5_model_dir.parents[1])}


def run(env, *args, cwd=None):
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_ask_json_cites_the_presentation(seed_assistant, env):
    settings = seed_assistant.settings
    result = run(env, "ask", "Hvor mange kommuner er med i Osloregionen?", "--json",
                 "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["question"] == "Hvor mange kommuner er med i Osloregionen?"
    assert answer["found"] is True
    citation = answer["citations"][0]
    assert citation["doc_id"] == SEED and "64 kommuner" in citation["text"]
    assert {"n", "doc_id", "title", "year", "page", "url", "text"} <= set(citation)


def test_plain_ask_is_readable_and_empty_question_is_friendly(seed_assistant, env):
    settings = seed_assistant.settings
    common = ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]
    result = run(env, "ask", "Hva er det høyeste organet i Osloregionen?", *common)
    assert result.returncode == 0
    assert "Representantskapet" in result.stdout and "Kilder:" in result.stdout
    assert "[1] Osloregionen – Grønt Landtransportprogram (2022), side" in result.stdout
    empty = run(env, "ask", "   ", *common)
    assert empty.returncode == 0 and "Skriv et spørsmål" in empty.stdout
    assert "Traceback" not in empty.stderr


def test_index_reports_skipped_files_and_exit_code(tmp_path, env):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "plan.pdf", ["Regionen planlegger flere ladestasjoner for lastebiler."])
    (corpus / "tom.pdf").write_bytes(b"")
    (corpus / "tall.xlsx").write_bytes(b"PK\x03\x04")
    (corpus / "gammelt-referat.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    result = run(env, "index", "--corpus", str(corpus), "--index", str(tmp_path / "index"), "--quiet")
    assert result.returncode == 4, result.stderr
    assert "tom.pdf" in result.stdout and "filen er tom" in result.stdout
    assert "tall.xlsx" in result.stdout and "regneark støttes ikke" in result.stdout
    assert "gammelt-referat.doc" in result.stdout and "lagre filen som .docx" in result.stdout
    assert "plan" in result.stdout
    ok = run(env, "ask", "ladestasjoner for lastebiler", "--json", "--corpus", str(corpus),
             "--index", str(tmp_path / "index"))
    assert json.loads(ok.stdout)["citations"][0]["doc_id"] == "plan"


def test_missing_corpus_and_damaged_index_are_one_line_errors(seed_assistant, tmp_path, env):
    missing = run(env, "ask", "Hei?", "--corpus", str(tmp_path / "finnes-ikke"),
                  "--index", str(tmp_path / "ingen-indeks"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "finnes-ikke" in missing.stderr

    index = tmp_path / "index"
    shutil.copytree(seed_assistant.settings.index_dir, index, symlinks=True)
    (index / "current" / "vectors.faiss").write_bytes(b"skadet")
    damaged = run(env, "ask", "Hei?", "--index", str(index),
                  "--corpus", str(seed_assistant.settings.corpus_dir))
    assert damaged.returncode == 1 and "Traceback" not in damaged.stderr
    assert "index --rebuild" in damaged.stderr


@pytest.mark.parametrize("command", ["index", "ask", "eval"])
def test_an_index_folder_that_is_a_file_is_a_one_line_error(command, tmp_path, env):
    """``--index`` naming a file, or a folder under one, gave a stack trace; now one line
    naming the file, and the file is left as it was."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notat.txt").write_text("Regionen har 64 kommuner.", encoding="utf-8")
    gold = tmp_path / "gull.jsonl"
    gold.write_text('{"question": "Hvor mange kommuner?", "doc": "notat"}\n', encoding="utf-8")
    blocker = tmp_path / "indeks.txt"
    blocker.write_text("ikke en indeks", encoding="utf-8")
    extra = {"ask": ["Hvor mange kommuner?"], "eval": ["--gold", str(gold)], "index": []}
    for index in (blocker, blocker / "under"):
        result = run(env, command, *extra[command], "--corpus", str(corpus),
                     "--index", str(index), "--quiet")
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert f"{blocker} er en fil, ikke en mappe" in result.stderr
    assert blocker.read_text(encoding="utf-8") == "ikke en indeks"


def test_a_cache_folder_that_is_a_file_is_a_one_line_error(tmp_path, env):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notat.txt").write_text("Regionen har 64 kommuner.", encoding="utf-8")
    cache = tmp_path / "cache"
    cache.write_text("", encoding="utf-8")
    result = run({**env, "ASSISTANT_CACHE_DIR": str(cache)}, "index", "--quiet",
                 "--corpus", str(corpus), "--index", str(tmp_path / "index"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert str(cache) in result.stderr and "ikke en mappe" in result.stderr


def test_a_file_the_system_cannot_find_is_said_in_norwegian(tmp_path, monkeypatch, capsys):
    """A FileNotFoundError from the system (a file gone while a command runs) printed
    Python's English "[Errno 2] No such file or directory"; ours keep their message."""
    import assistant.cli as cli

    gone = tmp_path / "borte.txt"

    def vanishes(args, settings):
        return gone.read_text()  # the real error, from the real file system

    def ours(args, settings):
        raise FileNotFoundError("Fant ikke korpusmappen x")

    args = cli.build_parser().parse_args(["report", "--index", str(tmp_path / "i")])
    monkeypatch.setitem(cli.COMMANDS, "report", vanishes)
    assert cli.run(args) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"Kunne ikke lese eller skrive {gone}: {reason_for_missing()}."
    assert "Errno" not in err and "No such file" not in err
    monkeypatch.setitem(cli.COMMANDS, "report", ours)
    assert cli.run(args) == 1
    assert capsys.readouterr().err.strip() == "Fant ikke korpusmappen x"


def reason_for_missing() -> str:
    from assistant.oserror import reason

    return reason(FileNotFoundError(2, "No such file or directory"))


def test_quiet_indexing_shows_no_progress_bars(tmp_path, env):
    """``--quiet`` is quiet: transformers' own English "Loading weights" bar showed anyway."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notat.txt").write_text("Regionen har 64 kommuner.", encoding="utf-8")
    result = run(env, "index", "--quiet", "--corpus", str(corpus), "--index", str(tmp_path / "i"))
    assert result.returncode == 0, result.stderr
    assert "Loading" not in result.stderr and "it/s" not in result.stderr, result.stderr


def test_usage_errors_are_norwegian(env):
    unknown = run(env, "frobnicate")
    assert unknown.returncode == 2
    assert "ugyldig valg: 'frobnicate' (velg blant 'index'" in unknown.stderr
    assert "invalid choice" not in unknown.stderr
    missing = run(env, "eval")
    assert missing.returncode == 2 and "disse må være med: --gold" in missing.stderr


@pytest.mark.parametrize("command", [[], ["index"], ["ask"], ["serve"], ["eval"]])
def test_help_is_norwegian_for_every_command(command, capsys):
    from assistant.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "Avslutningskoder" in out
    assert not command or ("--corpus" in out and "--index" in out)


def test_serve_with_an_unreadable_credentials_file_fails_before_loading_anything(
        tmp_path, capsys, monkeypatch):
    from assistant.cli import main

    # An empty cache: preparing the model would create it.
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["serve", "--corpus", str(tmp_path), "--index", str(tmp_path / "index"),
                 "--staff-credentials", str(tmp_path / "finnes-ikke.txt"), "--quiet"])
    assert code == 1
    assert "finnes-ikke.txt" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("argv, environ", [
    (["ask", "Hvem?", "--model", "bert-base-uncased"], {}),
    (["ask", "Hvem?"], {"ASSISTANT_MODEL": "bert-base-uncased"}),
    (["ask", "Hvem?", "--model", "bert-base-uncased"], {"ASSISTANT_MODEL": "intfloat/multilingual-e5-base"}),
])
def test_a_model_chosen_by_flag_or_variable_gets_its_own_prompts(argv, environ):
    """The e5 prompts belong to e5 models: ``--model`` and ``ASSISTANT_MODEL`` agree."""
    from assistant.cli import build_parser, settings_from_args

    settings = settings_from_args(build_parser().parse_args(argv), environ)
    assert settings.model.name == "bert-base-uncased"
    assert (settings.model.query_prompt, settings.model.passage_prompt) == ("", "")


def test_e5_models_and_prompt_variables():
    from assistant.cli import build_parser, settings_from_args

    parser = build_parser()
    e5 = settings_from_args(parser.parse_args(["ask", "Hvem?", "--model", "intfloat/multilingual-e5-base"]), {})
    assert (e5.model.query_prompt, e5.model.passage_prompt) == ("query: ", "passage: ")
    own = settings_from_args(parser.parse_args(["ask", "Hvem?", "--model", "bert-base-uncased"]),
                             {"ASSISTANT_QUERY_PROMPT": "spørsmål: "})
    assert (own.model.query_prompt, own.model.passage_prompt) == ("spørsmål: ", "")
    default = settings_from_args(parser.parse_args(["index"]), {"ASSISTANT_CACHE_DIR": "/tmp/x"})
    assert default.model.query_prompt == "query: " and str(default.models_dir) == "/tmp/x/models"


def test_a_question_that_is_not_valid_text_gets_an_answer_not_a_traceback(seed_assistant, env):
    """Bytes that are not UTF-8 reach Python as lone surrogates (surrogateescape)."""
    settings = seed_assistant.settings
    for as_json in ([], ["--json"]):
        result = subprocess.run(
            [sys.executable, "-m", "assistant", "ask", b"Hvor mange kommuner \xff\xfe?",
             "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir),
             "--quiet", *as_json], capture_output=True, env=env, timeout=300)
        assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
        assert b"Traceback" not in result.stderr
        assert "64" in result.stdout.decode("utf-8")


def test_a_front_page_is_shown_as_the_publishers_site_not_as_the_source():
    from assistant.cli import source_address

    assert source_address("https://www.osloregionen.no/") == (
        " – utgiverens nettsted: https://www.osloregionen.no/")
    assert source_address("https://example.org/plan.pdf#page=3") == (
        " – https://example.org/plan.pdf#page=3")
    assert source_address("javascript:alert(1)") == "" and source_address("") == ""
