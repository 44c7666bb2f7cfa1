"""An argparse parser that speaks Norwegian: usage, headings, help and errors.

Shared by ``python -m assistant`` and the scripts in ``scripts/`` so that every command
a person types answers in the same language and the same form.
"""

from __future__ import annotations

import argparse
import sys

EXIT_USAGE = 2


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
        self.exit(EXIT_USAGE, f"{self.prog}: feil: {message}\n")
