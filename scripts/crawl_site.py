#!/usr/bin/env python3
"""Speil et nettsted inn i korpuset: sidene og PDF-, Word- og PowerPoint-filene de lenker til.

Tynt kommandolinjeskall over :mod:`assistant.crawl`; all logikk ligger der.
``python scripts/crawl_site.py --help``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant.cliparse import NorwegianArgumentParser
from assistant.config import Settings
from assistant.crawl import (
    DEFAULT_DELAY,
    DEFAULT_MAX_PAGES,
    FAILED,
    NOT_FOUND,
    STATE_FILE,
    UNCHANGED,
    CrawlError,
    Event,
    crawl_site,
    normalize_url,
)
from assistant.download import DEFAULT_TIMEOUT, NoNetworkError
from assistant.oserror import reason

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NO_NETWORK = 3

DESCRIPTION = f"""\
Speiler et nettsted inn i korpusmappen.

Leser robots.txt og nettstedskartene (sitemap) og følger lenkene fra sidene. Holder
seg på samme vert og, for nettsider, under stien i ADRESSE. Lagrer hver side med
hovedtekst som .html og hver PDF-, Word- og PowerPoint-fil sidene lenker til, hver med
en metadatafil (.meta.toml) ved siden av. Én forespørsel om gangen, med pause imellom.

Neste kjøring spør bare om det som er endret (ETag/Last-Modified), og fjerner filer som
er borte fra nettstedet. Bare filer dette skriptet selv har lagret, blir fjernet; det
husker dem i {STATE_FILE} i korpusmappen."""

EPILOG = """\
eksempel:
  python scripts/crawl_site.py https://www.osloregionen.no/ --corpus corpus/nettsted

avslutningskoder:
  0  speilet er oppdatert (sider som ikke finnes (404), står i utskriften)
  1  noen sider eller filer kunne ikke hentes; de andre er oppdatert
  2  feil i argumentene
  3  ingen nettverkstilgang; ingenting ble hentet"""

def build_parser() -> argparse.ArgumentParser:
    parser = NorwegianArgumentParser(prog="crawl_site.py", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("url", metavar="ADRESSE", help="nettstedet (eller delen av det) som skal speiles")
    parser.add_argument("--corpus", metavar="MAPPE", type=Path,
                        help="korpusmappen filene lagres i (standard: $ASSISTANT_CORPUS eller «corpus»)")
    parser.add_argument("--delay", metavar="S", type=float, default=DEFAULT_DELAY,
                        help=f"pause i sekunder mellom forespørslene (standard: {DEFAULT_DELAY:g}; "
                             "en Crawl-delay i robots.txt gjelder om den er lengre)")
    parser.add_argument("--timeout", metavar="S", type=float, default=DEFAULT_TIMEOUT,
                        help=f"tidsavbrudd i sekunder for hver forespørsel (standard: {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--max-pages", metavar="N", type=int, default=DEFAULT_MAX_PAGES,
                        help=f"høyst så mange adresser per kjøring (standard: {DEFAULT_MAX_PAGES})")
    parser.add_argument("--verbose", "-v", action="store_true", help="vis også uendrede sider")
    return parser


def printer(verbose: bool):
    def show(event: Event) -> None:
        if event.status == UNCHANGED and not verbose:
            return
        where = f" → {event.file}" if event.file else ""
        detail = f" ({event.detail})" if event.detail else ""
        stream = sys.stderr if event.status in (FAILED, NOT_FOUND) else sys.stdout
        print(f"{event.status.capitalize()}: {event.url}{where}{detail}", file=stream, flush=True)
    return show


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout må være et positivt tall")
    if args.delay < 0:
        parser.error("--delay kan ikke være negativ")
    if args.max_pages < 1:
        parser.error("--max-pages må være minst 1")
    if normalize_url(args.url) is None:
        parser.error(f"«{args.url}» er ikke en http- eller https-adresse")
    corpus = args.corpus if args.corpus is not None else Settings.from_env().corpus_dir
    print(f"Speiler {args.url} inn i {corpus} …", flush=True)
    try:
        report = crawl_site(args.url, corpus, delay=args.delay, timeout=args.timeout,
                            max_pages=args.max_pages, on_event=printer(args.verbose))
    except NoNetworkError as exc:
        print(exc, file=sys.stderr)
        return EXIT_NO_NETWORK
    except CrawlError as exc:
        print(f"Kan ikke speile nettstedet: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"Kan ikke skrive til {corpus}: {reason(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("Avbrutt; det som var ferdig lagret, er beholdt.", file=sys.stderr)
        return 130
    print(report.summary())
    return EXIT_OK if report.ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
