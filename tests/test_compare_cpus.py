"""scripts/compare_cpus.py: how two CPUs' reader scores and answers are compared."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "compare_cpus.py"


@pytest.fixture(scope="module")
def compare_cpus():
    spec = importlib.util.spec_from_file_location("compare_cpus", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(reader, answers):
    return {"cpu": {}, "reader": reader, "answers": answers}


def test_scores_and_answers_are_counted_pair_by_pair(compare_cpus):
    pairs = [("a?", ["x", "y"]), ("b?", ["z", "w"]), ("c?", [])]
    same = {"found": True, "answer": "Etablert i 2004 [1]", "confidence": 0.9}
    declined = {"found": False, "answer": "Fant ikke …", "confidence": 0.2}
    here = run([[1.0, -2.0], [0.5, 0.49], []], [same, same, declined])
    there = run([[1.0, -1.995], [0.5, 0.52], []], [same, declined, declined])
    result = compare_cpus.compare(here, there, pairs)
    assert result["pairs"] == 4 and result["pairs_identical"] == 2
    assert result["pairs_within"] == 3  # 0.005 is within 0.01; 0.03 is not
    assert result["max_difference"] == pytest.approx(0.03)
    # b?: the second sentence overtakes the first; c? read nothing
    assert result["same_best_sentence"] == 1 and result["questions_read"] == 2
    assert result["answers_identical"] == 2 and result["differing_questions"] == ["b?"]


def test_without_qemu_it_says_what_to_install(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no qemu-x86_64 on this PATH
    done = subprocess.run([sys.executable, str(SCRIPT), "--limit", "1"], env=env,
                          capture_output=True, text=True, cwd=SCRIPT.parent.parent)
    assert done.returncode == 2
    assert "qemu-x86_64" in done.stderr and "apt-get install qemu-user" in done.stderr
    assert "Traceback" not in done.stderr
