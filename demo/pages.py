"""The demo's pages: the home page's StreamField (hero, AI blocks, product grids) and editorial pages."""

from __future__ import annotations

import random
from decimal import Decimal

from django.conf import settings
from wagtail.images.models import Image
from wagtail.rich_text import RichText

from commerce.catalogue.models import Category, Product
from demo.pictures import DEMO_COLLECTION, demo_collection, hero_picture, new_picture, product_look
from home.models import ContentPage, HomePage


def _pick(rng: random.Random, queryset, n: int) -> list:
    pool = list(queryset.filter(active=True, stock__gt=0).order_by("pk")[:400])
    return rng.sample(pool, min(n, len(pool)))


def _grid(rng, title: str, categories: list[str], n: int = 8, max_price: Decimal | None = None):
    queryset = Product.objects.filter(category__name__in=categories)
    if max_price is not None:
        queryset = queryset.filter(price__lte=max_price)
    products = _pick(rng, queryset, n) or _pick(rng, Product.objects.all(), n)
    return ("product_grid", {"title": title, "products": products}) if products else None


def _priced(rng, title: str, n: int):
    products = _pick(rng, Product.objects.all(), n)
    return ("priced_products", {"title": title, "products": products}) if products else None


def _para(html: str):
    return ("paragraph", RichText(html))


def _money(amount: int) -> str:
    symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(settings.VITRINE_CURRENCY)
    return f"{symbol}{amount}" if symbol else f"{amount} {settings.VITRINE_CURRENCY}"


def home_page_body(rng: random.Random, product_count: int, hero_image=None) -> list:
    blocks = [
        ("hero", {
            "headline": "Slow mornings, well made",
            "text": f"Stoneware for the first coffee, linen for the long lie-in: {product_count:,} pieces "
                    "from independent makers, chosen to last.",
            "image": hero_image, "link_text": "Shop everything", "link_url": "/shop/",
        }),
        # AI blocks: the shopper's own row (trending until it loads), a curated query, live prices.
        ("recommendations", {"title": "Picked for you", "strategy": "personalised", "count": 8, "category": None,
                             "product": None, "fallback": "trending"}),
        ("heading", {"text": "The slow coffee corner", "level": "h2"}),
        _grid(rng, "Brew better at home", ["Coffee & Tea", "Mugs & Cups"]),
        ("semantic_search", {"title": "Gifts for coffee lovers", "mode": "curated", "query": "gifts for coffee lovers",
                             "category": None, "max_price": None, "in_stock": True, "count": 8}),
        _priced(rng, "This week's prices", 4),
        ("heading", {"text": "Cosy evenings in", "level": "h2"}),
        _grid(rng, "Soft light and warm layers",
              ["Candles & Home Fragrance", "Cushions & Throws", "Bed Linen"]),
        _para("<p>Every piece in Vitrine comes from a maker we know by name: potters in Stoke-on-Trent, "
              "weavers in Yorkshire, joiners in the Cotswolds. We choose things that get better with use, "
              "pack them without plastic and deliver them carbon-neutral. "
              "<a href=\"/shop/\">Browse the whole shop</a>.</p>"),
    ]
    return [b for b in blocks if b is not None]


def _category_url(name: str) -> str:
    category = Category.objects.filter(name=name).first()
    return category.get_absolute_url() if category else "/shop/"


def content_pages(rng: random.Random) -> list[dict]:
    """The editorial pages below the home page: slug, title, intro and StreamField body."""
    under = Decimal(30)
    return [
        {
            "slug": "slow-coffee-mornings", "title": "Slow coffee mornings",
            "intro": "A buying guide to brewing better coffee at home, from the dripper to the mug.",
            "body": [
                _para("<p>Good coffee at home needs very little: fresh beans, a grinder, hot water and a few "
                      "quiet minutes. Here is the kit we reach for every morning.</p>"),
                ("heading", {"text": "Choose your brewer", "level": "h2"}),
                _para("<p>A <b>pour-over dripper</b> gives a clean, bright cup and takes three minutes. "
                      "A <b>French press</b> is forgiving and full-bodied. Grind coarse for the press and "
                      "medium-fine for the dripper, and pour just off the boil.</p>"),
                _grid(rng, "Drippers, presses and grinders", ["Coffee & Tea"]),
                ("heading", {"text": "The right mug", "level": "h2"}),
                _para("<p>Stoneware keeps coffee warm for longer; porcelain shows off the crema. "
                      "Either way, warm the mug first.</p>"),
                _grid(rng, "Mugs and cups we love", ["Mugs & Cups"], n=6),
            ],
        },
        {
            "slug": "gifts-under-30", "title": f"Gifts under {_money(30)}",
            "intro": f"Thoughtful presents for {_money(30)} or less, wrapped without plastic.",
            "body": [
                _para(f"<p>Small gifts, chosen with care. Everything here is {_money(30)} or less "
                      "and ready to wrap.</p>"),
                _grid(rng, "For the desk", ["Notebooks & Journals", "Pens & Pencils", "Desk Accessories"],
                      max_price=under),
                _grid(rng, "For the home", ["Candles & Home Fragrance", "Vases", "Mugs & Cups"],
                      max_price=under),
                _grid(rng, "For little ones", ["Wooden Toys", "Soft Toys", "Jigsaw Puzzles"],
                      max_price=under),
                _para(f"<p>Add a card from our <a href=\"{_category_url('Cards & Gift Wrap')}\">cards and "
                      "gift wrap</a> to finish it off.</p>"),
            ],
        },
        {
            "slug": "a-calmer-bedroom", "title": "A calmer bedroom",
            "intro": "Linen, soft light and fewer things: how to make a bedroom for sleeping well.",
            "body": [
                _para("<p>Start with the bed. Stonewashed linen regulates temperature through the seasons, "
                      "and a duvet with the right tog rating matters more than any thread count.</p>"),
                _grid(rng, "Bedding we sleep under", ["Bed Linen", "Duvets & Pillows"]),
                ("heading", {"text": "Then the light", "level": "h2"}),
                _para("<p>Swap the ceiling light for a lamp at dusk and keep a candle for the last "
                      "half hour.</p>"),
                _grid(rng, "Lamps and candles", ["Lamps & Lighting", "Candles & Home Fragrance"], n=6),
            ],
        },
    ]


def seed_pages(seed: int, product_count: int) -> int:
    """Fill and publish the home page and the editorial pages below it. Returns the number published."""
    rng = random.Random(f"{seed}-pages")
    home = HomePage.objects.first()
    if home is None:
        raise RuntimeError("No HomePage: run `manage.py migrate` first (home/0002 creates it).")
    hero = _hero_picture()
    home.body = home_page_body(rng, product_count, hero_image=hero)
    home.save_revision().publish()
    published = 1
    for spec in content_pages(rng):
        page = ContentPage.objects.child_of(home).filter(slug=spec["slug"]).first()
        body = [b for b in spec["body"] if b is not None]
        if page is None:
            page = ContentPage(title=spec["title"], slug=spec["slug"], intro=spec["intro"], body=body,
                               live=False)
            home.add_child(instance=page)
        else:
            page.title, page.intro, page.body = spec["title"], spec["intro"], body
        page.save_revision().publish()
        published += 1
    return published


def _hero_picture():
    existing = Image.objects.filter(collection__name=DEMO_COLLECTION, title="Home hero").first()
    if existing:
        return existing
    # The hero talks about slow coffee mornings: a jug, a mug and a vase in stoneware. No headline in the
    # picture: the hero block sets its own over it.
    rng = random.Random("hero")
    data = hero_picture(tuple(product_look(noun, "Stoneware", colour, rng) for noun, colour in (
        ("Milk Jug", "Chalk White"), ("Mug", "Terracotta"), ("Bud Vase", "Sage Green"))))
    image = new_picture("Home hero", data, "demo-home-hero.jpg", demo_collection(), size=(1600, 640))
    image.save()
    return image
