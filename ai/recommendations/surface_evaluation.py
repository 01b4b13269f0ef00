"""The product-page surfaces, "similar" and "bought together": their selection inside every training run,
on the shop's own events and orders, and their offline evaluation on an interaction log.

**similar**, next item: the per-user split of ``evaluation.split``; each evaluated user's seed is their
last train item and the seed's list is scored against their held-out items. The list is the storefront's
own: co-behaviour neighbours (``engine.behaviour_neighbours``, BM25 or cosine item-item over the train
part, whatever model serves customers) through ``neighbours.blend_similar``, as
``training._precompute_products`` builds it, but with the co-behaviour half only: a log has no text
embeddings or categories. Selection scores both kinds against best sellers; when neither beats them the
shop's similar rows are content neighbours alone.

**bought together**, leave one out in baskets: a basket is one order (a log: one user's purchases with one
timestamp, as Online Retail's invoices). Global time split: baskets from the last 20 % of the time span
are the test period, the rest train. In each test basket of at least two distinct items every item in
turn is the seed and the rest of the basket the relevant set. The list is ``co_purchases``' association
strength, the cosine over baskets with at least ``MIN_SHARED_ORDERS`` shared, computed over the train
period's baskets (the shop computes it in SQL over orders; this mirrors that query and its constants),
its ``BOUGHT_TOGETHER_COUNT`` strongest as training keeps them. Selection scores it against best
sellers; when it does not beat them, product pages show the complementary categories' products instead.

Offline, "served" is what selection picks on the train part alone (its own inner split), scored on the
test part. Every list, the surfaces' and the baselines', is filled to ``K`` with best sellers (never the
seed), as a carousel is. Reported: precision@20, recall@20, NDCG@20 and coverage (``evaluation.metrics``)
and the hit rate (the share of seeds with at least one relevant item in their list).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ai.recommendations import engine, evaluation, neighbours
from ai.recommendations.config import BOUGHT_TOGETHER_COUNT, SIMILAR_COUNT, RecommenderSettings
from commerce.orders.services import MIN_SHARED_ORDERS

K = evaluation.K
SURFACES = ("similar", "bought_together")
POPULARITY = "popularity"
# Selection's candidates for the co-behaviour half of "similar": name → cosine (else BM25) item-item; the
# first is the default.
CO_BEHAVIOUR = {"co-behaviour (bm25)": False, "co-behaviour (cosine)": True}
ASSOCIATION = "association strength"
# Fewest validation seeds a surface's selection decides on; with fewer, the surface keeps its default.
MIN_SEEDS = RecommenderSettings.surface_min_seeds
SIMILAR_METHODS = ("served", *CO_BEHAVIOUR, "item_item", POPULARITY)
BOUGHT_TOGETHER_METHODS = ("served", "co_occurrence", "item_item", POPULARITY)


@dataclass
class Baskets:
    train: sp.csr_matrix  # train-period baskets × items, 1 where the basket holds the item
    test: list[np.ndarray]  # the test period's baskets of at least two distinct items, as item columns
    cutoff: datetime  # baskets at or after it are the test period


@dataclass
class Cases:
    """What a surface is scored on: each seed's list should hold the seed's relevant items."""

    seeds: np.ndarray  # item columns
    relevant: list[set[int]]
    best_sellers: np.ndarray  # item columns, best first: what fills every list
    items: int


def strongest(similarity: sp.csr_matrix, count: int) -> np.ndarray:
    """Each item's ``count`` strongest positive neighbours in an items × items ``similarity`` (itself
    excluded; -1 pads), ranked as the storefront ranks them."""
    return engine.strongest_neighbours(similarity, np.ones(similarity.shape[0], dtype=bool), count)[0]


def filled(lists: np.ndarray, seeds: np.ndarray, best_sellers: np.ndarray) -> np.ndarray:
    """Each seed's list (rows of ``lists`` by seed, -1 padded) then best sellers, ``K`` in all, never
    the seed or an item twice."""
    distinct, position = np.unique(seeds, return_inverse=True)  # many seeds repeat: fill each item once
    out = np.full((len(distinct), K), -1, dtype=np.int64)
    head = best_sellers[: 2 * K + 1].tolist()  # enough for K after dropping the seed and the list
    for row, seed in enumerate(distinct):
        chosen = [int(item) for item in lists[seed][:K] if item >= 0]
        taken = set(chosen) | {int(seed)}
        chosen += [item for item in head if item not in taken][: K - len(chosen)]
        out[row, : len(chosen)] = chosen
    return out[position]


def scored(lists: np.ndarray, cases: Cases) -> dict[str, float]:
    """The figures of ``lists`` (rows by item column) filled with best sellers, over ``cases``."""
    ranked = filled(lists, cases.seeds, cases.best_sellers)
    split = evaluation.Split(train=None, counts=None, held_out=dict(enumerate(cases.relevant)), items=cases.items,
                             train_rows=[])
    seeds = np.arange(len(cases.relevant))
    figures = evaluation.metrics(ranked, seeds, split)
    hits = int(evaluation.hits(ranked, seeds, split).any(axis=1).sum())
    return {**figures, "hit_rate": round(hits / max(len(cases.relevant), 1), 4)}


def no_lists(items: int) -> np.ndarray:
    """Popularity's lists: empty, so best sellers fill them."""
    return np.full((items, 0), -1, dtype=np.int64)


def chosen(scores: dict[str, dict], started: float, seeds: int) -> dict:
    """A surface's selection record, shaped as the personal one (``selection.select``): the best NDCG@20
    wins; the surface's own default comes first in ``scores``, so another candidate (popularity, the
    fallback, included) replaces it only by scoring strictly better."""
    winner = next(iter(scores))
    for name, figures in scores.items():
        if figures["ndcg@20"] > scores[winner]["ndcg@20"]:
            winner = name
    baseline = scores[POPULARITY]["ndcg@20"]
    return {"winner": winner,
            "candidates": {name: {"ndcg@20": figures["ndcg@20"], "recall@20": figures["recall@20"]}
                           for name, figures in scores.items()},
            "lift_over_popularity": round(scores[winner]["ndcg@20"] / baseline - 1, 4) if baseline > 0 else None,
            "validation_seeds": seeds, "seconds": round(time.perf_counter() - started, 2)}


def unvalidated(reason: str) -> dict:
    return {"winner": None, "reason": reason}


def described(record: dict) -> str:
    """A record in a log line."""
    if record["winner"] is None:
        return f"its default ({record['reason']})"
    return (f"{record['winner']} (validation NDCG@20 {record['candidates'][record['winner']]['ndcg@20']:.4f}, "
            f"popularity {record['candidates'][POPULARITY]['ndcg@20']:.4f}, {record['validation_seeds']} seeds)")


def similar_co_behaviour(record: dict) -> bool | None:
    """What a similar record serves: cosine (True) or BM25 (False) co-behaviour blended with content, or
    content alone (None) when best sellers beat both; BM25 when nothing could be validated."""
    if record.get("winner") == POPULARITY:
        return None
    return CO_BEHAVIOUR.get(record.get("winner"), False)


def serves_association(record: dict) -> bool:
    """Whether a bought-together record serves association strength (else complementary categories)."""
    return record.get("winner") != POPULARITY


# --- similar --------------------------------------------------------------------------------------


def last_train_items(data: evaluation.Split) -> dict[int, int]:
    """User row → column of their newest train item. ``train_rows`` come user by user in row order,
    oldest first, and every user has at least one train row."""
    last: dict[int, int] = {}
    row, previous = -1, None
    for user, item, _, _ in data.train_rows:
        if user != previous:
            row, previous = row + 1, user
        last[row] = data.item_columns[item]
    return last


def similar_cases(data: evaluation.Split) -> Cases:
    users = sorted(data.held_out)
    if not users:
        raise ValueError("no user has held-out items to score a similar list against")
    last = last_train_items(data)
    best_sellers = np.argsort(-np.asarray((data.counts > 0).sum(axis=0)).ravel(), kind="stable")
    return Cases(np.array([last[user] for user in users], dtype=np.int64), [data.held_out[user] for user in users],
                 best_sellers, data.items)


def co_behaviour_lists(data: evaluation.Split, seeds: np.ndarray, *, cosine: bool) -> np.ndarray:
    """The seeds' similar lists as training builds them from co-behaviour alone (rows by item column)."""
    behaviour, scores = engine.behaviour_neighbours(data.train, np.ones(data.items, dtype=bool),
                                                    SIMILAR_COUNT * neighbours.CANDIDATES_PER_ITEM, cosine=cosine)
    lists = np.full((data.items, SIMILAR_COUNT), -1, dtype=np.int64)
    for seed in np.unique(seeds):
        keep = behaviour[seed] >= 0
        blended = neighbours.blend_similar(None, list(zip(behaviour[seed][keep].tolist(),
                                                          scores[seed][keep].tolist(), strict=True)),
                                           [], {}, SIMILAR_COUNT)
        lists[seed, : len(blended)] = [item for item, _ in blended]
    return lists


def too_few_seeds(cases: Cases, min_seeds: int) -> str:
    """Why ``cases`` are too few to move a surface off its default ("" when they are enough): on a few
    dozen seeds best sellers win by chance."""
    if len(cases.seeds) < min_seeds:
        return f"{len(cases.seeds)} seed products to validate on, fewer than the {min_seeds} a choice needs"
    return ""


def select_similar(data: evaluation.Split, min_seeds: int = MIN_SEEDS) -> dict:
    """Which co-behaviour kind "similar" blends with content, if any beats best sellers on ``data``."""
    started = time.perf_counter()
    try:
        cases = similar_cases(data)
    except ValueError as error:
        return unvalidated(str(error))
    if too_few := too_few_seeds(cases, min_seeds):
        return unvalidated(too_few)
    scores = {name: scored(co_behaviour_lists(data, cases.seeds, cosine=cosine), cases)
              for name, cosine in CO_BEHAVIOUR.items()}
    scores[POPULARITY] = scored(no_lists(data.items), cases)
    return chosen(scores, started, len(cases.seeds))


def evaluate_similar(rows: list[tuple], settings: RecommenderSettings) -> tuple[dict, dict]:
    data = evaluation.split(rows, settings.event_weights)
    cases = similar_cases(data)
    picked = select_similar(evaluation.split(data.train_rows, settings.event_weights))
    lists = {name: co_behaviour_lists(data, cases.seeds, cosine=cosine) for name, cosine in CO_BEHAVIOUR.items()}
    lists["item_item"] = strongest(engine.item_similarity(data.counts, neighbours=K), K)
    lists[POPULARITY] = no_lists(data.items)
    served = similar_co_behaviour(picked)
    lists["served"] = lists[POPULARITY] if served is None else co_behaviour_lists(data, cases.seeds, cosine=served)
    report = {method: scored(lists[method], cases) for method in SIMILAR_METHODS}
    return report, {"evaluated_users": len(cases.seeds), "items": data.items, "selection": picked}


# --- bought together ------------------------------------------------------------------------------


def parse_time(value) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"timestamp {value!r} is neither ISO 8601 nor a number") from None


def baskets(rows: list[tuple]) -> tuple[Baskets, int]:
    """The purchases' baskets, split at 80 % of their time span; and the number of item columns."""
    items: dict[str, int] = {}
    contents: dict[tuple[str, str], set[int]] = defaultdict(set)
    for user, item, timestamp, event in rows:
        if event == "purchase":
            contents[(user, timestamp)].add(items.setdefault(item, len(items)))
    if not contents:
        raise ValueError("no purchase to build baskets from")
    times = {timestamp: parse_time(timestamp) for _, timestamp in contents}
    cutoff = min(times.values()) + (1 - evaluation.TEST_FRACTION) * (max(times.values()) - min(times.values()))
    train = [sorted(found) for (_, when), found in contents.items() if times[when] < cutoff]
    test = [np.array(sorted(found)) for (_, when), found in contents.items()
            if times[when] >= cutoff and len(found) >= 2]
    if not test:
        raise ValueError("no basket of two or more distinct items in the last 20 % of the time span")
    cells = np.array([item for found in train for item in found], dtype=np.int64)
    basket_rows = np.repeat(np.arange(len(train)), [len(found) for found in train])
    matrix = sp.csr_matrix((np.ones(len(cells), dtype=np.float32), (basket_rows, cells)),
                           shape=(len(train), len(items)))
    return Baskets(matrix, test, datetime.fromtimestamp(cutoff)), len(items)


def basket_cases(data: Baskets, items: int) -> Cases:
    return Cases(np.array([item for basket in data.test for item in basket], dtype=np.int64),
                 [set(basket.tolist()) - {int(item)} for basket in data.test for item in basket],
                 np.argsort(-np.asarray(data.train.sum(axis=0)).ravel(), kind="stable"), items)


def association_strength(orders: sp.csr_matrix) -> sp.csr_matrix:
    """``co_purchases``' measure over a baskets × items matrix: shared ÷ √(baskets of one × of the other),
    for pairs sharing at least ``MIN_SHARED_ORDERS`` baskets."""
    pairs = co_occurrence(orders).tocoo()
    supported = pairs.data >= MIN_SHARED_ORDERS
    rows, cols, shared = pairs.row[supported], pairs.col[supported], pairs.data[supported]
    per_item = np.asarray(orders.sum(axis=0)).ravel()
    strength = (shared / np.sqrt(per_item[rows] * per_item[cols])).astype(np.float32)
    return sp.csr_matrix((strength, (rows, cols)), shape=pairs.shape)


def co_occurrence(orders: sp.csr_matrix) -> sp.csr_matrix:
    """Baskets shared by each pair of distinct items."""
    shared = (orders.T @ orders).tocsr()
    shared = shared - sp.diags(shared.diagonal())
    shared.eliminate_zeros()
    return shared.tocsr()


def select_bought_together(rows: list[tuple], min_seeds: int = MIN_SEEDS) -> dict:
    """Whether association strength beats best sellers on the newest baskets of ``rows`` ((basket, item,
    time, "purchase")); the record says which, or why nothing could be validated."""
    started = time.perf_counter()
    try:
        data, items = baskets(rows)
    except ValueError as error:
        return unvalidated(str(error))
    if data.train.nnz == 0:
        return unvalidated("no basket before the newest 20 % of the time span to learn from")
    cases = basket_cases(data, items)
    if too_few := too_few_seeds(cases, min_seeds):
        return unvalidated(too_few)
    scores = {ASSOCIATION: scored(strongest(association_strength(data.train), BOUGHT_TOGETHER_COUNT), cases),
              POPULARITY: scored(no_lists(items), cases)}
    return chosen(scores, started, len(cases.seeds))


def evaluate_bought_together(rows: list[tuple]) -> tuple[dict, dict]:
    data, items = baskets(rows)
    cases = basket_cases(data, items)
    before = data.cutoff.timestamp()
    picked = select_bought_together([row for row in rows if row[3] == "purchase" and parse_time(row[2]) < before])
    association = strongest(association_strength(data.train), BOUGHT_TOGETHER_COUNT)
    lists = {"served": association if serves_association(picked) else no_lists(items),
             "co_occurrence": strongest(co_occurrence(data.train), K),
             "item_item": strongest(engine.item_similarity(data.train, neighbours=K), K),
             POPULARITY: no_lists(items)}
    report = {method: scored(lists[method], cases) for method in BOUGHT_TOGETHER_METHODS}
    return report, {"train_baskets": data.train.shape[0], "test_baskets": len(data.test), "seeds": len(cases.seeds),
                    "items": items, "test_from": data.cutoff.isoformat(timespec="seconds"), "selection": picked}


def evaluate(path: Path, surfaces: tuple[str, ...] = SURFACES, settings: RecommenderSettings | None = None
             ) -> dict[str, tuple[dict, dict]]:
    """Per surface, each method's figures and a summary of what was scored."""
    settings = settings or RecommenderSettings.from_settings()
    rows = evaluation.read_interactions(path)
    found = {}
    if "similar" in surfaces:
        found["similar"] = evaluate_similar(rows, settings)
    if "bought_together" in surfaces:
        found["bought_together"] = evaluate_bought_together(rows)
    return found
