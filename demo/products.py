"""Demo products from the vocabulary (``demo.vocabulary``): plain Python, no database.

:func:`generate_products` is driven by one ``random.Random(seed)``, so the same seed always yields the same
catalogue. Titles, descriptions and attributes are built from the same choices, so a "Speckled Stoneware
Mug" has ``{"material": "stoneware", ...}`` and a description that talks about stoneware: the texts feed
semantic search later, so they must agree with each other.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.utils.text import slugify

from demo.vocabulary import (
    FACTS,
    GENERAL_NOTES,
    GENERIC_INTROS,
    GENERIC_TITLES,
    KEEP_CASE,
    MATERIALS,
    PLACES,
    SELF_COLOURED,
    Axis,
    Department,
    Kind,
    Leaf,
    leaves,
)


@dataclass
class VariantDraft:
    """One variant of a product to be: its options along the product's axis, and its own price if any."""

    sku: str
    options: dict
    price: Decimal | None
    stock: int


@dataclass
class ProductDraft:
    """A generated product, before it is written to the database (or to a search development set)."""

    seq: int
    department: str
    category: str
    title: str
    description: str
    attributes: dict
    base_price: Decimal
    stock: int
    active: bool
    variants: list[VariantDraft]
    kind: str  # the kind's noun, "Espresso Cup & Saucer": what its picture shows
    material: str  # a key of ``MATERIALS``, "Bone China"


# What a unit costs the shop, as a share of its price: makers' goods bought wholesale.
COST_SHARE = (0.35, 0.7)


def unit_cost(draft: ProductDraft, seed: int) -> Decimal:
    """A product's unit cost, drawn from a stream of its own: the rest of the catalogue is as it was."""
    share = random.Random(f"{seed}:cost:{draft.seq}").uniform(*COST_SHARE)
    return (draft.base_price * Decimal(f"{share:.3f}")).quantize(Decimal("0.01"))


_FORMATTER = string.Formatter()
_TEMPLATE_FIELDS: dict[str, tuple[str, ...]] = {}


def _fields(template: str) -> tuple[str, ...]:
    if template not in _TEMPLATE_FIELDS:
        _TEMPLATE_FIELDS[template] = tuple(name for _, name, _, _ in _FORMATTER.parse(template) if name)
    return _TEMPLATE_FIELDS[template]


def _lower(phrase: str) -> str:
    return " ".join(w if w in KEEP_CASE else w.lower() for w in phrase.split(" "))


# Words that start with a vowel letter but not a vowel sound: "a utility belt", "a one-off".
CONSONANT_SOUNDS = ("one", "uni", "use", "usu", "uti")


def _article(phrase: str) -> str:
    word = phrase.lower()
    return "An" if word[:1] in "aeiou" and not word.startswith(CONSONANT_SOUNDS) else "A"


# Words that name a colour: a material's wording that names one ("fine white porcelain") drops it when the
# product has another colour, so no description says "white porcelain … in blush pink".
HUES = frozenset({"white", "black", "pink", "red", "blue", "green", "grey", "yellow", "orange", "purple",
                  "brown"})


def _material_wording(material: str, colour: str | None) -> str:
    words = MATERIALS[material].desc.split(" ")
    if colour:
        own = set(colour.lower().split())
        words = [w for w in words if w not in HUES or w in own]
    return " ".join(words)


def _articles(text: str) -> str:
    """ "a ash handle", "is a illustrated design" → "an ash handle", "is an illustrated design"."""
    def agreeing(match: re.Match) -> str:
        article = _article(match.group(2))
        return f"{article if match.group(1) == 'A' else article.lower()} "

    return re.sub(r"\b([Aa]) (?=(\w+))", agreeing, text)


def _without_repeats(title: str, noun: str) -> str:
    """ "Millbrook Leather Leather Wallet" → "Millbrook Leather Wallet" (a maker's name ending in the
    material's); a repeat the noun itself has stays: "Carbon Steel Hori Hori Knife"."""
    words = title.split(" ")
    kept = [w for i, w in enumerate(words)
            if i == 0 or w.lower() != words[i - 1].lower() or f"{words[i - 1]} {w}" in noun]
    return " ".join(kept)


def _title_case(value) -> str:
    text = str(value)
    return " ".join(w[:1].upper() + w[1:] for w in text.replace(" and ", " & ").split(" "))


def _pick_template(rng: random.Random, templates: Iterable[str], context: dict, fallback: str) -> str:
    usable = [t for t in templates if all(context.get(f) not in (None, "") for f in _fields(t))]
    return rng.choice(usable) if usable else fallback


def shop_price(rng: random.Random, amount: float) -> Decimal:
    """A price that looks like a shop's: £8.50, £24.95, £149.00, £1,295.00."""
    amount = max(amount, 2.0)
    if amount >= 150:
        pounds = int(round(amount / 5.0) * 5)
        ending = rng.choices((".00", ".95", ".99"), (0.6, 0.25, 0.15))[0]
        if ending != ".00":
            pounds -= 1
    else:
        pounds = int(amount)
        ending = rng.choices((".00", ".50", ".95", ".99"), (0.35, 0.2, 0.25, 0.2))[0]
    return Decimal(f"{max(pounds, 1)}{ending}")


def _colour_choices(leaf: Leaf, kind: Kind, material: str) -> tuple[str, ...]:
    if "colour" in kind.choices:
        return kind.choices["colour"] or ()
    if "colour" not in leaf.attributes:
        return ()
    by_material = leaf.material_choices.get(material, {})
    if "colour" in by_material:
        return by_material["colour"]
    return () if material in SELF_COLOURED else leaf.colours


def _attribute(key: str, rng: random.Random, leaf: Leaf, kind: Kind, material: str, colour: str | None):
    if key == "material":
        return _lower(material)
    if key == "colour":
        return colour.lower() if colour else None
    for source in (kind.choices, leaf.material_choices.get(material, {}), leaf.choices):
        if key in source:
            return rng.choice(source[key]) if source[key] else None
    if key in ("dishwasher_safe", "microwave_safe", "frost_resistant", "induction_ready"):
        return getattr(MATERIALS[material], key)
    return None


def _fact(key: str, value) -> str | None:
    template = FACTS.get(key)
    if template is None or value is None:
        return None
    if isinstance(template, tuple):
        return template[0] if value else template[1]
    if isinstance(value, bool):
        return None
    if isinstance(template, dict):  # a size: "measures 160 x 230 cm", but "is A5 size"
        template = template["measured" if " cm" in value else "named"]
    return template.format(v=f"{value:,}" if isinstance(value, int) else value)  # "holds 1,000 ml"


def _join(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _describe(rng: random.Random, leaf: Leaf, kind: Kind, ctx: dict, attributes: dict, material: str,
              title_fields: tuple[str, ...]) -> str:
    """2–4 sentences: what it is and what it is for, two or three facts, care, and sometimes a note."""
    intro = _pick_template(rng, leaf.intros or GENERIC_INTROS, ctx, GENERIC_INTROS[0])
    sentences = [intro.format(**ctx)]
    shown = {k.removesuffix("_t") for k in title_fields}
    facts = [
        f for f in (_fact(k, v) for k, v in attributes.items()
                    if k not in ("material", "colour", "scent") and k not in shown
                    and not (kind.plural and k == "set_of"))
        if f
    ]
    care = (leaf.care.get(material) or MATERIALS[material].care) if rng.random() < 0.85 else None
    if care:  # "Dishwasher and microwave safe." already says it
        facts = [f for f in facts if not ("dishwasher" in f and "ishwasher" in care)
                 and not ("microwave" in f and "microwave" in care)]
    facts = rng.sample(facts, min(len(facts), rng.choice((2, 2, 3))))
    if attributes.get("scent") and "scent" not in shown:
        facts.insert(0, _fact("scent", attributes["scent"]))
    if ctx.get("colour") and "colour" not in shown and rng.random() < 0.6:
        facts.insert(0, f"comes in {ctx['colour_l']}")
    if facts:
        sentences.append(("Each one " if kind.plural else "It ") + _join(facts[:3]) + ".")
    if care:
        sentences.append(care)
    if len(sentences) < 2 or (len(sentences) < 4 and rng.random() < 0.5):
        sentences.append(rng.choice(leaf.notes + GENERAL_NOTES).format(**ctx))
    return _articles(" ".join(sentences[:4]))


def _variants(rng: random.Random, axis: Axis, seq: int, leaf: Leaf, base: Decimal, own: str | None,
              sold_out: bool) -> list[VariantDraft]:
    """2–4 variants along ``axis``; the product's own option (its colour, size…) first, at its price.

    Other options cost more or less by the axis' price factors (a King duvet cover costs more than a Double).
    """
    options = list(axis.options)
    k = rng.randint(2, min(4, len(options)))
    own_index = next((i for i, o in enumerate(options) if own is not None and o.lower() == str(own).lower()),
                     None)
    if own_index is None:
        own_index = rng.randrange(len(options))
    others = rng.sample([i for i in range(len(options)) if i != own_index], k - 1)
    chosen = [own_index] + sorted(others)
    drafts, codes = [], set()
    for n, i in enumerate(chosen):
        factor = axis.factors[i] / axis.factors[own_index] if axis.factors else 1.0
        price = None if factor == 1.0 else shop_price(rng, float(base) * factor)
        code = slugify(options[i]).upper().replace("-", "")[:8] or str(n + 1)
        if code in codes:
            code = f"{code}{n + 1}"
        codes.add(code)
        stock = 0 if sold_out else rng.randint(0, 60)
        drafts.append(VariantDraft(f"{leaf.code}-{seq:06d}-{code}", {axis.name: options[i]}, price, stock))
    return drafts


def _category_deck(rng: random.Random) -> Iterator[tuple[Department, Leaf]]:
    """Leaves in shuffled rounds, repeated by weight; every leaf comes once before any comes twice."""
    all_leaves = leaves()
    while True:
        deck = [(d, leaf) for d, leaf in all_leaves for _ in range(leaf.weight)]
        rng.shuffle(deck)
        seen, head, tail = set(), [], []
        for dept, leaf in deck:
            (tail if leaf.name in seen else head).append((dept, leaf))
            seen.add(leaf.name)
        yield from head + tail


def generate_products(count: int, seed: int = 42) -> Iterator[ProductDraft]:
    """``count`` products, the same ones for the same seed. Pure Python: nothing touches the database."""
    rng = random.Random(seed)
    deck = _category_deck(rng)
    for seq in range(1, count + 1):
        dept, leaf = next(deck)
        kind = rng.choice(leaf.kinds)
        material = rng.choice(kind.materials)
        colours = _colour_choices(leaf, kind, material)
        colour = rng.choice(colours) if colours else None
        adj = rng.choice(leaf.adjectives + leaf.material_adjectives.get(material, ()))
        maker = rng.choice(leaf.makers)

        attributes: dict = {}
        for key in leaf.attributes + tuple(k for k in kind.choices if k not in leaf.attributes):
            value = _attribute(key, rng, leaf, kind, material, colour)
            if value is not None:
                attributes[key] = value
        if "pattern" in attributes and _lower(adj) in leaf.choices.get("pattern", ()):
            attributes["pattern"] = _lower(adj)  # a "Herringbone Scarf" is herringbone
        extras = {name: rng.choice(values) for name, values in leaf.extras.items()}

        ctx = {
            "adj": adj, "adj_l": _lower(adj), "material": material,
            "material_desc": _material_wording(material, colour),
            "noun": kind.noun, "noun_l": _lower(kind.noun), "maker": maker, "use": kind.use,
            "colour": colour, "colour_l": colour.lower() if colour else None,
            "place": PLACES[sum(map(ord, maker)) % len(PLACES)],
            "A_adj": _lower(adj).capitalize() if kind.plural else f"{_article(adj)} {_lower(adj)}",
            "this": "these" if kind.plural else "this", "is": "are" if kind.plural else "is",
            "maker_s": f"{maker}'" if maker.endswith("s") else f"{maker}'s",
        }
        for key, value in attributes.items():
            if not isinstance(value, bool):
                ctx.setdefault(key, value)
                if isinstance(value, str):
                    ctx[f"{key}_t"] = _title_case(value)
        ctx.update(extras)

        template = _pick_template(rng, kind.titles or leaf.titles or GENERIC_TITLES, ctx, "{adj} {noun}")
        title = _without_repeats(template.format(**ctx), kind.noun)
        description = _describe(rng, leaf, kind, ctx, attributes, material, _fields(template))

        low, high = kind.price
        base = shop_price(rng, rng.uniform(low, high) * MATERIALS[material].factor)
        sold_out = rng.random() < 0.05
        active = rng.random() >= 0.03
        axis = kind.variants if kind.variants is not None else leaf.variants
        variants: list[VariantDraft] = []
        own = attributes.get(axis.name) if axis is not None else None
        fits = own is None or any(str(own).lower() == o.lower() for o in axis.options)
        if axis is not None and axis.options and fits and rng.random() < 0.3:
            variants = _variants(rng, axis, seq, leaf, base, own, sold_out)
        if variants:
            stock = sum(v.stock for v in variants)
        else:
            stock = 0 if sold_out else min(200, max(1, int(rng.triangular(1, 200, 25))))
        yield ProductDraft(seq, dept.name, leaf.name, title, description, attributes, base, stock, active,
                           variants, kind.noun, material)
