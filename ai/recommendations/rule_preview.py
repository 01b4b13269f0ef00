"""The admin's preview of the recommendation rules: a placement's row for a chosen customer (else an
anonymous shopper) and product, without and with the live rules side by side, each product with why it is
there (the list that served it and its score, what a rule did). Serving reads caches only, so previewing
changes nothing a shopper sees."""

from ai.common import CarouselStrategy
from ai.recommendations.rules import OVERFETCH, Ranked, Shopper, live_rules, rerank, shopper_cart
from ai.recommendations.serving import carousel, recommend

PREVIEW_LIMIT = 12  # a carousel's default row


def preview(placement: str, *, customer_id: int | None = None, product_id: int | None = None) -> dict:
    rules = live_rules(placement)
    # The row before any rule, as long as serving fetches it when rules are live.
    limit = PREVIEW_LIMIT * OVERFETCH
    if placement in dict(CarouselStrategy.CHOICES):
        shopper = Shopper(customer_id)
        base = carousel(placement, customer_id=customer_id, product_id=product_id, limit=limit, rules=[])
    else:
        shopper = Shopper(customer_id, cart_product_ids=tuple(shopper_cart(Shopper(customer_id))))
        base = recommend(placement, customer_id=customer_id, product_id=product_id,
                         cart_product_ids=list(shopper.cart_product_ids), limit=limit, rules=[])
    never = frozenset(({product_id} if product_id else set()) | set(shopper.cart_product_ids or ()))
    with_rules = rerank(base, rules, PREVIEW_LIMIT, shopper, never)
    before = {r.product.pk: position for position, r in enumerate(base[:PREVIEW_LIMIT], start=1)}
    return {"rules": rules, "without": _rows(Ranked(items=base[:PREVIEW_LIMIT])),
            "with_rules": _rows(with_rules, before=before), "left_out": with_rules.left_out}


def _rows(ranked: Ranked, *, before: dict[int, int] | None = None) -> list[dict]:
    rows = []
    for position, recommendation in enumerate(ranked.items, start=1):
        pid = recommendation.product.pk
        was = None if before is None else before.get(pid)
        rows.append({"position": position, "product": recommendation.product, "score": recommendation.score,
                     "strategy": recommendation.strategy, "reason": recommendation.reason,
                     "rules": ranked.reasons.get(pid, []), "was": was if was != position else None,
                     "new": before is not None and was is None})
    return rows
