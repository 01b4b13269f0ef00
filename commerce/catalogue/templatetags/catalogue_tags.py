"""Presentation helpers for shop templates: money, attribute names, sort labels, stock states, pagination."""

import re
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
# An attribute's key may end in the unit of its value: capacity_ml, oven_safe_c, burn_time_hours.
UNITS = {"ml": "ml", "l": "litres", "g": "g", "kg": "kg", "mm": "mm", "cm": "cm", "m": "m", "c": "°C",
         "min": "minutes", "hours": "hours", "weeks": "weeks", "years": "years", "gsm": "gsm"}
NUMBER = re.compile(r"-?\d+(\.\d+)?")


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
    """``product|shown_price:price_list`` → the price this shopper pays (``.price``), the prior price
    struck through when this is a reduction (``.was``), ``.discount_percent`` off it and ``.disclosure``.
    ``price_list`` comes from the ``price_list`` context variable; left out (cached fragments rendered
    without a request) it is the current price."""
    return catalogue.shown_price(product, str(price_list or PriceList.CURRENT))


@register.filter
def price_disclosure(price_list):
    """``price_list|price_disclosure`` → the note a price on that list must carry ("" on the current
    price everyone pays), for surfaces that show a price without ``shown_price`` (the cart)."""
    return catalogue.price_disclosure(str(price_list or PriceList.CURRENT))


@register.filter
def prettify_key(key):
    """``capacity_ml`` → ``Capacity ml``, ``country-of-origin`` → ``Country of origin``."""
    text = str(key).replace("_", " ").replace("-", " ").strip()
    text = " ".join(text.split())
    return text[:1].upper() + text[1:].lower() if text else ""


def _name_and_unit(key) -> tuple[str, str | None]:
    name, _, suffix = str(key).rpartition("_")
    unit = UNITS.get(suffix.lower()) if name else None
    return (name, unit) if unit else (str(key), None)


@register.filter
def attribute_label(key):
    """An attribute's name without the unit its key ends in: ``capacity_ml`` → ``Capacity``."""
    return prettify_key(_name_and_unit(key)[0])


@register.filter
def attribute_value(value, key=""):
    """Attribute values as shoppers read them: numbers with thousands separators and the unit ``key`` ends
    in (``1000`` of ``capacity_ml`` → ``1,000 ml``, ``"100 x 150"`` of ``dimensions_cm`` → ``100 × 150 cm``),
    lists joined, booleans as Yes/No."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    text = str(value)
    text = f"{Decimal(text):,}" if NUMBER.fullmatch(text) else text.replace(" x ", " × ")
    unit = _name_and_unit(key)[1]
    return f"{text} {unit}" if unit else text


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
