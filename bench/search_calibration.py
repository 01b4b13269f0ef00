"""Where semantic search's similarity floor (``retrieval.SEMANTIC_SIMILARITY_FLOOR``) can sit: cosine
similarities of relevant query–product pairs against those of queries nothing in the catalogue matches;
and what typo correction's rules (``retrieval._correct``) change.

    python -m bench search_calibration
    BENCH_RETAIL_CSV=path python -m bench search_calibration   # default ../shared/eval/online-retail/interactions.csv
    BENCH_CALIBRATION_PRODUCTS=100 BENCH_CALIBRATION_TYPOS=0 python -m bench search_calibration   # tiny, no database

Parts 1–3 encode products and queries in memory with the shop's encoder; part 4 reads the shop's
database (the demo: ``seed_demo`` then ``embed_products``), writing nothing.

1. The demo catalogue (``demo.devset.build_devset``, 2,000 products, seed 42, as ``seed_demo`` makes
   them): for every labelled query, the similarity of its best relevant product and of all of them, by
   query kind.
2. Real product names (the Online Retail set, when present): each of 300 names drawn by seed gives a
   query, its last two words ("t-light holder"); its relevant products are the names that end with them.
3. Nonsense and out-of-catalogue queries (written ones, and 200 random letter strings): the best
   similarity any product of either catalogue reaches.
4. Typo correction over the shop's vocabulary, by rule: the development set's one-edit misspellings
   (never of the first letter) of the demo's nouns, and 1,000 stems of words of the encoder's vocabulary
   drawn by seed that no product has, which no rule should "correct".
"""

import csv
import json
import os
import random
import string
from pathlib import Path

import numpy as np

from ai import embeddings
from ai.search import retrieval
from ai.search.retrieval import edit_distance
from bench import percentile

RETAIL_CSV = Path(os.environ.get("BENCH_RETAIL_CSV", Path(__file__).resolve().parents[2] / "shared/eval/online-retail"
                                 / "interactions.csv"))
OUT_OF_CATALOGUE = [
    "xyzzy qwfp plorth", "quantum flux capacitor", "plutonium rods", "car tyres", "laptop charger",
    "mortgage advice", "football boots", "dog food", "motor oil", "iphone case", "printer ink", "guitar strings",
    "flight tickets", "insurance quote", "diesel engine", "baby formula", "ski goggles", "tax return",
]
DEMO_PRODUCTS = int(os.environ.get("BENCH_CALIBRATION_PRODUCTS", "2000"))
TYPOS = os.environ.get("BENCH_CALIBRATION_TYPOS", "1") != "0"
QUANTILES = (1, 5, 10, 25, 50)
FLOORS = (0.25, 0.3, 0.35, 0.4)


def _spread(values: list[float], quantiles=QUANTILES) -> dict[str, float]:
    return {f"p{q}": round(percentile(values, q), 3) for q in quantiles}


def _above(values: list[float]) -> dict[str, float]:
    """The share of ``values`` that each candidate floor keeps."""
    return {f"{floor:.2f}": round(sum(v >= floor for v in values) / len(values), 3) for floor in FLOORS}


def _nonsense(rng: random.Random, count: int) -> list[str]:
    def word():
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9)))
    return [" ".join(word() for _ in range(rng.randint(1, 3))) for _ in range(count)]


def _best(queries: list[str], products: np.ndarray) -> list[float]:
    return (embeddings.encode(queries) @ products.T).max(axis=1).tolist()


def demo_catalogue() -> tuple[dict, np.ndarray]:
    from demo.devset import build_devset

    devset = build_devset(DEMO_PRODUCTS, 42)
    texts = [embeddings.product_text(p["title"], p["description"], p["category"], json.loads(p["attributes"]))
             for p in devset.products]
    vectors = embeddings.encode(texts)
    row = {p["product_id"]: i for i, p in enumerate(devset.products)}
    queries = embeddings.encode([q.text for q in devset.queries])
    best, pairs = {}, {}
    for query, vector in zip(devset.queries, queries, strict=True):
        similarities = vectors[[row[pid] for pid in query.gains]] @ vector
        best.setdefault(query.kind, []).append(float(similarities.max()))
        pairs.setdefault(query.kind, []).extend(similarities.tolist())
    every_best = [s for values in best.values() for s in values]
    every_pair = [s for values in pairs.values() for s in values]
    figures = {
        "queries": len(devset.queries),
        "best_relevant": {"all": _spread(every_best), **{kind: _spread(v) for kind, v in best.items()}},
        "relevant_pairs": {"all": _spread(every_pair), **{kind: _spread(v) for kind, v in pairs.items()}},
        "best_relevant_kept": {"all": _above(every_best), **{kind: _above(v) for kind, v in best.items()}},
        "relevant_pairs_kept": {"all": _above(every_pair), **{kind: _above(v) for kind, v in pairs.items()}},
    }
    return figures, vectors


def retail_catalogue(rng: random.Random) -> tuple[dict, np.ndarray] | None:
    if not RETAIL_CSV.exists():
        return None
    with RETAIL_CSV.open() as file:
        names = sorted({" ".join(row["description"].lower().split()) for row in csv.DictReader(file)} - {""})
    vectors = embeddings.encode(names)
    tails = sorted({" ".join(name.split()[-2:]) for name in names if len(name.split()) >= 3})
    best, pairs = [], []
    for tail in rng.sample(tails, min(300, len(tails))):
        relevant = [i for i, name in enumerate(names) if name.endswith(tail)]
        similarities = vectors[relevant] @ embeddings.encode_query(tail)
        best.append(float(similarities.max()))
        pairs.extend(similarities.tolist())
    return {"products": len(names), "best_relevant": _spread(best), "relevant_pairs": _spread(pairs),
            "best_relevant_kept": _above(best), "relevant_pairs_kept": _above(pairs)}, vectors


def _old_rule(term: str, candidates: list[tuple[str, int]], *, same_first_letter: bool = False) -> str | None:
    """Typo correction before the confidence rules: the closest candidate within the allowed distance."""
    allowed = 1 if len(term) < 6 else 2
    scored = [(edit_distance(term, c), -count, c) for c, count in candidates
              if not same_first_letter or c[0] == term[0]]
    scored = [entry for entry in scored if entry[0] <= allowed]
    return min(scored)[2] if scored else None


def typo_correction(rng: random.Random) -> dict:
    from django.db import connection, transaction

    from ai.search.models import SearchTerm
    from demo.devset import build_devset, kinds_by_noun

    def stems(words: list[str]) -> dict[str, str]:
        cursor.execute("SELECT w, array_to_string(tsvector_to_array(to_tsvector('english', w)), ' ') "
                       "FROM unnest(%s::text[]) AS w", [words])
        return dict(cursor.fetchall())

    def candidates(term: str) -> list[tuple[str, int]]:
        cursor.execute("SET LOCAL pg_trgm.similarity_threshold = %s", [retrieval.TYPO_CANDIDATE_SIMILARITY])
        cursor.execute(f"SELECT term, document_count FROM {SearchTerm._meta.db_table} WHERE term %% %s "
                       "ORDER BY similarity(term, %s) DESC LIMIT 30", [term, term])
        return cursor.fetchall()

    misspelt = []  # (typed word, meant word): the one word of a misspelling query that differs from a noun
    for query in build_devset(DEMO_PRODUCTS, 42).queries:
        if query.kind == "misspelling":
            typed = query.text.split()
            for noun in kinds_by_noun():
                meant = noun.lower().split()
                differ = [(a, b) for a, b in zip(typed, meant, strict=False) if a != b]
                if len(meant) == len(typed) and len(differ) == 1 and edit_distance(*differ[0]) == 1:
                    misspelt.append(differ[0])
                    break
    rules = {
        "closest (before)": lambda term, found: _old_rule(term, found),
        "closest, same first letter": lambda term, found: _old_rule(term, found, same_first_letter=True),
        "shipped (retrieval._correct)": None,
    }
    figures = {}
    with transaction.atomic(), connection.cursor() as cursor:
        known = set(SearchTerm.objects.values_list("term", flat=True))
        stem = stems([w for pair in misspelt for w in pair])
        typos = [(stem[typed], stem[meant]) for typed, meant in misspelt if stem[typed] not in known]
        words = stems(sorted(embeddings.vocabulary()))
        real = rng.sample(sorted({s for s in words.values() if len(s) >= 4} - known), 1000)
        found = {term: candidates(term) for term in [t for t, _ in typos] + real}
        for name, rule in rules.items():
            def correct(term, rule=rule):
                return rule(term, found[term]) if rule else retrieval._correct(cursor, term)
            wrongly = [(term, fixed) for term in real if (fixed := correct(term))]
            figures[name] = {
                "misspellings_corrected_right": f"{sum(correct(t) == m for t, m in typos)} of {len(typos)}",
                "real_words_corrected": f"{len(wrongly)} of {len(real)}",
                "examples": wrongly[:8],
            }
    return figures


def run() -> dict:
    rng = random.Random(42)
    demo, demo_vectors = demo_catalogue()
    retail = retail_catalogue(rng)
    nonsense = _nonsense(rng, 200)
    catalogues = {"demo": demo_vectors, **({"retail": retail[1]} if retail else {})}
    outside = {}
    for name, vectors in catalogues.items():
        written, random_strings = _best(OUT_OF_CATALOGUE, vectors), _best(nonsense, vectors)
        outside[name] = {
            "written": {q: round(s, 3) for q, s in zip(OUT_OF_CATALOGUE, written, strict=True)},
            "written_max": round(max(written), 3),
            "random_strings": _spread(random_strings, (50, 90, 99, 100)),
            "random_strings_kept": _above(random_strings),
        }
    return {"demo": demo, "retail": retail[0] if retail else "not found: " + str(RETAIL_CSV),
            "best_match_of_queries_nothing_matches": outside,
            "typo_correction": typo_correction(rng) if TYPOS else "not run (BENCH_CALIBRATION_TYPOS=0)"}
