"""The recommender's weights, hyper-parameters and list lengths: plain values, so the read side (which
only needs the training cadence) and the write side share them without the read side importing scipy
or implicit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.conf import settings as django_settings

# Products in a "similar" list, whether from item factors (training) or text embeddings (neighbours).
SIMILAR_COUNT = 20
# Products in a "bought together" list.
BOUGHT_TOGETHER_COUNT = 12
ITEM_MODELS = ("bm25", "cosine", "ease")


@dataclass(frozen=True)
class RecommenderSettings:
    """Weights and hyper-parameters (``VITRINE_RECOMMENDATIONS`` overrides any of them)."""

    # A purchase says far more than a view; a return takes the purchase back. BM25 item-item prefers
    # this scale (a single purchase ≈ 2.2 after log1p) to one where a purchase counts 1.
    event_weights: dict[str, float] = field(default_factory=lambda: {
        "view": 1.0, "add_to_cart": 3.0, "purchase": 8.0, "return": -8.0})
    window_days: int = 90
    # Tuned on the Online Retail log (docs/recommendations.md): more confidence (alpha) hurts steadily,
    # regularisation barely matters on large data, 64 factors beat 32 and tie 128.
    factors: int = 64
    regularization: float = 0.1
    iterations: int = 15
    # Confidence = alpha · log(1 + summed weight): repeats add confidence with diminishing returns.
    alpha: float = 1.0
    # The served score mixes min-max-normalised ALS, an item-item model (``item_model``: BM25 or cosine
    # with ``neighbours`` per product, or EASE) and popularity, with these shares. They are the fallback
    # when selection is off; every training run otherwise replaces them with its winner's (``selection``).
    neighbours: int = 20
    item_model: str = "bm25"
    als_share: float = 0.5
    item_item_share: float = 0.5
    popularity_share: float = 0.1
    # EASE's ridge penalty; its dense item × item weights are kept sparse, ``ease_neighbours`` per product.
    ease_lambda: float = 500.0
    ease_neighbours: int = 100
    # Selection (``selection``): the candidates scored on the newest slice of the shop's own events.
    select_model: bool = True
    # ALS grid points: [factors, regularization, alpha]: the large-data optimum (Online Retail) and a
    # small, heavily regularised model (a repeat-heavy grocery log). Each is a fit inside training.
    als_grid: list = field(default_factory=lambda: [[64, 0.1, 1.0], [16, 10.0, 1.0]])
    ease_lambdas: list = field(default_factory=lambda: [500.0, 1000.0])
    # EASE inverts an items × items matrix: cubic time, quadratic memory; past this cap (its measured
    # cost is in docs/recommendations.md) it is not a candidate.
    ease_max_items: int = 4000
    # Selection learns from at most this many customers' events and scores at most this many of them:
    # ALS fits and scoring are most of its time (docs/recommendations.md).
    selection_customers: int = 10000
    validation_customers: int = 2000
    # A product-page surface (similar, bought together) leaves its default only on this many validation
    # seeds at least: on a few dozen, best sellers win by chance.
    surface_min_seeds: int = 100
    top_n: int = 20
    cadence_hours: float = 4.0
    random_state: int = 42

    def __post_init__(self):
        if self.item_model not in ITEM_MODELS:
            raise ValueError(f"item_model must be one of {', '.join(ITEM_MODELS)}, not {self.item_model!r}")

    @classmethod
    def from_settings(cls) -> RecommenderSettings:
        return cls(**django_settings.VITRINE_RECOMMENDATIONS)

    def as_dict(self) -> dict:
        return asdict(self)
