#!/usr/bin/env python3
"""Gjør NorQuAD (SQuAD-format JSON) om til en korpusmappe og en gullfil for evalueringen.

Tynt kommandolinjeskall over :mod:`assistant.norquad`; all logikk ligger der.
Kjør fra rotmappen i repoet: ``python scripts/norquad_to_corpus.py --help``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant.cliparse import NorwegianArgumentParser
from assistant.norquad import NorquadError, convert
from assistant.oserror import reason

_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = _ROOT.parent / "shared" / "data" / "norquad" / "validation.json"

EXIT_OK = 0
EXIT_FAILED = 1

DESCRIPTION = """\
Gjør NorQuAD (SQuAD-format JSON) om til en korpusmappe og en gullfil.

Hver unike kontekst blir ett dokument, norquad-<10 første heks-sifre av SHA-1
av teksten>.txt, med metadatafilen <id>.meta.toml ved siden av (tittelen er
kontekstens første linje). Hvert spørsmål blir én linje i gullfilen (JSONL) med
«question», «doc», «evidence» og «answer»; beviset er NorQuADs svar, så både søket og
svaret må inneholde det. Med --drop-every 3 utelates hver tredje unike kontekst fra
korpuset, og spørsmålene om dem får «doc»: null (korpuset kan ikke svare på dem).
Id-ene avhenger bare av teksten, så nye kjøringer gir de samme filene."""

EPILOG = """\
avslutningskoder:
  0  korpus og gullfil er skrevet
  1  inndata kunne ikke leses eller utdata kunne ikke skrives
  2  feil i argumentene"""


def build_parser() -> argparse.ArgumentParser:
    parser = NorwegianArgumentParser(
        prog="norquad_to_corpus.py",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument(
        "--input",
        metavar="FIL",
        type=Path,
        default=DEFAULT_INPUT,
        help="NorQuAD-filen som leses (standard: ../shared/data/norquad/validation.json "
        "fra rotmappen i repoet)",
    )
    parser.add_argument(
        "--corpus", metavar="MAPPE", type=Path, required=True,
        help="mappen dokumentene skrives til (opprettes om nødvendig)",
    )
    parser.add_argument(
        "--gold", metavar="FIL", type=Path, required=True,
        help="gullfilen (JSONL) som skrives",
    )
    parser.add_argument(
        "--limit", metavar="N", type=int,
        help="ta bare med de N første spørsmålene (og kontekstene deres)",
    )
    parser.add_argument(
        "--drop-every", metavar="N", type=int,
        help="utelat hver N-te unike kontekst (sortert etter id); spørsmålene om dem blir "
        "ubesvarbare i gullfilen",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 0:
        parser.error("--limit må være 0 eller et positivt heltall")
    try:
        report = convert(args.input, args.corpus, args.gold, limit=args.limit,
                         drop_every=args.drop_every)
    except NorquadError as exc:
        hint = (" Oppgi NorQuAD-filen med --input FIL."
                if args.input == DEFAULT_INPUT and not args.input.exists() else "")
        print(f"{str(exc).rstrip('.')}.{hint}", file=sys.stderr)  # one sentence each
        return EXIT_FAILED
    except OSError as exc:
        print(f"Kunne ikke skrive {exc.filename or ''}: {reason(exc)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{report.summary()} (korpus: {args.corpus}, gullfil: {args.gold})")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
