"""Offline evaluation of the product-page surfaces, "similar" and "bought together", on an interaction log.

**similar**, next item: the per-user split of ``evaluation.split``; each evaluated user's seed is their
last train item and the seed's list is scored against their held-out items. The list is the storefront's
own: ``engine.behaviour_neighbours`` (BM25 item-item over the train part, whatever model serves
customers) through ``neighbours.blend_similar``, as ``training._precompute_products``
builds it, but with the co-behaviour half only: a log has no text embeddings or categories.

**bought together**, leave one out in baskets: a basket is one user's purchases with one timestamp
(Online Retail: an invoice). Global time split: baskets from the last 20 % of the log's time span are
the test period, the rest train. In each test basket of at least two distinct items every item in turn
is the seed and the rest of the basket the relevant set. The list is ``co_purchases``' association
strength, the cosine over baskets with at least ``MIN_SHARED_ORDERS`` shared, computed over the train
period's baskets (the shop computes it in SQL over orders; this mirrors that query and its constants),
its ``BOUGHT_TOGETHER_COUNT`` strongest as training keeps them.

Every list, the surfaces' and the baselines', is filled to ``K`` with best sellers (never the seed), as a
carousel is. Reported: precision@20, recall@20, NDCG@20 and coverage (``evaluation.metrics``) and the
hit rate (the share of seeds with at least one relevant item in their list).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ai.recommendations import engine, evaluation, neighbours
from ai.recommendations.config import SIMILAR_COUNT, RecommenderSettings
from ai.recommendations.training import BOUGHT_TOGETHER_COUNT
from commerce.orders.services import MIN_SHARED_ORDERS

K = evaluation.K
SURFACES = ("similar", "bought_together")
SIMILAR_METHODS = ("served", "item_item", "popularity")
BOUGHT_TOGETHER_METHODS = ("served", "co_occurrence", "item_item", "popularity")


@dataclass
class Baskets:
    train: sp.csr_matrix  # train-period baskets × items, 1 where the basket holds the item
    test: list[np.ndarray]  # the test period's baskets of at least two distinct items, as item columns
    cutoff: datetime  # baskets at or after it are the test period


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


def scored(lists: np.ndarray, relevant: list[set[int]], items: int) -> dict[str, float]:
    cases = evaluation.Split(train=None, counts=None, held_out=dict(enumerate(relevant)), items=items,
                             train_rows=[])
    figures = evaluation.metrics(lists, np.arange(len(relevant)), cases)
    hits = sum(any(int(item) in wanted for item in row) for row, wanted in zip(lists, relevant, strict=True))
    return {**figures, "hit_rate": round(hits / max(len(relevant), 1), 4)}


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


def evaluate_similar(rows: list[tuple], settings: RecommenderSettings) -> tuple[dict, dict]:
    data = evaluation.split(rows, settings.event_weights)
    users = sorted(data.held_out)
    if not users:
        raise ValueError("no user has held-out items to score a similar list against")
    last = last_train_items(data)
    seeds = np.array([last[user] for user in users], dtype=np.int64)
    relevant = [data.held_out[user] for user in users]
    best_sellers = np.argsort(-np.asarray((data.counts > 0).sum(axis=0)).ravel(), kind="stable")
    behaviour, scores = engine.behaviour_neighbours(data.train, np.ones(data.items, dtype=bool),
                                                    SIMILAR_COUNT * neighbours.CANDIDATES_PER_ITEM)
    served = np.full((data.items, SIMILAR_COUNT), -1, dtype=np.int64)
    for seed in np.unique(seeds):
        keep = behaviour[seed] >= 0
        blended = neighbours.blend_similar(None, list(zip(behaviour[seed][keep].tolist(),
                                                          scores[seed][keep].tolist(), strict=True)),
                                           [], {}, SIMILAR_COUNT)
        served[seed, : len(blended)] = [item for item, _ in blended]
    lists = {"served": served,
             "item_item": strongest(engine.item_similarity(data.counts, neighbours=K), K),
             "popularity": np.full((data.items, 0), -1, dtype=np.int64)}
    report = {method: scored(filled(lists[method], seeds, best_sellers), relevant, data.items)
              for method in SIMILAR_METHODS}
    return report, {"evaluated_users": len(users), "items": data.items}


def parse_time(value: str) -> float:
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"timestamp {value!r} is neither ISO 8601 nor a number") from None


def baskets(rows: list[tuple]) -> tuple[Baskets, int]:
    """The purchases' baskets, split at 80 % of the log's time span; and the number of item columns."""
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
        raise ValueError("no basket of two or more distinct items in the last 20 % of the log's time")
    cells = np.array([item for found in train for item in found], dtype=np.int64)
    basket_rows = np.repeat(np.arange(len(train)), [len(found) for found in train])
    matrix = sp.csr_matrix((np.ones(len(cells), dtype=np.float32), (basket_rows, cells)),
                           shape=(len(train), len(items)))
    return Baskets(matrix, test, datetime.fromtimestamp(cutoff)), len(items)


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


def evaluate_bought_together(rows: list[tuple]) -> tuple[dict, dict]:
    data, items = baskets(rows)
    seeds = np.array([item for basket in data.test for item in basket], dtype=np.int64)
    relevant = [set(basket.tolist()) - {int(item)} for basket in data.test for item in basket]
    best_sellers = np.argsort(-np.asarray(data.train.sum(axis=0)).ravel(), kind="stable")
    lists = {"served": strongest(association_strength(data.train), BOUGHT_TOGETHER_COUNT),
             "co_occurrence": strongest(co_occurrence(data.train), K),
             "item_item": strongest(engine.item_similarity(data.train, neighbours=K), K),
             "popularity": np.full((items, 0), -1, dtype=np.int64)}
    report = {method: scored(filled(lists[method], seeds, best_sellers), relevant, items)
              for method in BOUGHT_TOGETHER_METHODS}
    return report, {"train_baskets": data.train.shape[0], "test_baskets": len(data.test), "seeds": len(seeds),
                    "items": items, "test_from": data.cutoff.isoformat(timespec="seconds")}


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
