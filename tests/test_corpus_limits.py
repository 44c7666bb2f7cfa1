"""Attacks on corpus reading, through the real CLI: links out of the corpus, link loops,
and files big enough to keep indexing busy for hours (issue #13, findings 1 and 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from assistant.documents import UNREADABLE, corpus_files

FACT = "Ferjesambandet Moss–Horten fikk elektriske ferjer i 2021."


def cli(env, *args):
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True,
                          text=True, env=env, timeout=600)


@pytest.fixture()
def env(e5_model_dir):
    return {**os.environ, "ASSISTANT_CACHE_DIR": str(e5_model_dir.parents[1])}


def test_a_link_to_a_file_outside_the_corpus_is_never_indexed_or_quoted(tmp_path, env):
    outside = tmp_path / "hemmelig" / "passwd"
    outside.parent.mkdir()
    outside.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ferjer.txt").write_text(FACT, encoding="utf-8")
    (corpus / "utenfor.txt").symlink_to(outside)
    (corpus / "etc").symlink_to(outside.parent, target_is_directory=True)
    (corpus / "ring.txt").symlink_to(corpus / "ring.txt")
    (corpus / "inne.txt").symlink_to(corpus / "ferjer.txt")  # inside: followed (a duplicate)
    common = ["--corpus", str(corpus), "--index", str(tmp_path / "index")]

    built = cli(env, "index", "--quiet", *common)
    assert built.returncode == 4, built.stderr
    out = built.stdout
    assert "utenfor.txt" in out and "peker ut av korpusmappen" in out
    assert "ring.txt" in out and "går i ring" in out
    assert "etc" in out and "mappe" in out
    assert "Traceback" not in built.stderr

    asked = cli(env, "ask", "root x 0 0 bin bash", "--json", "--mode", "lexical", *common)
    assert asked.returncode == 0, asked.stderr
    assert "root:x" not in asked.stdout and "passwd" not in asked.stdout
    assert "ferjer" in cli(env, "ask", "Når fikk Moss–Horten elektriske ferjer?", "--json",
                           *common).stdout


def test_link_problems_are_reported_by_the_loader(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "borte.txt").symlink_to(tmp_path / "finnes-ikke.txt")
    (corpus / "a.txt").symlink_to(corpus / "b.txt")
    (corpus / "b.txt").symlink_to(corpus / "a.txt")
    files, problems = corpus_files(corpus)
    assert files == []
    assert {p.path.name: p.problem for p in problems} == {
        "a.txt": "lenken går i ring", "b.txt": "lenken går i ring",
        "borte.txt": "lenken peker ingen steder"}
    assert all(p.kind == UNREADABLE for p in problems)


def test_a_huge_text_file_is_cut_with_a_note_and_an_oversized_one_skipped(tmp_path, env):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    line = "Regionen bygger ladestasjoner for tunge kjøretøy langs hovedveiene. "
    with (corpus / "stor.txt").open("w", encoding="utf-8") as handle:
        handle.write(FACT + "\n\n")
        for _ in range(50_000_000 // len(line)):  # ~50 MB, as in the finding
            handle.write(line)
    limits = {"ASSISTANT_MAX_CHARS": "20000", "ASSISTANT_MAX_FILE_MB": "60"}
    common = ["--corpus", str(corpus), "--index", str(tmp_path / "index")]

    built = cli({**env, **limits}, "index", "--quiet", *common)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "stor.txt" in built.stdout and "bare de første 20\u00a0000 er indeksert" in built.stdout
    skipped = cli({**env, **limits, "ASSISTANT_MAX_FILE_MB": "2"}, "index", "--quiet", *common)
    assert skipped.returncode == 4
    assert "stor.txt" in skipped.stdout and "over grensen på 2 MB" in skipped.stdout
    answer = json.loads(cli({**env, **limits}, "ask", "Når fikk Moss–Horten elektriske ferjer?",
                            "--json", *common).stdout)
    assert answer["found"] and "2021" in answer["answer"]
