"""Presentation helpers for shop templates: money, attribute names, sort labels, stock states, pagination."""

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings

from commerce.catalogue import services as catalogue
from commerce.catalogue.models import PriceList

register = template.Library()

CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥"}
SORT_LABELS = {
    "featured": "Featured",
    "price": "Price: low to high",
    "-price": "Price: high to low",
    "newest": "Newest first",
    "title": "Name: A–Z",
}
LOW_STOCK = 5


@register.filter
def money(value, currency=None):
    """``Decimal("1234.5")|money:"GBP"`` → ``£1,234.50``; unknown currencies get their code: ``12.00 SEK``."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return value
    code = (currency or settings.VITRINE_CURRENCY or "").upper()
    sign = "-" if amount < 0 else ""
    number = f"{abs(amount):,.2f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {code}".strip()


@register.filter
def shown_price(product, price_list=""):
    """``product|shown_price:price_list`` → the price this shopper pays (``.price``), the base price
    struck through when that is less (``.was``) and ``.discount_percent``. ``price_list`` comes from
    the ``price_list`` context variable; left out (cached fragments rendered without a request) it is
    the current price."""
    return catalogue.shown_price(product, str(price_list or PriceList.CURRENT))


@register.filter
def prettify_key(key):
    """``capacity_ml`` → ``Capacity ml``, ``country-of-origin`` → ``Country of origin``."""
    text = str(key).replace("_", " ").replace("-", " ").strip()
    text = " ".join(text.split())
    return text[:1].upper() + text[1:].lower() if text else ""


@register.filter
def attribute_value(value):
    """Attribute values as shoppers read them: lists joined, booleans as Yes/No."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value


@register.filter
def sort_label(key):
    return SORT_LABELS.get(key, prettify_key(str(key).lstrip("-")))


@register.filter
def options_label(variant):
    """A variant's options for a select box: ``Size: M · Colour: Oak`` (its SKU when it has none)."""
    options = getattr(variant, "options", None) or {}
    if not isinstance(options, dict) or not options:
        return getattr(variant, "sku", "")
    return " · ".join(f"{prettify_key(k)}: {v}" for k, v in options.items())


@register.simple_tag
def stock_state(product, variants=None):
    """What the product page says about availability.

    Returns ``{"code": "in"|"low"|"out", "label": ..., "available": units}``; with variants the units are
    summed over them (a product is sold out only when every variant is).
    """
    if variants:
        available = sum(v.stock for v in variants)
    else:
        available = product.stock
    if available <= 0:
        return {"code": "out", "label": "Sold out", "available": 0}
    if not variants and available <= LOW_STOCK:
        return {"code": "low", "label": f"Only {available} left", "available": available}
    return {"code": "in", "label": "In stock", "available": available}


@register.simple_tag
def page_range(page, on_each_side=1, on_ends=1):
    """Page numbers with ``…`` gaps, for pagination.html."""
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=on_each_side, on_ends=on_ends))
