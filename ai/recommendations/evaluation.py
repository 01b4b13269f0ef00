"""Offline evaluation of recommendations on an interaction log, with a leave-last-out protocol.

Per user (sorted by time, file order breaking ties), users with at least ``MIN_INTERACTIONS``: the last
20 % of their interactions (at least one) are the test part; the held-out set is the distinct items of
the test part that are not in the user's train part (users left with none are skipped). Every method
trains on all train parts (all interactions of users too short to test) and recommends ``K`` items per
user, never one of the user's train items. ``served`` is exactly what the storefront's training does:
model selection (``selection``) on the train part alone, with its own inner split of the newest 20 %,
then the winner fitted on the whole train part (``ai.recommendations.engine``) and scored on the test part.
"""

from __future__ import annotations

import csv
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from ai.recommendations import engine
from ai.recommendations.config import RecommenderSettings

K = 20
MIN_INTERACTIONS = 5
TEST_FRACTION = 0.2
SCORING_BATCH_SIZE = 1024
METHODS = ("served", "als", "item_item", "popularity", "random")
REQUIRED_COLUMNS = ("user_id", "item_id", "timestamp")


@dataclass
class Split:
    train: sp.csr_matrix  # users × items, event-weighted (what the storefront would have learnt from)
    counts: sp.csr_matrix  # users × items, number of train interactions (what the plain baselines learn from)
    held_out: dict[int, set[int]]  # user row → held-out item columns
    items: int  # columns: every item of the file
    train_rows: list[tuple]  # the train part's rows as given, for selection's own inner split
    item_columns: dict = field(default_factory=dict)  # item as given → column


def read_interactions(path: Path) -> list[tuple[str, str, str, str]]:
    """(user, item, timestamp, event type) per row; event type defaults to purchase."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in REQUIRED_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        return [(row["user_id"], row["item_id"], row["timestamp"], row.get("event_type") or "purchase")
                for row in reader]


def split(rows: list[tuple], weights: dict[str, float]) -> Split:
    """Rows are (user, item, timestamp, event type) of any comparable types: the file's strings, or the
    shop's ids and datetimes when selection splits the shop's own events."""
    by_user: dict[str, list[tuple[str, int, str, str]]] = defaultdict(list)
    for position, (user, item, timestamp, event) in enumerate(rows):
        by_user[user].append((timestamp, position, item, event))
    item_index: dict[str, int] = {}
    train_rows, train_cols, train_weights, train_part = [], [], [], []
    held_out: dict[int, set[int]] = {}
    for row, (user, history) in enumerate(sorted(by_user.items())):
        history.sort()
        test_size = max(1, math.ceil(TEST_FRACTION * len(history))) if len(history) >= MIN_INTERACTIONS else 0
        train, test = history[:len(history) - test_size], history[len(history) - test_size:]
        seen = set()
        for timestamp, _, item, event in train:
            train_part.append((user, item, timestamp, event))
            column = item_index.setdefault(item, len(item_index))
            seen.add(column)
            train_rows.append(row)
            train_cols.append(column)
            train_weights.append(weights.get(event, 0.0))
        unseen = {item_index.setdefault(item, len(item_index)) for _, _, item, _ in test} - seen
        if unseen:
            held_out[row] = unseen
    shape = (len(by_user), len(item_index))
    rows_, cols_ = np.array(train_rows, dtype=np.int64), np.array(train_cols, dtype=np.int64)
    matrix = engine.interaction_matrix(rows_, cols_, np.array(train_weights, dtype=np.float32), shape)
    counts = sp.csr_matrix((np.ones(len(rows_), dtype=np.float32), (rows_, cols_)), shape=shape)
    counts.sum_duplicates()
    return Split(matrix, counts, held_out, len(item_index), train_part, item_index)


def recommend(score_batch: Callable[[np.ndarray], np.ndarray], data: Split, users: np.ndarray) -> np.ndarray:
    return recommend_each(lambda batch: [score_batch(batch)], data, users, 1)[0]


def recommend_each(score_batches: Callable[[np.ndarray], Iterable[np.ndarray]], data: Split, users: np.ndarray,
                   scorers: int) -> list[np.ndarray]:
    """``recommend`` for ``scorers`` scorers at once, batch by batch: ``score_batches`` gives each one's
    scores of a batch in turn, so they can share work on it."""
    recommended: list[list[np.ndarray]] = [[] for _ in range(scorers)]
    for start in range(0, len(users), SCORING_BATCH_SIZE):
        batch = users[start:start + SCORING_BATCH_SIZE]
        seen = data.counts[batch]
        for lists, scores in zip(recommended, score_batches(batch), strict=True):
            lists.append(engine.top_n(scores, seen, None, K)[0])
    return [np.vstack(lists) if lists else np.empty((0, K), dtype=np.int64) for lists in recommended]


def served_model(data: Split, settings: RecommenderSettings, chosen: dict) -> engine.TrainedModel:
    """What training serves: selection on the train part alone (its own newest slice held out, the test
    part never seen), then the winner fitted on the whole train part. ``chosen`` receives the record."""
    from ai.recommendations import selection  # selection is built on this module's split and metrics

    if settings.select_model:
        picked = selection.select(data.train_rows, settings)
        settings = picked.settings
        chosen.update(picked.record)
    return engine.fit(data.train, settings)


def served_scores(data: Split, settings: RecommenderSettings, chosen: dict) -> Callable[[np.ndarray], np.ndarray]:
    trained = served_model(data, settings, chosen)
    return lambda batch: engine.blended_scores(trained, trained.customer_factors[batch], data.train[batch])


def als_scores(data: Split) -> Callable[[np.ndarray], np.ndarray]:
    """implicit's ALS with its default settings on the weighted matrix."""
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(random_state=42)
        model.fit(data.counts, show_progress=False)
    return lambda batch: model.user_factors[batch] @ model.item_factors.T


def item_item_scores(data: Split) -> Callable[[np.ndarray], np.ndarray]:
    """implicit's BM25Recommender with its default settings (20 neighbours)."""
    similarity = engine.item_similarity(data.counts, neighbours=20)
    return lambda batch: np.asarray((data.counts[batch] @ similarity).todense())


def popularity_scores(data: Split) -> Callable[[np.ndarray], np.ndarray]:
    users_per_item = np.asarray((data.counts > 0).sum(axis=0)).ravel().astype(np.float32)
    return lambda batch: np.tile(users_per_item, (len(batch), 1))


def random_scores(data: Split) -> Callable[[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(42)
    return lambda batch: rng.random((len(batch), data.items), dtype=np.float32)


def hits(recommended: np.ndarray, users: np.ndarray, data: Split) -> np.ndarray:
    """Which recommended items (rows of ``recommended``, one per user, -1 pads) the user held out."""
    relevant = [data.held_out[int(user)] for user in users]
    held_rows = np.repeat(np.arange(len(relevant), dtype=np.int64), [len(found) for found in relevant])
    held_items = np.fromiter((item for found in relevant for item in found), dtype=np.int64, count=len(held_rows))
    width = max(data.items, 1) + 1
    listed = np.arange(len(relevant), dtype=np.int64)[:, None] * width + recommended
    return np.isin(listed, held_rows * width + held_items) & (recommended >= 0)


def metrics(recommended: np.ndarray, users: np.ndarray, data: Split) -> dict[str, float]:
    # Per user as a row, then summed user after user (``cumsum``), so the figures are the ones a loop over
    # users gives, to the last bit.
    found = hits(recommended, users, data).astype(np.float64)
    relevant = np.array([len(data.held_out[int(user)]) for user in users], dtype=np.int64)
    discounts = 1.0 / np.log2(np.arange(2, K + 2))
    ideal = np.array([discounts[:count].sum() for count in range(K + 1)])  # a catalogue < K lists fewer
    per_user = {"precision@20": found.sum(axis=1) / K, "recall@20": found.sum(axis=1) / np.maximum(relevant, 1),
                "ndcg@20": (found * discounts[: found.shape[1]]).sum(axis=1) / ideal[np.minimum(K, relevant)]}
    count = max(len(users), 1)
    coverage = len(np.unique(recommended[recommended >= 0])) / max(data.items, 1)
    return {**{name: round((np.cumsum(values)[-1] if len(values) else 0.0) / count, 4)
               for name, values in per_user.items()},
            "coverage": round(coverage, 4)}


def evaluate(path: Path, settings: RecommenderSettings | None = None, methods: tuple[str, ...] = METHODS,
             progress: Callable[[str], None] | None = None) -> tuple[dict[str, dict[str, float]], dict]:
    """Each method's precision@20, recall@20, NDCG@20 and coverage, and a summary of the split."""
    settings = settings or RecommenderSettings.from_settings()
    data = split(read_interactions(path), settings.event_weights)
    users = np.array(sorted(data.held_out), dtype=np.int64)
    chosen: dict = {}
    scorers = {"served": lambda: served_scores(data, settings, chosen), "als": lambda: als_scores(data),
               "item_item": lambda: item_item_scores(data), "popularity": lambda: popularity_scores(data),
               "random": lambda: random_scores(data)}
    report, seconds = {}, {}
    for method in methods:
        started = time.perf_counter()
        report[method] = metrics(recommend(scorers[method](), data, users), users, data)
        seconds[method] = round(time.perf_counter() - started, 1)
        if progress:
            progress(method)
    return report, {"users": data.train.shape[0], "evaluated_users": len(users), "items": data.items,
                    "train_cells": data.train.nnz, "seconds": seconds, "selection": chosen}
