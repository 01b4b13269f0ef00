"""What editors do to prices, inside their requests (and the task a saved rule enqueues): approve or reject
pending changes, enforce a rule's bounds, engage or release the kill switch, and record prices set outside
the engine. Web side: it decides with ``serving`` and never loads the engine's demand model."""

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from ai.common import bulk_insert
from ai.pricing.models import KillSwitch, PriceChange, PriceHistory, PricingRule
from ai.pricing.prior_price import prior_prices_before, record_prior_prices
from ai.pricing.serving import (
    APPROVE_PERMISSION,
    BATCH_SIZE,
    KILL_SWITCH_PERMISSION,
    allowed_now,
    held_prices,
    history_hours,
    kill_switch_engaged,
    resolve_rules,
)
from commerce.catalogue.models import Product
from commerce.catalogue.services import restore_base_prices, set_current_prices

logger = logging.getLogger(__name__)


class PricingStopped(Exception):
    """The kill switch is engaged: no price moves except back to base."""


def _require(user, permission: str) -> None:
    if user is None or not user.has_perm(permission):
        raise PermissionDenied(f"Only users with the {permission} permission may do this.")


# --- approvals -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalOutcome:
    applied: int
    expired: int


@transaction.atomic
def approve_changes(change_ids, user, *, now: dt.datetime | None = None) -> ApprovalOutcome:
    """Apply pending changes an editor approved, each only if it still fits: the product still has the
    price it was proposed from and the new price is inside the guardrails as they are now. Those that
    no longer fit are marked expired (the next run proposes afresh)."""
    _require(user, APPROVE_PERMISSION)
    if kill_switch_engaged(lock=True):
        raise PricingStopped("Dynamic pricing is stopped: no change can be approved until it is resumed.")
    now = now or timezone.now()
    changes = list(PriceChange.objects.select_for_update(of=("self",)).select_related("product")
                   .filter(pk__in=change_ids, status=PriceChange.Status.PENDING).order_by("product_id"))
    rules = resolve_rules([(c.product_id, c.product.category_id) for c in changes])
    longest = max((history_hours(rule) for rule in rules.values()), default=0)
    history = held_prices(now - dt.timedelta(hours=longest), [c.product_id for c in changes])
    fitting = []
    for change in changes:
        rule, product = rules.get(change.product_id), change.product
        allowed = (allowed_now(rule, product.base_price, product.price, history.get(product.pk, []), now)
                   if rule is not None and rule.enabled and product.price == change.previous_price else None)
        if allowed is not None and allowed[0] <= change.new_price <= allowed[1]:
            fitting.append(change)
    moved = set_current_prices({c.product_id: (c.previous_price, c.new_price) for c in fitting},
                               prior_prices_before({c.product_id: c.previous_price for c in fitting}, now))
    applied = [c for c in fitting if c.product_id in moved]
    expired = [c.pk for c in changes if c.product_id not in moved]
    PriceChange.objects.filter(pk__in=[c.pk for c in applied]).update(
        status=PriceChange.Status.APPLIED, decided_at=now, decided_by=user)
    PriceChange.objects.filter(pk__in=expired).update(status=PriceChange.Status.EXPIRED, decided_at=now,
                                                      decided_by=user)
    PriceHistory.objects.bulk_create([
        PriceHistory(product_id=c.product_id, previous_price=c.previous_price, price=c.new_price, changed_at=now,
                     source=PriceHistory.Source.APPROVED, reason=c.reason, change=c, changed_by=user)
        for c in applied
    ])
    return ApprovalOutcome(applied=len(applied), expired=len(expired))


@transaction.atomic
def reject_changes(change_ids, user, *, now: dt.datetime | None = None) -> int:
    _require(user, APPROVE_PERMISSION)
    return PriceChange.objects.filter(pk__in=change_ids, status=PriceChange.Status.PENDING).update(
        status=PriceChange.Status.REJECTED, decided_at=now or timezone.now(), decided_by=user)


def record_manual_prices(changes: list[tuple[int, Decimal, Decimal]], *, reason: str) -> list[PriceHistory]:
    """Prices set outside the engine, ``(product_id, previous price, price)`` each (an editor on the
    product, code, a catalogue import): into the ledger, so the next run's guardrail window starts from
    them and the history shows them."""
    entries = PriceHistory.objects.bulk_create([
        PriceHistory(product_id=product_id, previous_price=previous, price=price,
                     source=PriceHistory.Source.MANUAL, reason=reason)
        for product_id, previous, price in changes])
    record_prior_prices(product_id for product_id, _, _ in changes)
    return entries


# --- a rule's bounds ---------------------------------------------------------------------------------------


def _bounds_reason(rule: PricingRule, old: Decimal, new: Decimal) -> str:
    return f"rule “{rule.name}” allows {new:.2f} at {'most' if new < old else 'least'}"


def enforce_rule_bounds(rule: PricingRule, *, now: dt.datetime | None = None) -> int:
    """Move every product this rule governs that sells outside its bounds to the nearest bound, at once
    (the editor who set the bounds approved them). Returns the prices moved."""
    if not rule.enabled or kill_switch_engaged():
        return 0
    now = now or timezone.now()
    products = Product.objects.all()
    if rule.product_id:
        products = products.filter(pk=rule.product_id)
    elif rule.category_id:
        products = products.in_category(rule.category)
    rows = list(products.order_by("pk").values_list("pk", "category_id", "price", "base_price"))
    governed = resolve_rules([(pk, category_id) for pk, category_id, *_ in rows])
    moves = {}
    for pk, _, price, base in rows:
        if governed.get(pk) is None or governed[pk].pk != rule.pk:
            continue
        lower, upper = rule.bounds_for(base)
        if lower <= upper and not lower <= price <= upper:
            moves[pk] = (price, min(max(price, lower), upper))
    moved_total = 0
    ids = list(moves)
    for start in range(0, len(ids), BATCH_SIZE):
        batch = {pk: moves[pk] for pk in ids[start:start + BATCH_SIZE]}
        with transaction.atomic():
            if kill_switch_engaged(lock=True):
                break
            moved = set_current_prices(batch, prior_prices_before({pk: old for pk, (old, _) in batch.items()}, now))
            bulk_insert(PriceHistory, [
                {"product_id": pk, "previous_price": batch[pk][0], "price": batch[pk][1], "changed_at": now,
                 "source": PriceHistory.Source.RULE_BOUNDS, "reason": _bounds_reason(rule, *batch[pk]),
                 "change_id": None, "changed_by_id": None}
                for pk in moved
            ])
        moved_total += len(moved)
    return moved_total


# --- the kill switch ------------------------------------------------------------------------------------


def _bases_outside_bounds() -> dict[int, tuple[Decimal, Decimal, PricingRule]]:
    """``{product_id: (base price, nearest price its rule allows, rule)}`` of the products whose enabled
    rule's bounds exclude their base price (e.g. a maximum price of 190 under a base price of 205)."""
    rows = list(Product.objects.values_list("pk", "category_id", "base_price"))
    rules = resolve_rules([(pk, category_id) for pk, category_id, _ in rows])
    outside = {}
    for pk, _, base in rows:
        rule = rules.get(pk)
        if rule is not None and rule.enabled:
            lower, upper = rule.bounds_for(base)
            if lower <= upper and not lower <= base <= upper:
                outside[pk] = (base, min(max(base, lower), upper), rule)
    return outside


@transaction.atomic
def engage_kill_switch(user, *, now: dt.datetime | None = None) -> int:
    """Stop dynamic pricing: every product back to its base price in one statement, clamped into its
    enabled rule's bounds where those exclude the base price (the bounds always win), pending changes
    cancelled, the engine idle until ``release_kill_switch``. Returns the prices moved."""
    _require(user, KILL_SWITCH_PERMISSION)
    now = now or timezone.now()
    KillSwitch.objects.update_or_create(pk=1, defaults={"engaged": True, "changed_at": now, "changed_by": user})
    moves = {pk: (old, base, "dynamic pricing stopped") for pk, old, base in restore_base_prices()}
    outside = _bases_outside_bounds()
    set_current_prices({pk: (base, bound) for pk, (base, bound, _) in outside.items()})
    for pk, (base, bound, rule) in outside.items():
        old = moves[pk][0] if pk in moves else base
        moves[pk] = (old, bound, f"dynamic pricing stopped; base price {base:.2f} is outside rule “{rule.name}”, "
                                 f"which allows {bound:.2f}")
    moves = {pk: move for pk, move in moves.items() if move[0] != move[1]}
    bulk_insert(PriceHistory, [
        {"product_id": pk, "previous_price": old, "price": price, "changed_at": now,
         "source": PriceHistory.Source.KILL_SWITCH, "reason": reason, "change_id": None, "changed_by_id": user.pk}
        for pk, (old, price, reason) in moves.items()
    ])
    record_prior_prices(moves)
    PriceChange.objects.filter(status=PriceChange.Status.PENDING).update(
        status=PriceChange.Status.CANCELLED, decided_at=now, decided_by=user)
    logger.warning("dynamic pricing stopped by %s: %d prices back to base (%d clamped into their rule's bounds)",
                   user, len(moves), len(outside))
    return len(moves)


@transaction.atomic
def release_kill_switch(user, *, now: dt.datetime | None = None) -> None:
    """Resume dynamic pricing; prices start from base and move at the next run, inside the guardrails."""
    _require(user, KILL_SWITCH_PERMISSION)
    KillSwitch.objects.update_or_create(pk=1, defaults={"engaged": False, "changed_at": now or timezone.now(),
                                                        "changed_by": user})
    logger.warning("dynamic pricing resumed by %s", user)
