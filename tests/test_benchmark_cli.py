"""scripts/benchmark.py's command line: bad input is a clear Norwegian error, not a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "benchmark.py"


@pytest.mark.parametrize("args, named", [
    (["--sizes", "x"], "«x» er ikke en kommaliste"),
    (["--sizes", "1000,-5"], "positive heltall"),
    (["--skip", "cold,foo"], "ukjent del: foo"),
    (["--norquad", "finnes-ikke.json"], "fant ikke NorQuAD-filen finnes-ikke.json"),
])
def test_bad_arguments_are_named_without_a_traceback(args, named):
    run = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                         timeout=120)  # the old script started a real benchmark here
    assert run.returncode == 2
    assert named in run.stderr
    assert "Traceback" not in run.stderr


def test_help_is_in_norwegian():
    run = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0
    assert run.stdout.startswith("bruk: benchmark.py") and "valg:" in run.stdout
