"""scripts/measure_reader.py: how a reader alone is scored on the validation shortlists."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.reader import ReaderGroup

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "measure_reader.py"


@pytest.fixture(scope="module")
def measure_reader():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        spec = importlib.util.spec_from_file_location("measure_reader", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(SCRIPT.parent))


class LengthReader:
    """Scores a sentence by its length: a stand-in whose choices are easy to foresee."""

    def __init__(self):
        self.read: list[int] = []

    def score(self, question, sentences):
        self.read.append(len(sentences))
        return np.array([len(s) for s in sentences], dtype=np.float32)


GROUPS = [
    ReaderGroup("a?", ["kort", "en lengre setning", "x"], [False, True, False]),      # right
    ReaderGroup("b?", ["den lengste setningen av dem", "svar", "y"], [False, True, False]),  # wrong
    ReaderGroup("c?", ["ingen", "har", "svaret"], [False, False, False]),             # not counted
    ReaderGroup("d?", ["kort", "mellomlang", "den aller lengste setningen"], [False, False, True]),
]


def test_only_questions_with_the_answer_on_the_shortlist_count(measure_reader):
    reader = LengthReader()
    share, n = measure_reader.top1(reader, GROUPS)
    assert n == 3
    assert share == pytest.approx(2 / 3)
    assert reader.read == [3, 3, 3]  # the group without an answer is not read at all


def test_reading_the_first_few_keeps_the_same_questions(measure_reader):
    """With only the first two read, the answer in third place is out of reach, but the
    question still counts: the share is comparable to reading the whole shortlist."""
    reader = LengthReader()
    share, n = measure_reader.top1(reader, GROUPS, first=2)
    assert n == 3
    assert share == pytest.approx(1 / 3)
    assert reader.read == [2, 2, 2]
