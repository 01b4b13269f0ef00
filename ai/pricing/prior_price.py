"""The prior price a reduction is announced against (EU Omnibus directive, Art. 6a of 98/6/EC as amended):
the lowest price a product had in the ``prior_price_days()`` (at least 30) before its current price was set.

Every writer of the price history keeps the figure on the product row (``Product.prior_price``), so pages
read it at no extra cost: the engine's writers compute it before they move prices (``prior_prices_before``)
and write it in the same UPDATE; prices set some other way are followed by ``record_prior_prices``. Each
history row carries the price before it (``previous_price``), so the prices a product had during the
window (t − days, t] ending at its latest change t are exactly the previous prices of its changes in
that window: the price at the window's start is the one its first change there replaced.
"""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from ai.pricing.models import PriceHistory
from commerce.catalogue.services import set_prior_prices

OMNIBUS_MINIMUM_DAYS = 30


def prior_price_days() -> int:
    """The window of the shop's market (``VITRINE_COUNTRY``) in ``VITRINE_PRIOR_PRICE_DAYS``, else its default."""
    by_market = settings.VITRINE_PRIOR_PRICE_DAYS
    days = by_market.get(settings.VITRINE_COUNTRY, by_market["default"])
    if days < OMNIBUS_MINIMUM_DAYS:
        raise ImproperlyConfigured(f"VITRINE_PRIOR_PRICE_DAYS: {days} days is shorter than the "
                                   f"{OMNIBUS_MINIMUM_DAYS} the Omnibus directive requires.")
    return days


def lowest_prior_prices(product_ids, *, days: int | None = None) -> dict[int, Decimal]:
    """``{product_id: lowest price in the ``days`` before its latest price change}`` for those with a
    change, in one query over the price history."""
    days = prior_price_days() if days is None else days
    table = PriceHistory._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH latest AS (SELECT product_id, max(changed_at) AS at FROM {table}
                                WHERE product_id = ANY(%s) GROUP BY product_id)
                SELECT h.product_id, min(h.previous_price) FROM {table} h
                JOIN latest ON h.product_id = latest.product_id
                WHERE h.changed_at > latest.at - %s AND h.changed_at <= latest.at
                GROUP BY h.product_id""",
            [list(product_ids), dt.timedelta(days=days)],
        )
        return dict(cursor.fetchall())


def record_prior_prices(product_ids) -> None:
    """After recording price changes of ``product_ids``: store each one's prior price on the product."""
    product_ids = list(product_ids)
    if product_ids:
        lowest = lowest_prior_prices(product_ids)
        set_prior_prices({pk: lowest.get(pk) for pk in product_ids})


def prior_prices_before(previous_prices: dict[int, Decimal], at: dt.datetime) -> dict[int, Decimal]:
    """The prior prices ``record_prior_prices`` would find once a change at ``at`` from each product's
    ``previous_prices`` entry is in the history: that previous price, or a lower one an earlier change of
    the window replaced. Lets a writer set prices and prior prices in one UPDATE."""
    if not previous_prices:
        return {}
    table = PriceHistory._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT product_id, min(previous_price) FROM {table}
                WHERE product_id = ANY(%s) AND changed_at > %s AND changed_at <= %s GROUP BY product_id""",
            [list(previous_prices), at - dt.timedelta(days=prior_price_days()), at],
        )
        lowest = dict(cursor.fetchall())
    return {pk: min(previous, lowest.get(pk, previous)) for pk, previous in previous_prices.items()}
