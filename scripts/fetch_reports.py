#!/usr/bin/env python3
"""Hent rapportene i manifestet (corpus/reports.toml) inn i korpuset.

Tynt kommandolinjeskall over :mod:`assistant.fetch`; all logikk ligger der.
Kjør fra rotmappen i repoet: ``python scripts/fetch_reports.py --help``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant.cliparse import NorwegianArgumentParser
from assistant.config import Settings
from assistant.fetch import (
    DEFAULT_TIMEOUT,
    FetchResult,
    ManifestError,
    NoNetworkError,
    fetch_reports,
    summarize,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NO_NETWORK = 3


DESCRIPTION = """\
Henter rapportene som er oppført i manifestet, inn i korpusmappen.

For hver rapport følges nettsiden i «page» til PDF-lenken som passer «match»
(eller PDF-adressen i «pdf» brukes direkte). PDF-en lagres som <id>.pdf, med
metadatafilen <id>.meta.toml ved siden av. Rapporter som allerede finnes i
korpuset, hentes ikke på nytt; slett filen for å hente den igjen."""

EPILOG = """\
avslutningskoder:
  0  alle rapportene i manifestet finnes nå i korpuset
  1  minst én rapport kunne ikke hentes (de andre ble hentet)
  2  feil i argumentene eller i manifestet
  3  ingen nettverkstilgang; ingenting ble hentet"""


def build_parser() -> argparse.ArgumentParser:
    parser = NorwegianArgumentParser(
        prog="fetch_reports.py",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument(
        "--corpus",
        metavar="MAPPE",
        type=Path,
        help="korpusmappen rapportene lagres i (standard: $ASSISTANT_CORPUS eller «corpus»)",
    )
    parser.add_argument(
        "--manifest",
        metavar="FIL",
        type=Path,
        help="manifestet med rapportene (standard: reports.toml i korpusmappen)",
    )
    parser.add_argument(
        "--timeout",
        metavar="S",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"tidsavbrudd i sekunder for hver nettverksforespørsel (standard: {DEFAULT_TIMEOUT:g})",
    )
    return parser


def print_result(result: FetchResult) -> None:
    """One line per report as it finishes: successes on stdout, failures on stderr."""
    print(result.message, file=sys.stdout if result.ok else sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout må være et positivt tall")
    corpus = args.corpus if args.corpus is not None else Settings.from_env().corpus_dir
    manifest = args.manifest if args.manifest is not None else corpus / "reports.toml"

    try:
        results = fetch_reports(manifest, corpus, timeout=args.timeout, on_result=print_result)
    except ManifestError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except NoNetworkError as exc:
        print(exc, file=sys.stderr)
        return EXIT_NO_NETWORK
    except KeyboardInterrupt:
        print("Avbrutt; rapporter som ikke var ferdige, ble ikke lagret.", file=sys.stderr)
        return 130

    print(summarize(results))
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
