#!/usr/bin/env python3
"""Sammenligner leserens poeng og svarene på denne prosessoren med en prosessor uten AVX-512.

Leseren regner de fleste matriseproduktene i int8 (docs/performance.md, avsnitt 2c), og
ONNX Runtime velger regnekjerner etter hva prosessoren kan: VNNI, AVX-512 eller bare
AVX2. Skriptet bygger en indeks over rådets presentasjon (corpus/), stiller
gullspørsmålene i tests/data (rådsspørsmålene, spørsmålene dokumentene ikke svarer på og
spørsmålene slik folk spør), og lar leseren lese de samme setningene, først her og så i
en emulert prosessor (``qemu-x86_64 -cpu Haswell``: AVX2 og FMA, ingen AVX-512). Til slutt
skrives hvor like leserens poeng og svarene ble.

    python scripts/compare_cpus.py                   # alle 46 spørsmålene (ca. 25 minutter)
    python scripts/compare_cpus.py --limit 10        # de ti første (ca. 6 minutter)

Krever ``qemu-x86_64`` (Debian: ``apt-get install qemu-user``). Emuleringen er ca. 100
ganger langsommere enn maskinen selv, så tidene her sier ingenting om ytelse. Siste
kjøring står i docs/performance.md, avsnitt 2c.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GOLD = [ROOT / "tests" / "data" / name for name in
        ("osloregionen-dev.jsonl", "osloregionen-offtopic.jsonl", "osloregionen-colloquial.jsonl")]
#: A reader score this close counts as the same (logits run from about −6 to 4).
CLOSE = 0.01


def cpu_features() -> dict[str, bool]:
    """What NumPy found the CPU able to do (its own CPUID check, which qemu answers)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:
        return {}
    return {name: bool(features.get(name)) for name in ("AVX2", "AVX512F", "AVX512_ICL")}


def questions(limit: int | None) -> list[str]:
    out = [json.loads(line)["question"] for path in GOLD
           for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out[:limit]


def assistant_over(index_dir: Path):
    from assistant.config import Settings
    from assistant.service import Assistant

    settings = replace(Settings.from_env(), corpus_dir=ROOT / "corpus", index_dir=index_dir)
    return Assistant(settings)


def candidate_texts(assistant, question: str) -> list[str]:
    """As many sentences of the top passages as the answer stage reads at most (the first
    ones: the comparison needs the same pairs on both CPUs, not the product's choice)."""
    from assistant.answer import answer_candidates, citable

    config = assistant.settings.search
    hits = citable(assistant.searcher.search(question, k=config.top_k, mode="hybrid"), "hybrid")
    candidates = answer_candidates(hits[:config.answer_passages])
    return [c.text for c in candidates[:config.answer_read_sentences]]


def run(assistant, pairs: list[tuple[str, list[str]]]) -> dict:
    """Reader scores for ``pairs`` and the answer to each question, on this CPU."""
    reader_scores, answers = [], []
    for n, (question, sentences) in enumerate(pairs, 1):
        reader_scores.append([float(s) for s in assistant.reader.score(question, sentences)])
        answer = assistant.ask(question)
        answers.append({"found": answer.found, "answer": answer.answer,
                        "confidence": answer.confidence})
        print(f"  {n}/{len(pairs)}", file=sys.stderr, flush=True)
    return {"cpu": cpu_features(), "reader": reader_scores, "answers": answers}


def compare(here: dict, there: dict, pairs: list[tuple[str, list[str]]]) -> dict:
    a = np.concatenate([np.asarray(s) for s in here["reader"] if s])
    b = np.concatenate([np.asarray(s) for s in there["reader"] if s])
    difference = np.abs(a - b)
    same_best = sum(int(np.argmax(x)) == int(np.argmax(y))
                    for x, y in zip(here["reader"], there["reader"]) if x)
    read = sum(1 for s in here["reader"] if s)
    differing = [q for (q, _), x, y in zip(pairs, here["answers"], there["answers"])
                 if (x["found"], x["answer"]) != (y["found"], y["answer"])]
    return {
        "pairs": int(a.size), "pairs_identical": int((difference == 0).sum()),
        "pairs_within": int((difference <= CLOSE).sum()),
        "max_difference": float(difference.max()) if a.size else 0.0,
        "same_best_sentence": same_best, "questions_read": read,
        "answers": len(pairs), "answers_identical": len(pairs) - len(differing),
        "differing_questions": differing,
    }


def run_emulated(command: list[str]) -> int:
    """Run ``command``, passing its progress and errors on without qemu's notes on CPU
    features it leaves out (one per feature, at every start)."""
    with subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True) as process:
        for line in process.stderr:
            if "TCG doesn't support" not in line:
                print(line, end="", file=sys.stderr, flush=True)
    return process.returncode


def main(argv: list[str] | None = None) -> int:
    from assistant.cliparse import NorwegianArgumentParser

    parser = NorwegianArgumentParser(prog="compare_cpus.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, metavar="N", help="bare de N første spørsmålene")
    parser.add_argument("--cpu", default="Haswell", metavar="MODELL",
                        help="prosessoren qemu emulerer (standard: Haswell, AVX2 uten AVX-512)")
    parser.add_argument("--out", type=Path, metavar="FIL", help="skriv tallene som JSON hit")
    parser.add_argument("--worker", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:  # inside the emulated CPU: index, pairs in, results out
        index_dir, pairs_file, out = args.worker
        pairs = [tuple(p) for p in json.loads(pairs_file.read_text(encoding="utf-8"))]
        result = run(assistant_over(index_dir), pairs)
        out.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        return 0

    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        parser.error("fant ikke qemu-x86_64 (Debian: apt-get install qemu-user)")
    with tempfile.TemporaryDirectory(prefix="compare-cpus-") as tmp:
        work = Path(tmp)
        assistant = assistant_over(work / "index")
        assistant.build(progress=False)
        pairs = [(q, candidate_texts(assistant, q)) for q in questions(args.limit)]
        print(f"Her ({cpu_features()}): {len(pairs)} spørsmål …", file=sys.stderr)
        here = run(assistant, pairs)
        pairs_file, there_file = work / "pairs.json", work / "there.json"
        pairs_file.write_text(json.dumps(pairs, ensure_ascii=False), encoding="utf-8")
        print(f"Emulert prosessor ({args.cpu}) …", file=sys.stderr)
        started = time.perf_counter()
        code = run_emulated([qemu, "-cpu", args.cpu, sys.executable, str(Path(__file__).resolve()),
                             "--worker", str(work / "index"), str(pairs_file), str(there_file)])
        if code != 0:
            print(f"Kjøringen i den emulerte prosessoren feilet (kode {code}).", file=sys.stderr)
            return 1
        there = json.loads(there_file.read_text(encoding="utf-8"))
    result = {"here": here["cpu"], "there": {"model": args.cpu, **there["cpu"]},
              "emulated_seconds": round(time.perf_counter() - started),
              **compare(here, there, pairs)}
    if args.out:
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    r = result
    print(f"Her: {r['here']}\nEmulert ({args.cpu}): {r['there']}")
    print(f"Leserens poeng: {r['pairs_identical']} av {r['pairs']} par helt like, "
          f"{r['pairs_within']} innen {CLOSE}, største forskjell {r['max_difference']:.3f}; "
          f"samme beste setning for {r['same_best_sentence']} av {r['questions_read']} spørsmål")
    print(f"Svarene: {r['answers_identical']} av {r['answers']} like (funnet og tekst)")
    for q in r["differing_questions"]:
        print(f"  ulikt: {q}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
