"""Catalogue reads used by pages, the cart and checkout: one place that knows prices and stock.

The catalogue owns a product's current price: ``set_current_prices`` / ``set_current_price`` and
``restore_base_prices`` are the only writers besides an editor saving the product, and each of them
drops the product's price cache key (``price_cache_key``) read by ``product_price``.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Prefetch, QuerySet
from wagtail.images import get_image_model

from commerce.catalogue.models import Category, PriceList, Product, ProductVariant
from core import counters

NAVIGATION_CACHE_KEY = "catalogue:navigation"
CATALOGUE_VERSION_KEY = "catalogue:version"
# Long: every write of a price drops the key, so the TTL only bounds memory for products nobody asks about.
PRICE_CACHE_TTL = 24 * 3600
CARD_RENDITION = "fill-400x400"  # the product card's picture; prefetched so a grid costs no query per card
SORTS = {
    "featured": ("-stock", "title"),
    "price": ("price", "title"),
    "-price": ("-price", "title"),
    "newest": ("-created_at",),
    "title": ("title",),
}


def unit_price(product: Product, variant: ProductVariant | None = None,
               price_list: str = PriceList.CURRENT) -> Decimal:
    """What a shopper on ``price_list`` pays for one unit right now: the variant's own price, else the
    product's current price (or its base price, on the base price list). ``product`` may be anything
    with ``price`` and ``base_price`` (a cached ``ProductPrice``)."""
    if variant is not None and variant.price is not None:
        return variant.price
    return product.base_price if price_list == PriceList.BASE else product.price


@dataclass(frozen=True)
class ShownPrice:
    """A price as a card, product page or cart shows it: what the shopper pays, the prior price struck
    through when this is a reduction (``.was``), and the disclosure a shopper-dependent price carries."""

    price: Decimal
    was: Decimal | None
    disclosure: str = ""

    @property
    def discount_percent(self) -> int:
        """Whole percent off the prior price (20 for 10.00 instead of 12.50); 0 when not reduced."""
        return int((1 - self.price / self.was) * 100) if self.was else 0


def price_disclosure(price_list: str) -> str:
    """The disclosure a price on ``price_list`` carries: none on the current price everyone pays; the
    ``VITRINE_PERSONALISED_PRICE_DISCLOSURE`` text on any other list (chosen per shopper)."""
    return "" if price_list == PriceList.CURRENT else settings.VITRINE_PERSONALISED_PRICE_DISCLOSURE


def shown_price(product, price_list: str = PriceList.CURRENT) -> ShownPrice:
    """A reduction is announced only against the product's prior price (the lowest of the days before
    the current price was set, EU Omnibus directive), and only on the current price it was computed for."""
    price = unit_price(product, None, price_list)
    prior = product.prior_price if price_list == PriceList.CURRENT else None
    return ShownPrice(price, prior if prior is not None and price < prior else None, price_disclosure(price_list))


@dataclass(frozen=True)
class ProductPrice:
    price: Decimal
    base_price: Decimal
    prior_price: Decimal | None
    currency: str


def price_cache_key(product_id: int) -> str:
    return f"catalogue:price:v2:{product_id}"  # v2: with the prior price


def product_price(product_id: int) -> ProductPrice | None:
    """An active product's current and base price (Redis-cached; dropped on every price write), else None."""
    key = price_cache_key(product_id)
    cached = cache.get(key)
    if cached is None:
        row = Product.objects.active().filter(pk=product_id).values_list("price", "base_price", "prior_price",
                                                                              "currency").first()
        cached = ProductPrice(*row) if row else False  # False caches "no such product" too
        cache.set(key, cached, PRICE_CACHE_TTL)
    return cached or None


def forget_prices(product_ids) -> None:
    """Drop the price cache keys of these products once the transaction that changed them commits,
    and retire every cached fragment that shows products (``catalogue_version``)."""
    keys = [price_cache_key(pk) for pk in product_ids]
    if keys:
        transaction.on_commit(lambda: (cache.delete_many(keys), _bump_catalogue_version()))


def catalogue_version() -> int:
    """Changes whenever a product or a price changes: part of the key of every cached fragment that
    shows products, so none outlives the data it shows."""
    return counters.current(CATALOGUE_VERSION_KEY)


def _bump_catalogue_version() -> None:
    counters.bump(CATALOGUE_VERSION_KEY)


def cards(product_ids: list[int], *, include_sold_out: bool = False) -> list[Product]:
    """The available (or, with ``include_sold_out``, active) products among ``product_ids``, in that
    order, ready for the product card: one query plus prefetches (picture renditions, variants)."""
    products = (Product.objects.active() if include_sold_out else Product.objects.available()).prefetch_related(
        Prefetch("image", queryset=get_image_model().objects.prefetch_renditions(CARD_RENDITION)),
        "variants").in_bulk(product_ids)
    return [products[pk] for pk in dict.fromkeys(product_ids) if pk in products]


@transaction.atomic
def set_current_prices(changes: dict[int, tuple[Decimal, Decimal]],
                       prior_prices: dict[int, Decimal | None] | None = None) -> set[int]:
    """Move current prices: ``{product_id: (price it must still have, new price)}``; returns the ids moved.
    With ``prior_prices`` (every changed product's), the moved ones' prior prices are written too.

    One UPDATE for the whole batch; each row is locked by the UPDATE and compared with the price the
    caller decided from, so a price an editor changed meanwhile is never overwritten (that product is
    left out and the caller decides again from its new price).
    """
    if not changes:
        return set()
    ids = list(changes)
    prior = ("prior_price = c.prior_price," if prior_prices is not None else "")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE catalogue_product p SET price = c.new_price, {prior} updated_at = now()
                FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[])
                     AS c(id, expected, new_price, prior_price)
                WHERE p.id = c.id AND p.price = c.expected AND p.price <> c.new_price
                RETURNING p.id""",
            [ids, [changes[pk][0] for pk in ids], [changes[pk][1] for pk in ids],
             [(prior_prices or {}).get(pk) for pk in ids]],
        )
        moved = {row[0] for row in cursor.fetchall()}
    forget_prices(moved)
    return moved


def set_prior_prices(prior_prices: dict[int, Decimal | None]) -> None:
    """Record ``{product_id: prior price}`` (the lowest price of the days before each one's current price
    was set; None: no prior price, so no reduction shown) in one UPDATE. Dynamic pricing computes them
    from its price history whenever it records a price change."""
    if not prior_prices:
        return
    ids = list(prior_prices)
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE catalogue_product p SET prior_price = c.prior_price
               FROM unnest(%s::bigint[], %s::numeric[]) AS c(id, prior_price)
               WHERE p.id = c.id AND p.prior_price IS DISTINCT FROM c.prior_price""",
            [ids, [prior_prices[pk] for pk in ids]],
        )
    forget_prices(ids)


def set_current_price(product_id: int, price: Decimal, *, expected: Decimal) -> bool:
    """Set one product's current price if it is still ``expected``; True when it moved."""
    return product_id in set_current_prices({product_id: (expected, price)})


@transaction.atomic
def restore_base_prices() -> list[tuple[int, Decimal, Decimal]]:
    """Every product back to its base price in one statement; returns (id, old price, base price) of those moved."""
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE catalogue_product p SET price = p.base_price, updated_at = now()
               FROM (SELECT id, price FROM catalogue_product WHERE price <> base_price FOR UPDATE) old
               WHERE p.id = old.id
               RETURNING p.id, old.price, p.base_price"""
        )
        moved = cursor.fetchall()
    forget_prices(row[0] for row in moved)
    return moved


def available_stock(product: Product, variant: ProductVariant | None = None) -> int:
    return variant.stock if variant is not None else product.stock


def navigation() -> list[dict]:
    """Top-level departments with their children, for the header menu (cached; invalidated on save)."""
    menu = cache.get(NAVIGATION_CACHE_KEY)
    if menu is None:
        departments = Category.objects.filter(parent=None).prefetch_related("children")
        menu = [
            {
                "name": d.name,
                "url": d.get_absolute_url(),
                "children": [{"name": c.name, "url": c.get_absolute_url()} for c in d.children.all()],
            }
            for d in departments
        ]
        cache.set(NAVIGATION_CACHE_KEY, menu, 3600)
    return menu


def forget_navigation() -> None:
    """A category changed: the menu is read again, and every listing fragment (facet labels, names) retired."""
    cache.delete(NAVIGATION_CACHE_KEY)
    _bump_catalogue_version()


def listing(category: Category | None = None, *, sort: str = "featured",
            price_list: str = PriceList.CURRENT) -> QuerySet[Product]:
    """Active products, optionally within a category and everything below it, in a shopper-chosen order
    (by price: the price on the shopper's ``price_list``)."""
    products = Product.objects.active().select_related("category").prefetch_related(
        Prefetch("image", queryset=get_image_model().objects.prefetch_renditions(CARD_RENDITION)))
    if category is not None:
        products = products.in_category(category)
    order = SORTS.get(sort, SORTS["featured"])
    if price_list == PriceList.BASE:
        order = tuple(field.replace("price", "base_price") for field in order)
    return products.order_by(*order)
