"""The recommender's weights, hyper-parameters and list lengths: plain values, so the read side (which
only needs the training cadence) and the write side share them without the read side importing scipy
or implicit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.conf import settings as django_settings

# Products in a "similar" list, whether from item factors (training) or text embeddings (neighbours).
SIMILAR_COUNT = 20


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
    # The served score mixes min-max-normalised ALS, BM25 item-item (``neighbours`` per product) and
    # popularity; the blend beat each part alone on held-out data and is flat around these weights.
    neighbours: int = 20
    item_item_share: float = 0.5
    popularity_share: float = 0.1
    top_n: int = 20
    cadence_hours: float = 4.0
    random_state: int = 42

    @classmethod
    def from_settings(cls) -> RecommenderSettings:
        return cls(**django_settings.VITRINE_RECOMMENDATIONS)

    def as_dict(self) -> dict:
        return asdict(self)
