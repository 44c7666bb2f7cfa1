"""An argparse parser that speaks Norwegian: usage, headings, help and errors.

Shared by ``python -m assistant`` and the scripts in ``scripts/`` so that every command
a person types answers in the same language and the same form.
"""

from __future__ import annotations

import argparse
import re
import sys

EXIT_USAGE = 2

#: argparse's own error messages (Python 3.11–3.13) in Norwegian; a message not listed
#: here (one of ours, or a new Python's) is shown as it is.
_ERRORS = (
    (re.compile(r"the following arguments are required: (.+)"), r"disse må være med: \1"),
    (re.compile(r"unrecognized arguments: (.+)"), r"ukjente argumenter: \1"),
    (re.compile(r"argument (.+?): invalid choice: (.+?) \(choose from (.+)\)"),
     r"argument \1: ugyldig valg: \2 (velg blant \3)"),
    (re.compile(r"argument (.+?): expected one argument"), r"argument \1: mangler en verdi"),
    (re.compile(r"argument (.+?): expected at least one argument"),
     r"argument \1: mangler minst én verdi"),
    (re.compile(r"argument (.+?): ignored explicit argument (.+)"),
     r"argument \1: tar ingen verdi, men fikk \2"),
    (re.compile(r"argument (.+?): invalid (\w+) value: (.+)"),
     r"argument \1: ugyldig verdi: \3"),
    (re.compile(r"argument (.+?): not allowed with argument (.+)"),
     r"argument \1: kan ikke brukes sammen med \2"),
    (re.compile(r"one of the arguments (.+) is required"), r"ett av disse må være med: \1"),
    (re.compile(r"ambiguous option: (.+?) could match (.+)"),
     r"flertydig valg: \1 kan bety \2"),
)


def norwegian_error(message: str) -> str:
    """An argparse error message in Norwegian (unchanged when it is not argparse's own)."""
    for pattern, replacement in _ERRORS:
        if pattern.fullmatch(message):
            return pattern.sub(replacement, message)
    return message


class NorwegianHelpFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, prefix="bruk: " if prefix is None else prefix)


class NorwegianArgumentParser(argparse.ArgumentParser):
    """``ArgumentParser`` with Norwegian headings, ``-h/--help`` text and error lines."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", NorwegianHelpFormatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._optionals.title = "valg"
        self._positionals.title = "argumenter"
        self.add_argument("-h", "--help", action="help", help="vis denne hjelpeteksten og avslutt")

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: feil: {norwegian_error(message)}\n")
