"""Model selection on the shop's own data, inside every training run (write side).

The newest slice of each customer's events is held out exactly as the offline evaluation holds out its
test part (``evaluation.split``: per customer the last 20 %, only products new to them count); every
candidate learns from the rest and recommends 20 products to (a sample of) the customers with a held-out
slice. The candidates: popularity, ALS over ``als_grid``, BM25 and cosine item-item, EASE (when the
catalogue has at most ``ease_max_items`` products), and blends of the best ALS with the best item-item
model. The best validation NDCG@20 wins; popularity is scored first and a later candidate must beat it,
so what is served never scores below best sellers on the validation slice. Training then fits the
winner's settings on all the data.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ai.recommendations import engine, evaluation
from ai.recommendations.config import RecommenderSettings
from ai.recommendations.engine import TrainedModel

logger = logging.getLogger(__name__)

# (ALS, item-item, popularity) shares of the blends tried with the best ALS and the best item-item model.
BLEND_SHARES = ((0.5, 0.5, 0.1), (0.3, 0.7, 0.1), (0.7, 0.3, 0.1), (0.5, 0.5, 0.0), (0.0, 1.0, 0.1))
# The settings a candidate decides; the rest (event weights, window, list lengths) stay the shop's.
CANDIDATE_FIELDS = ("als_share", "item_item_share", "popularity_share", "item_model", "factors",
                    "regularization", "alpha", "ease_lambda")


@dataclass
class Selection:
    settings: RecommenderSettings  # the winner's, to fit on all the data (the shop's own if no winner)
    record: dict  # what ``RecommendationModel.selection`` stores


def sample_customers(customer_ids: np.ndarray, settings: RecommenderSettings) -> set[int]:
    """At most ``selection_customers`` customers, drawn reproducibly: selection's time stays bounded
    however large the shop."""
    if len(customer_ids) <= settings.selection_customers:
        return {int(c) for c in customer_ids}
    rng = np.random.default_rng(settings.random_state)
    return {int(c) for c in rng.choice(customer_ids, settings.selection_customers, replace=False)}


def select(rows: list[tuple], settings: RecommenderSettings, *, threads: int = 0,
           data: evaluation.Split | None = None) -> Selection:
    """Score every candidate on the newest slice of ``rows`` ((customer, product, time, event type)) and
    return the winner's settings with the record of every candidate's figures. ``data``: ``rows`` already
    split (``evaluation.split`` with the settings' event weights)."""
    started = time.perf_counter()
    data = data or evaluation.split(rows, settings.event_weights)
    users = np.array(sorted(data.held_out), dtype=np.int64)
    if len(users) > settings.validation_customers:
        rng = np.random.default_rng(settings.random_state)
        users = np.sort(rng.choice(users, settings.validation_customers, replace=False))
    if len(users) == 0:
        logger.info("recommendations: no customer has a validation slice; serving the configured model")
        return Selection(settings, {"winner": None, "reason": "too little history to validate",
                                    "seconds": round(time.perf_counter() - started, 2)})
    scores: dict[str, dict[str, float]] = {}
    models: dict[str, TrainedModel] = {}

    def score(model: TrainedModel) -> float:
        return record(model, evaluation.recommend(
            lambda batch: engine.blended_scores(model, model.customer_factors[batch], data.train[batch]),
            data, users))

    def record(model: TrainedModel, ranked: np.ndarray) -> float:
        name = candidate_name(model.settings)
        figures = evaluation.metrics(ranked, users, data)
        scores[name] = {"ndcg@20": figures["ndcg@20"], "recall@20": figures["recall@20"]}
        models[name] = model
        return figures["ndcg@20"]

    popularity = engine.popularity(data.train)
    no_factors = np.zeros((data.train.shape[0], 0), np.float32), np.zeros((data.items, 0), np.float32)
    empty_items = sp.csr_matrix((data.items, data.items), dtype=np.float32)  # for candidates without item-item

    def candidate(arrays: tuple[np.ndarray, np.ndarray], items: sp.csr_matrix, /, **chosen) -> TrainedModel:
        return TrainedModel(*arrays, items, popularity, dataclasses.replace(settings, **chosen))

    score(candidate(no_factors, empty_items, als_share=0.0, item_item_share=0.0, popularity_share=1.0))
    best_als = best_items = None
    for factors, regularization, alpha in settings.als_grid:
        fitted = engine.fit_als(data.train, int(factors), float(regularization), float(alpha), settings,
                                threads=threads)
        model = candidate(fitted, empty_items, als_share=1.0, item_item_share=0.0, popularity_share=0.0,
                          factors=int(factors), regularization=float(regularization), alpha=float(alpha))
        best_als = _better(best_als, model, score(model), scores)
    item_models = [("bm25", None), ("cosine", None)]
    if data.items <= settings.ease_max_items:
        item_models += [("ease", float(lam)) for lam in settings.ease_lambdas]
    for kind, lam in item_models:
        items = engine.fit_item_model(data.train, kind, settings, threads=threads, ease_lambda=lam)
        model = candidate(no_factors, items, als_share=0.0, item_item_share=1.0, popularity_share=0.0,
                          item_model=kind, ease_lambda=lam if lam is not None else settings.ease_lambda)
        best_items = _better(best_items, model, score(model), scores)
    if best_als and best_items:
        chosen = {field: getattr(best_items.settings, field) for field in ("item_model", "ease_lambda")}
        chosen.update({field: getattr(best_als.settings, field) for field in ("factors", "regularization", "alpha")})
        blends = [candidate((best_als.customer_factors, best_als.product_factors), best_items.item_similarity,
                            als_share=als_share, item_item_share=item_share, popularity_share=popularity_share,
                            **chosen)
                  for als_share, item_share, popularity_share in BLEND_SHARES]
        # The blends differ only in their shares: each batch's three parts are computed once for all of them.
        ranked = evaluation.recommend_each(
            lambda batch: engine.blend_variants(blends[0], blends[0].customer_factors[batch], data.train[batch],
                                                list(BLEND_SHARES)),
            data, users, len(blends))
        for model, lists in zip(blends, ranked, strict=True):
            record(model, lists)
    winner = "popularity"
    for name, figures in scores.items():
        if figures["ndcg@20"] > scores[winner]["ndcg@20"]:
            winner = name
    baseline = scores["popularity"]["ndcg@20"]
    record = {
        "winner": winner,
        "settings": {field: getattr(models[winner].settings, field) for field in CANDIDATE_FIELDS},
        "candidates": scores,
        "lift_over_popularity": round(scores[winner]["ndcg@20"] / baseline - 1, 4) if baseline > 0 else None,
        "validation_customers": len(users),
        "seconds": round(time.perf_counter() - started, 2),
    }
    logger.info("recommendations: selected %s (validation NDCG@20 %.4f, popularity %.4f) of %d candidates "
                "on %d customers in %.1f s", winner, scores[winner]["ndcg@20"], baseline, len(scores),
                len(users), record["seconds"])
    return Selection(models[winner].settings, record)


def _better(best: TrainedModel | None, model: TrainedModel, ndcg: float, scores: dict) -> TrainedModel:
    if best is None or ndcg > scores[candidate_name(best.settings)]["ndcg@20"]:
        return model
    return best


def candidate_name(settings: RecommenderSettings) -> str:
    parts = []
    if settings.als_share > 0:
        parts.append((settings.als_share, f"als(factors={settings.factors}, reg={settings.regularization:g}, "
                                          f"alpha={settings.alpha:g})"))
    if settings.item_item_share > 0:
        items = (f"ease(lambda={settings.ease_lambda:g})" if settings.item_model == "ease"
                 else settings.item_model)
        parts.append((settings.item_item_share, items))
    if settings.popularity_share > 0:
        parts.append((settings.popularity_share, "popularity"))
    if len(parts) == 1:
        return parts[0][1]
    return " + ".join(f"{share:g}·{name}" for share, name in parts)
