"""Choose the hybrid fusion method and weight on a gold set (NorQuAD validation).

Embeds every question once, then ranks with each fusion setting over the same index and
prints nDCG@10, R@1 and R@5 per setting, best first. The product default in
``assistant/config.py`` (SearchConfig.fusion, SearchConfig.hybrid_weight) was chosen with:

    python scripts/norquad_to_corpus.py --corpus /tmp/norquad-corpus --gold /tmp/norquad-gold.jsonl
    python scripts/tune_hybrid.py --corpus /tmp/norquad-corpus --gold /tmp/norquad-gold.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from assistant.cli import eval_index_dir
from assistant.config import Settings
from assistant.evaluation import (
    first_relevant_rank,
    load_gold,
    metrics,
    ranked_documents,
)
from assistant.search import Searcher
from assistant.service import Assistant

WEIGHTS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def main() -> int:
    parser = argparse.ArgumentParser(description="Finn beste fusjon for kombinert søk på et gullsett.")
    parser.add_argument("--corpus", type=Path, required=True, metavar="MAPPE")
    parser.add_argument("--gold", type=Path, required=True, metavar="FIL")
    parser.add_argument("--json", action="store_true", help="skriv resultatene som JSON")
    args = parser.parse_args()

    settings = Settings.from_env()
    settings = settings.with_(corpus_dir=args.corpus,
                              index_dir=eval_index_dir(args.corpus, settings.cache_dir))
    assistant = Assistant(settings)
    assistant.ensure_index()
    index = assistant.index
    gold = load_gold(args.gold)
    vectors = assistant.embedder.encode_queries([g.question for g in gold])

    results = []
    for method in ("minmax", "bounded", "rrf"):
        for weight in WEIGHTS:
            config = dataclasses.replace(settings.search, fusion=method, hybrid_weight=weight)
            searcher = Searcher(index, assistant.embedder, config)
            ranks = []
            for question, vector in zip(gold, vectors):
                ranking = ranked_documents(searcher, question.question, "hybrid", query_vector=vector)
                ranks.append(first_relevant_rank(ranking, question))
            results.append({"fusion": method, "weight": weight, **metrics(ranks)})
    results.sort(key=lambda r: (-r["ndcg@10"], -r["recall@5"]))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print("| fusjon | vekt (semantisk) | nDCG@10 | R@1 | R@5 |")
        print("|---|---|---|---|---|")
        for r in results:
            print(f"| {r['fusion']} | {r['weight']:.1f} | {r['ndcg@10']:.3f} | "
                  f"{r['recall@1']:.3f} | {r['recall@5']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
