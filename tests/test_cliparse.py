"""The Norwegian argument parser: argparse's own error messages come out in Norwegian.

Each case makes argparse itself produce the error, so a Python whose wording changes
fails here instead of showing English to users."""

import pytest

from assistant.cliparse import NorwegianArgumentParser, norwegian_error


def parser() -> NorwegianArgumentParser:
    p = NorwegianArgumentParser(prog="prog")
    p.add_argument("--mode", choices=["hybrid", "dense"])
    p.add_argument("--limit", type=int)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--files", nargs="+")
    p.add_argument("--index-dir")
    p.add_argument("--index-file")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true")
    group.add_argument("--table", action="store_true")
    p.add_argument("question")
    return p


@pytest.mark.parametrize("argv, expected", [
    ([], "disse må være med: question"),
    (["q", "--bogus"], "ukjente argumenter: --bogus"),
    (["q", "--mode", "x"], "argument --mode: ugyldig valg: 'x' (velg blant 'hybrid', 'dense')"),
    (["q", "--mode"], "argument --mode: mangler en verdi"),
    (["q", "--files"], "argument --files: mangler minst én verdi"),
    (["q", "--quiet=ja"], "argument --quiet: tar ingen verdi, men fikk 'ja'"),
    (["q", "--limit", "mange"], "argument --limit: ugyldig verdi: 'mange'"),
    (["q", "--json", "--table"], "argument --table: kan ikke brukes sammen med --json"),
    (["q", "--index", "x"], "flertydig valg: --index kan bety --index-dir, --index-file"),
])
def test_argparse_errors_are_norwegian(argv, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"prog: feil: {expected}"


def test_messages_of_our_own_are_left_as_they_are():
    own = "argument --limit: må være et positivt heltall, ikke «x»"
    assert norwegian_error(own) == own
