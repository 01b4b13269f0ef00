"""A coherent, deterministic demo catalogue for ``manage.py seed_demo``.

Three layers, top to bottom:

- the **vocabulary**: departments, leaf categories and, per category, the kinds of product it sells
  (noun, fitting materials, price band, what it is for, attribute choices), adjectives, makers, colours;
- **generation** (:func:`generate_products`): plain Python, no database, driven by one
  ``random.Random(seed)`` so the same seed always yields the same catalogue;
- **seeding** (``seed_*`` / :func:`reset_demo`): writes categories, placeholder images, products (with
  ``bulk_create`` in batches), variants, the Wagtail search index, pages, customers and staff users.

Titles, descriptions and attributes are built from the same choices, so a "Speckled Stoneware Mug"
has ``{"material": "stoneware", ...}`` and a description that talks about stoneware: the texts feed
semantic search later, so they must agree with each other.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import random
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.text import slugify

# =====================================================================================================
# Vocabulary
# =====================================================================================================


@dataclass(frozen=True)
class Material:
    desc: str  # how a sentence names it: "high-fired stoneware with a food-safe glaze"
    care: str  # one sentence
    factor: float = 1.0  # price multiplier against the kind's price band
    dishwasher_safe: bool | None = None
    microwave_safe: bool | None = None
    frost_resistant: bool | None = None
    induction_ready: bool | None = None


MATERIALS: dict[str, Material] = {
    # ceramics and glass
    "Stoneware": Material("high-fired stoneware with a food-safe glaze", "Dishwasher and microwave safe.",
                          1.0, True, True, True),
    "Porcelain": Material("fine white porcelain", "Dishwasher and microwave safe.", 1.1, True, True),
    "Bone China": Material("translucent fine bone china", "Dishwasher safe on a gentle cycle.", 1.3, True,
                           True),
    "Earthenware": Material("glazed earthenware", "Wash by hand to keep the glaze at its best.", 0.9, False,
                            True,
                            False),
    "Enamel": Material("enamelled steel", "Wash by hand and dry straight away to protect the enamel.", 0.9,
                       False, False),
    "Glass": Material("heat-resistant borosilicate glass", "Dishwasher safe.", 0.9, True, True),
    "Recycled Glass": Material("hand-blown recycled glass", "Wash by hand in warm, soapy water.", 1.0, False),
    "Terracotta": Material("frost-resistant Italian terracotta",
                           "Lift onto pot feet in winter so water can drain away.", 0.9,
                           frost_resistant=True),
    "Fibreclay": Material("lightweight fibreclay", "Frost resistant; wipe clean with a damp cloth.", 1.1,
                          frost_resistant=True),
    "Marble": Material("honed natural marble", "Wipe clean; each piece has its own veining.", 1.3, False),
    "Terrazzo": Material("cast terrazzo flecked with recycled stone", "Wipe clean with a damp cloth.", 1.1,
                         False),
    # metals
    "Copper": Material("hammered copper", "Wash by hand and polish now and then to keep the shine.", 1.7,
                       False,
                       False, induction_ready=False),
    "Stainless Steel": Material("brushed stainless steel", "Dishwasher safe.", 1.1, True, False,
                                induction_ready=True),
    "Cast Iron": Material("pre-seasoned cast iron",
                          "Wash by hand, dry thoroughly and wipe with a little oil after use.", 1.3, False,
                          False,
                          True, True),
    "Enamelled Cast Iron": Material("enamelled cast iron",
                                    "Dishwasher safe, though washing by hand keeps the enamel glossy.", 1.6,
                                    True, False, induction_ready=True),
    "Carbon Steel": Material("spun carbon steel",
                             "Season before first use; wash by hand and dry straight away.",
                             1.0, False, False, induction_ready=True),
    "Aluminium": Material("anodised aluminium", "Wipe clean with a damp cloth.", 1.0, False, False,
                          induction_ready=False),
    "Brass": Material("solid brass", "Polish occasionally, or let it develop a warm patina.", 1.4, False),
    "Galvanised Steel": Material("hot-dip galvanised steel", "Weatherproof; rinse with a hose when needed.",
                                 0.9, frost_resistant=True),
    "Powder-Coated Steel": Material("powder-coated steel", "Wipe clean; weatherproof finish.", 1.0,
                                    frost_resistant=True),
    "Titanium": Material("lightweight titanium", "Wash by hand; it will not rust or taint food.", 1.8, True),
    "Sterling Silver": Material("recycled sterling silver",
                                "Store in the pouch provided and polish with a soft cloth.", 1.0),
    "Gold Vermeil": Material("18ct gold vermeil over recycled sterling silver",
                             "Take off before swimming and keep away from perfume to protect the plating.",
                             1.5),
    "Tin": Material("lacquered tin", "Wipe clean with a dry cloth.", 0.8, False),
    # woods and fibres
    "Oak": Material("solid FSC-certified oak",
                    "Wipe with a damp cloth and refresh with a little oil once a year.",
                    1.3, False),
    "Walnut": Material("solid American walnut",
                       "Wipe with a damp cloth and refresh with a little oil once a year.",
                       1.6, False),
    "Ash": Material("solid European ash", "Wipe with a damp cloth and refresh with a little oil once a year.",
                    1.2, False),
    "Beech": Material("solid beech", "Wipe clean with a damp cloth.", 1.0, False),
    "Birch Plywood": Material("birch plywood", "Wipe clean with a damp cloth.", 0.9, False),
    "Acacia": Material("oiled acacia wood", "Wipe clean and re-oil now and then; not for the dishwasher.",
                       0.9,
                       False),
    "Mango Wood": Material("sustainably sourced mango wood", "Wipe clean with a damp cloth.", 0.9, False),
    "Bamboo": Material("fast-growing bamboo",
                       "Wipe clean with a damp cloth; not suitable for the dishwasher.", 0.8,
                       False),
    "Cedar": Material("untreated western red cedar", "Leave untreated: cedar weathers to a silver grey.",
                      1.0),
    "Cork": Material("natural Portuguese cork", "Wipe clean with a damp cloth.", 0.9, False),
    "Rattan": Material("hand-woven rattan", "Dust regularly and keep out of the rain.", 1.0),
    "Seagrass": Material("hand-woven seagrass", "Dust regularly and keep dry.", 0.8),
    "Jute": Material("natural jute", "Vacuum regularly and spot clean only.", 0.8),
    "Wool": Material("pure new wool", "Vacuum regularly; spot clean with cold water.", 1.2),
    "Merino Wool": Material("fine merino wool", "Hand wash cool and dry flat.", 1.3),
    "Lambswool": Material("soft lambswool", "Hand wash cool and dry flat.", 1.1),
    "Cashmere": Material("pure Mongolian cashmere", "Hand wash cold with wool detergent and dry flat.", 2.6),
    "Cotton": Material("organic cotton", "Machine washable at 40°C.", 0.9),
    "Organic Cotton": Material("GOTS-certified organic cotton", "Machine washable at 30°C.", 1.0),
    "Cotton Percale": Material("crisp cotton percale", "Machine washable at 60°C; iron while damp.", 1.0),
    "Cotton Sateen": Material("silky cotton sateen", "Machine washable at 40°C.", 1.15),
    "Egyptian Cotton": Material("long-staple Egyptian cotton", "Machine washable at 60°C.", 1.3),
    "Turkish Cotton": Material("absorbent Turkish cotton", "Machine washable at 40°C; tumble dry low.", 1.1),
    "Waffle Cotton": Material("lightweight waffle-weave cotton", "Machine washable at 40°C; dries quickly.",
                              1.0),
    "Linen": Material("stonewashed European linen", "Machine washable at 40°C; it softens with every wash.",
                      1.3),
    "Velvet": Material("cotton velvet", "Dry clean only.", 1.2),
    "Canvas": Material("heavyweight cotton canvas", "Spot clean with a damp cloth.", 0.9),
    "Waxed Canvas": Material("waxed cotton canvas", "Spot clean and re-wax once a season.", 1.1),
    "Leather": Material("full-grain vegetable-tanned leather",
                        "Wipe clean and feed occasionally with leather balm.", 1.5),
    "Cork Leather": Material("vegan cork leather", "Wipe clean with a damp cloth.", 1.0),
    "Felt": Material("pressed wool felt", "Spot clean only.", 0.9),
    "Recycled Polyester": Material("recycled polyester made from plastic bottles",
                                   "Machine washable at 30°C.",
                                   0.8),
    "Ripstop Nylon": Material("ripstop nylon", "Wipe clean and dry fully before packing away.", 1.0),
    "Natural Rubber": Material("natural tree rubber", "Wipe with a damp cloth after each session.", 1.1),
    "Recycled Plastic": Material("recycled plastic", "Rinse clean with warm water.", 0.7, True,
                                 frost_resistant=True),
    "Silicone": Material("food-grade silicone", "Dishwasher safe.", 0.9, True),
    "Duck Feather & Down": Material("responsibly sourced duck feather and down", "Professionally clean only.",
                                    1.2),
    "Hollowfibre": Material("hypoallergenic hollowfibre", "Machine washable at 40°C.", 0.8),
    # wax and paper
    "Soy Wax": Material("natural soy wax with a cotton wick",
                        "Trim the wick to 5 mm before lighting; burn for no more than three hours at a time.",
                        1.0),
    "Rapeseed Wax": Material("British rapeseed wax with a cotton wick",
                             "Trim the wick to 5 mm before lighting and never leave it burning unattended.",
                             1.0),
    "Beeswax": Material("pure British beeswax", "Keep away from draughts for a clean, even burn.", 1.2),
    "Recycled Paper": Material("100% recycled paper", "Printed in the UK with vegetable-based inks.", 1.0),
    "Cotton Paper": Material("heavyweight cotton rag paper", "Printed in the UK with vegetable-based inks.",
                             1.2),
    "Kraft Paper": Material("unbleached kraft paper", "Fully recyclable and plastic free.", 0.9),
    "Recycled Card": Material("recycled greyboard printed with vegetable inks",
                              "Store flat and dry; the box is fully recyclable.", 1.0),
    "Resin": Material("hand-polished resin", "Wipe clean with a soft cloth.", 1.0),
}


@dataclass(frozen=True)
class Axis:
    """How a product's variants differ: one option key, its values and (optionally) a price factor each."""

    name: str
    options: tuple[str, ...]
    factors: tuple[float, ...] | None = None


NO_VARIANTS = Axis("", ())


@dataclass
class Kind:
    """One kind of product a category sells."""

    noun: str
    materials: tuple[str, ...]
    price: tuple[float, float]
    use: str  # starts with "for …" (or "in which …" for games): completes a sentence about the product
    attrs: dict[str, tuple] = field(default_factory=dict)
    titles: tuple[str, ...] = ()
    variants: Axis | None = None  # None: the category's axis
    plural: bool = False  # "Dinner Plates": "these … are", "Each one …"


@dataclass
class Leaf:
    name: str
    code: str  # SKU prefix
    blurb: str
    kinds: tuple[Kind, ...]
    adjectives: tuple[str, ...]
    makers: tuple[str, ...]
    colours: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()  # keys in display order
    choices: dict[str, tuple] = field(default_factory=dict)
    material_adjectives: dict[str, tuple[str, ...]] = field(default_factory=dict)
    material_choices: dict[str, dict[str, tuple]] = field(default_factory=dict)
    care: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    variants: Axis | None = None
    titles: tuple[str, ...] = ()
    intros: tuple[str, ...] = ()
    extras: dict[str, tuple[str, ...]] = field(default_factory=dict)
    weight: int = 2  # relative share of products


@dataclass
class Department:
    name: str
    blurb: str
    palette: tuple[str, str]  # light, deep: the placeholder pictures' gradient
    leaves: tuple[Leaf, ...]


EARTHY = ("Sage Green", "Oatmeal", "Terracotta", "Charcoal", "Ochre", "Ink Blue", "Chalk White", "Moss Green",
          "Rust", "Sand", "Slate Grey", "Blush Pink")
SOFT = ("Natural", "Oatmeal", "Dove Grey", "Sage Green", "Clay", "Chalk White", "Mustard", "Navy", "Rose",
        "Forest Green", "Charcoal")
BRIGHT = ("Cobalt Blue", "Poppy Red", "Sunflower Yellow", "Mint", "Coral", "Teal", "Black", "Forest Green",
          "Lilac", "Tangerine")
SIZES_BED = Axis("size", ("Single", "Double", "King", "Super King"), (0.8, 1.0, 1.15, 1.3))
SIZES_SML = Axis("size", ("Small", "Medium", "Large"), (1.0, 1.35, 1.75))
SIZES_FIT = Axis("size", ("S", "M", "L", "XL"))
HANG = "made to hang from a branch or bracket"
RUG_SIZES = Axis("size", ("120 x 170 cm", "160 x 230 cm", "200 x 300 cm"), (1.0, 1.7, 2.6))
RUNNER_SIZES = Axis("size", ("70 x 200 cm", "70 x 300 cm"), (1.0, 1.4))
ROUND_SIZES = Axis("size", ("120 cm round", "160 cm round", "200 cm round"), (1.0, 1.6, 2.3))

GENERIC_TITLES = (
    "{adj} {material} {noun}",
    "{adj} {material} {noun}",
    "{maker} {material} {noun}",
    "{adj} {noun} in {colour}",
    "{maker} {adj} {noun}",
    "{material} {noun}, {colour}",
)
GENERIC_INTROS = (
    "{A_adj} {noun_l} made from {material_desc}, {use}.",
    "Made by {maker} from {material_desc}, {this} {adj_l} {noun_l} {is} designed {use}.",
    "{maker} makes {this} {adj_l} {noun_l} from {material_desc}, {use}.",
    "Meet our {adj_l} {noun_l}: {material_desc}, {use}.",
)

# Each fact completes "It …": a verb phrase.  Booleans map to (true phrase, false phrase).
FACTS: dict[str, str | tuple[str | None, str | None] | Callable[[object], str]] = {
    "capacity_ml": "holds {v} ml",
    "capacity_l": "holds {v} litres",
    "capacity_g": "holds about {v} g of beans",
    "dishwasher_safe": ("is dishwasher safe", "should be washed by hand"),
    "microwave_safe": ("is microwave safe", "is not suitable for the microwave"),
    "induction_ready": ("works on every hob, induction included", "works on gas and electric hobs"),
    "oven_safe_c": "is oven safe up to {v}°C",
    "diameter_cm": "is {v} cm across",
    "height_cm": "stands {v} cm tall",
    "dimensions_cm": "measures {v} cm",
    "size": lambda v: f"measures {v}" if " cm" in v else f"is {v} size",
    "set_of": "comes as a set of {v}",
    "pile": "has a {v} pile",
    "pattern": "has a {v} design",
    "airtight": ("has an airtight seal", None),
    "burn_time_hours": "burns for around {v} hours",
    "scent": "is scented with {v}",
    "volume_ml": "holds {v} ml of fragrance",
    "lasts_weeks": "scents a room for up to {v} weeks",
    "watertight": ("holds water for fresh flowers", "is best with dried flowers"),
    "fill": "is filled with {v}",
    "tog": "has a tog rating of {v}",
    "thread_count": "has a thread count of {v}",
    "gsm": "weighs a generous {v} gsm",
    "finish": "has a {v} finish",
    "seat_height_cm": "has a seat height of {v} cm",
    "max_load_kg": "holds up to {v} kg",
    "seats": "seats {v}",
    "assembly": "arrives {v}",
    "bulb": "takes an {v} bulb (not included)",
    "dimmable": ("works with a dimmer switch", None),
    "cable_length_m": "has a {v} m fabric cable",
    "frame": "comes {v}",
    "print_size": "is printed at {v}",
    "drainage_hole": ("has a drainage hole", "has no drainage hole, so it suits indoor plants in a liner"),
    "frost_resistant": ("is frost resistant", "should come indoors over winter"),
    "blade": "has a {v} blade",
    "handle": "has a {v} handle",
    "length_cm": "is {v} cm long",
    "guarantee_years": "comes with a {v}-year guarantee",
    "weatherproof": ("is weatherproof", "should be stored indoors when it rains"),
    "suitable_for": "suits {v}",
    "mounting": "is {v}",
    "pages": "has {v} pages",
    "paper_gsm": "uses {v} gsm paper that resists ink bleed",
    "ruling": "has {v} pages",
    "binding": "has a {v} binding",
    "ink_colour": "writes in {v} ink",
    "nib": "has a {v} nib",
    "refillable": ("is refillable", None),
    "occasion": "is made for {v}",
    "blank_inside": ("is blank inside for your own message", None),
    "age_range": "suits ages {v}",
    "pieces": "has {v} pieces",
    "finished_size_cm": "measures {v} cm when finished",
    "players": "is for {v} players",
    "play_time_min": "plays in about {v} minutes",
    "machine_washable": ("is machine washable", "should be surface washed only"),
    "volume_l": "holds {v} litres",
    "closure": "fastens with a {v}",
    "laptop_sleeve": ("has a padded sleeve for a 13-inch laptop", None),
    "stone": "is set with a {v}",
    "chain_length_cm": "hangs on a {v} cm chain",
    "hypoallergenic": ("is nickel free and hypoallergenic", None),
    "card_slots": "has {v} card slots",
    "rfid_blocking": ("has an RFID-blocking lining", None),
    "sleeps": "sleeps {v}",
    "season_rating": "is rated for {v} use",
    "packed_weight_g": "weighs {v} g packed",
    "waterproof": ("is waterproof", "is shower resistant"),
    "thickness_mm": "is {v} mm thick",
    "weight_kg": "weighs {v} kg",
    "weight_g": "weighs {v} g",
    "non_slip": ("has a non-slip grip", None),
    "lumens": "gives {v} lumens of light",
    "hours_hot": "keeps drinks hot for {v} hours",
    "hours_cold": "keeps drinks cold for {v} hours",
    "leakproof": ("has a leakproof lid", None),
    "rechargeable": ("recharges over USB-C", None),
}

PLACES = ("Stoke-on-Trent", "Cornwall", "Glasgow", "Lisbon", "Copenhagen", "the Cotswolds", "Bristol",
          "Kyoto",
          "the Peak District", "Porto", "Leeds", "Somerset", "Edinburgh", "Oaxaca", "Norfolk", "Ghent")
GENERAL_NOTES = (
    "Designed by {maker} in {place}.",
    "It arrives in plastic-free packaging, ready to give as a gift.",
    "A thoughtful gift that will be used every day.",
)
SMALL_BATCH = "{maker} works in small batches in {place}, so every piece varies slightly."


def K(noun, materials, lo, hi, use, *, titles=(), variants=None, plural=False, **attrs) -> Kind:
    """Shorthand for a Kind: ``K("Teapot", ("Stoneware",), 24, 75, "for …", capacity_ml=(600, 800))``.

    An attribute given as ``None`` does not apply to this kind even if its category offers it.
    """
    if isinstance(materials, str):
        materials = (materials,)
    return Kind(noun, tuple(materials), (lo, hi), use, dict(attrs), tuple(titles), variants, plural)


KITCHEN = Department("Kitchen & Dining", "Cookware, tableware and everything for slow coffee mornings.",
                     ("#f6e7d7", "#c9835b"), (
    Leaf("Coffee & Tea", "CFT", "Drippers, teapots and grinders for a better brew at home.", (
        K("Pour-Over Coffee Dripper", ("Stoneware", "Porcelain", "Glass", "Copper"), 16, 42,
          "for brewing a clean, bright cup of filter coffee", capacity_ml=(300, 500, 600)),
        K("Teapot", ("Stoneware", "Cast Iron", "Glass", "Porcelain"), 22, 75,
          "for brewing loose-leaf tea for two or more", capacity_ml=(600, 800, 1000, 1200)),
        K("French Press", ("Glass", "Stainless Steel"), 22, 60, "for rich, full-bodied coffee",
          capacity_ml=(350, 800, 1000)),
        K("Tea Caddy", ("Tin", "Bamboo", "Stoneware"), 9, 24,
          "for keeping loose-leaf tea fresh and away from the light", capacity_ml=(350, 500, 750),
          airtight=(True,)),
        K("Manual Coffee Grinder", ("Stainless Steel", "Walnut", "Beech"), 35, 95,
          "for grinding beans fresh for every brew, from espresso-fine to coarse", capacity_g=(20, 30, 40)),
        K("Gooseneck Kettle", ("Stainless Steel", "Copper"), 39, 120,
          "for a slow, steady pour over coffee grounds", capacity_ml=(600, 800, 1000)),
        K("Milk Jug", ("Stoneware", "Porcelain", "Stainless Steel", "Enamel"), 12, 28,
          "for frothing and pouring milk for lattes and flat whites", capacity_ml=(350, 600)),
        K("Tea Infuser", ("Stainless Steel", "Glass"), 6, 15, "for brewing loose-leaf tea one cup at a time"),
        K("Coffee Canister", ("Stainless Steel", "Stoneware", "Tin"), 14, 32,
          "for keeping coffee beans fresh and fragrant", capacity_ml=(500, 1000), airtight=(True,)),
     ),
        adjectives=("Classic", "Everyday", "Slow", "Minimal", "Nordic"),
        makers=("Holloway Pottery", "Kettle & Ember", "Northbrew", "Marlow & Finch", "Brightwater",
                "Tidewell"),
        colours=EARTHY,
        attributes=("capacity_ml", "material", "colour", "dishwasher_safe"),
        material_choices={"Stainless Steel": {"colour": ()}},
        material_adjectives={"Stoneware": ("Speckled", "Reactive-Glaze", "Hand-Thrown", "Matte"),
                             "Porcelain": ("Fluted", "Ribbed", "Glossy"), "Glass": ("Clear", "Double-Walled"),
                             "Copper": ("Hammered", "Polished"), "Cast Iron": ("Hobnail", "Traditional"),
                             "Stainless Steel": ("Brushed", "Matte Black")},
        notes=(SMALL_BATCH, "Pair it with freshly ground beans for the best flavour.",
               "Part of our slow-coffee collection, chosen with independent roasters."),
        weight=3),
    Leaf("Mugs & Cups", "MUG", "Mugs, cups and tumblers for every kind of brew.", (
        K("Mug", ("Stoneware", "Porcelain", "Bone China", "Enamel"), 8, 26,
          "for the first coffee of the morning", capacity_ml=(250, 300, 350, 400, 450)),
        K("Espresso Cup & Saucer", ("Porcelain", "Stoneware"), 9, 22, "for a short, strong espresso",
          capacity_ml=(80, 90, 100)),
        K("Latte Cup", ("Stoneware", "Porcelain"), 10, 24, "for milky coffees with room for latte art",
          capacity_ml=(250, 300, 350)),
        K("Tumbler", ("Stoneware", "Glass", "Enamel"), 7, 18, "for water, juice or a flat white",
          capacity_ml=(200, 250, 300)),
        K("Travel Cup", ("Stainless Steel", "Glass"), 14, 32, "for coffee on the commute",
          capacity_ml=(340, 450), leakproof=(True,)),
        K("Teacup & Saucer", ("Bone China", "Porcelain"), 12, 32, "for afternoon tea done properly",
          capacity_ml=(200, 220, 250)),
     ),
        adjectives=("Everyday", "Stacking", "Classic", "Rounded", "Tall", "Handle-Less"),
        makers=("Holloway Pottery", "Little Hive Ceramics", "Fenwick", "Saltmarsh Studio", "Otto & Vale"),
        colours=EARTHY,
        attributes=("capacity_ml", "material", "colour", "dishwasher_safe", "microwave_safe"),
        material_adjectives={"Stoneware": ("Speckled", "Reactive-Glaze", "Hand-Thrown", "Ribbed", "Matte"),
                             "Porcelain": ("Fluted", "Ribbed", "Fine"),
                             "Bone China": ("Fine", "Hand-Painted"),
                             "Enamel": ("Camp", "Speckled"), "Glass": ("Double-Walled", "Clear", "Ribbed"),
                             "Stainless Steel": ("Insulated", "Brushed")},
        notes=(SMALL_BATCH, "Each one is glazed by hand, so colours vary gently from piece to piece.",
               "Collect a few colours and mix them on the shelf."),
        variants=Axis("colour", EARTHY), weight=3),
    Leaf("Cookware", "COK", "Pans, pots and casseroles that last for decades.", (
        K("Skillet", ("Cast Iron", "Carbon Steel", "Stainless Steel"), 25, 95,
          "for searing, frying and finishing dishes in the oven", diameter_cm=(20, 24, 26, 28, 30),
          oven_safe_c=(250, 260)),
        K("Casserole Dish", "Enamelled Cast Iron", 65, 220, "for slow-cooked stews, braises and bread",
          capacity_l=(2.4, 3.8, 5.3), oven_safe_c=(250,),
          colour=("Sage Green", "Ink Blue", "Flame Orange", "Cream", "Charcoal", "Cherry Red")),
        K("Saucepan", ("Stainless Steel", "Copper"), 25, 140, "for sauces, grains and everyday cooking",
          diameter_cm=(14, 16, 18, 20), oven_safe_c=(220, 260)),
        K("Wok", "Carbon Steel", 25, 60, "for fast, smoky stir-fries", diameter_cm=(30, 32, 36)),
        K("Roasting Tin", ("Stainless Steel", "Enamel"), 18, 48, "for Sunday roasts and tray bakes",
          dimensions_cm=("30 x 22", "38 x 27", "42 x 30"), oven_safe_c=(240, 260)),
        K("Stockpot", "Stainless Steel", 40, 110, "for stocks, soups and big-batch cooking",
          capacity_l=(6, 8, 10), oven_safe_c=(260,)),
        K("Frying Pan", ("Carbon Steel", "Stainless Steel", "Aluminium"), 22, 75,
          "for eggs, pancakes and everyday frying", diameter_cm=(20, 24, 28), oven_safe_c=(200, 220)),
     ),
        adjectives=("Professional", "Heavy-Base", "Classic", "Lifetime", "Chef's", "Heritage"),
        makers=("Ironbridge", "Forge & Field", "Castellan", "Hearthstone", "Merrow Kitchen"),
        attributes=("material", "diameter_cm", "capacity_l", "induction_ready", "oven_safe_c",
                    "dishwasher_safe"),
        notes=("Built to be handed down: it only gets better with use.",
               "Comes with a lifetime guarantee against manufacturing defects."),
        titles=("{adj} {material} {noun}", "{maker} {material} {noun}", "{material} {noun}, {diameter_cm} cm",
                "{material} {noun}, {capacity_l} L", "{maker} {noun} in {colour}"),
        weight=2),
    Leaf("Tableware", "TAB", "Plates, bowls, cutlery and linens for the table.", (
        K("Dinner Plates", ("Stoneware", "Porcelain", "Earthenware"), 24, 70,
          "for everyday dinners and feasts",
          set_of=(4,), diameter_cm=(26, 27, 28), titles=("{adj} {material} {noun}, Set of {set_of}",),
          plural=True),
        K("Side Plates", ("Stoneware", "Porcelain", "Earthenware"), 18, 48,
          "for breakfast, cake and small plates",
          set_of=(4,), diameter_cm=(20, 21, 22), titles=("{adj} {material} {noun}, Set of {set_of}",),
          plural=True),
        K("Pasta Bowl", ("Stoneware", "Porcelain"), 9, 22, "for pasta, salads and generous one-bowl suppers",
          diameter_cm=(22, 24, 26)),
        K("Serving Platter", ("Stoneware", "Porcelain", "Acacia", "Marble"), 22, 65,
          "for sharing dishes at the centre of the table", dimensions_cm=("35 x 25", "40 x 28", "45 x 30")),
        K("Salad Bowl", ("Acacia", "Olive Wood", "Stoneware"), 18, 55, "for big leafy salads and fruit",
          diameter_cm=(25, 28, 30)),
        K("Dinner Set", ("Stoneware", "Porcelain"), 85, 220, "for a table set for four, dinner to dessert",
          set_of=(12, 16),
          titles=("{adj} {material} {set_of}-Piece {noun}", "{maker} {set_of}-Piece {noun}")),
        K("Cutlery Set", "Stainless Steel", 45, 150, "for four place settings, everyday or special occasion",
          set_of=(16, 24), titles=("{adj} {set_of}-Piece {noun}", "{maker} {set_of}-Piece {noun}, {colour}")),
        K("Linen Napkins", "Linen", 18, 38, "for relaxed dinners and Sunday lunches", set_of=(4, 6),
          dimensions_cm=("45 x 45",),
          titles=("{adj} {noun}, Set of {set_of}", "{noun} in {colour}, Set of {set_of}"), plural=True),
        K("Table Runner", ("Linen", "Cotton"), 18, 42, "for dressing a long table",
          dimensions_cm=("40 x 200", "40 x 250")),
        K("Water Glasses", "Recycled Glass", 16, 40, "for water, wine and everything in between",
          set_of=(4, 6), capacity_ml=(250, 300), titles=("{adj} {material} {noun}, Set of {set_of}",),
          plural=True),
     ),
        adjectives=("Rustic", "Classic", "Coupe", "Scalloped", "Everyday", "Organic-Edge", "Modern"),
        makers=("Holloway Pottery", "Fenwick", "Longtable", "Saltmarsh Studio", "Oakhurst Home"),
        colours=EARTHY,
        attributes=("material", "colour", "set_of", "diameter_cm", "dishwasher_safe"),
        material_choices={"Stainless Steel": {"colour": ()}},
        material_adjectives={"Stoneware": ("Speckled", "Reactive-Glaze", "Hand-Thrown"),
                             "Linen": ("Stonewashed",),
                             "Stainless Steel": ("Brushed", "Matte Black", "Satin")},
        notes=(SMALL_BATCH, "Mix and match with the rest of the range for a relaxed table."),
        weight=2),
    Leaf("Kitchen Storage", "KST", "Jars, bins and racks that keep the counter clear.", (
        K("Storage Jar", ("Glass", "Stoneware"), 8, 24, "for pasta, grains and baking staples",
          capacity_ml=(500, 1000, 1500, 2000), airtight=(True,)),
        K("Bread Bin", ("Enamel", "Bamboo", "Stainless Steel"), 28, 65, "for keeping a loaf fresh for days",
          dimensions_cm=("40 x 25 x 20", "36 x 22 x 18")),
        K("Utensil Pot", ("Stoneware", "Marble", "Acacia"), 12, 30, "for wooden spoons and whisks by the hob",
          height_cm=(15, 18, 20)),
        K("Spice Rack", ("Oak", "Bamboo"), 22, 55, "for keeping spices in order", set_of=(12, 16, 20),
          titles=("{adj} {material} {noun} with {set_of} Jars",)),
        K("Salt Pig", ("Stoneware", "Earthenware"), 10, 20, "for keeping salt dry and within reach",
          capacity_ml=(300, 400)),
        K("Fruit Bowl", ("Rattan", "Stoneware", "Powder-Coated Steel"), 18, 45,
          "for fruit on the kitchen table",
          diameter_cm=(26, 30, 34)),
        K("Oil Pourer", ("Stoneware", "Glass"), 12, 26, "for olive oil and vinegar at the hob",
          capacity_ml=(300, 500)),
     ),
        adjectives=("Stackable", "Classic", "Minimal", "Countertop", "Everyday"),
        makers=("Pantry & Co.", "Oakhurst Home", "Larder Lane", "Holloway Pottery"),
        colours=EARTHY,
        attributes=("material", "colour", "capacity_ml", "airtight", "dishwasher_safe"),
        material_choices={"Stainless Steel": {"colour": ()}},
        material_adjectives={"Stoneware": ("Speckled", "Glazed"), "Glass": ("Clear", "Ribbed")},
        notes=("Label it with chalk pen for a tidy pantry.",),
        weight=2),
))

HOME_DECOR = Department("Home Decor", "Candles, vases, cushions and rugs that make a house a home.",
                        ("#efe6f2", "#8c6a9c"), (
    Leaf("Candles & Home Fragrance", "CAN", "Hand-poured candles and diffusers with natural scents.", (
        K("Scented Candle", ("Soy Wax", "Rapeseed Wax"), 14, 42, "for slow evenings and a calm, warm glow",
          burn_time_hours=(25, 40, 55, 70),
          titles=("{scent_t} Scented Candle", "{maker} {scent_t} Candle", "{scent_t} {material} Candle")),
        K("Pillar Candle", "Beeswax", 9, 28, "for the dinner table and the mantelpiece",
          burn_time_hours=(30, 45, 60), height_cm=(10, 15, 20), scent=("honey",),
          titles=("{adj} {material} {noun}", "{maker} {material} {noun}")),
        K("Reed Diffuser", "Recycled Glass", 18, 45, "for a gentle scent that lasts for weeks",
          volume_ml=(100, 200), lasts_weeks=(8, 12, 16),
          titles=("{scent_t} {noun}", "{maker} {scent_t} {noun}")),
        K("Candle Holder", ("Brass", "Stoneware", "Marble"), 10, 36, "for dinner candles and tea lights",
          height_cm=(6, 10, 15, 22), scent=None, burn_time_hours=None,
          titles=("{adj} {material} {noun}", "{maker} {material} {noun}")),
        K("Tea Lights", ("Soy Wax", "Rapeseed Wax"), 6, 14, "for lanterns and table settings",
          burn_time_hours=(4, 5), set_of=(12, 24), titles=("{scent_t} {noun}, Pack of {set_of}",),
          plural=True),
     ),
        adjectives=("Hand-Poured", "Small-Batch", "Classic", "Sculptural", "Twisted"),
        makers=("Wickford", "Ember & Oak", "Hearth Apothecary", "Lumen Lane", "Saltmarsh Studio"),
        attributes=("material", "scent", "burn_time_hours", "height_cm"),
        choices={"scent": ("fig and cedarwood", "wild mint and eucalyptus", "sea salt and sage",
                           "amber and smoked oak", "orange blossom", "lavender and chamomile",
                           "black pepper and vetiver", "rhubarb and rose", "tomato leaf",
                           "neroli and basil")},
        notes=(SMALL_BATCH, "Every scent is blended with essential oils and free from parabens.",
               "The vessel is easy to clean and reuse once the candle is finished."),
        variants=Axis("size", ("Small", "Large"), (1.0, 1.7)), weight=3),
    Leaf("Vases", "VAS", "Bud vases, bottle vases and vessels for fresh and dried flowers.", (
        K("Bud Vase", ("Stoneware", "Recycled Glass", "Porcelain", "Brass"), 9, 28,
          "for a single stem on a windowsill or desk", height_cm=(10, 12, 15)),
        K("Tall Vase", ("Stoneware", "Recycled Glass", "Earthenware"), 28, 85,
          "for branches, eucalyptus and big seasonal bunches", height_cm=(30, 35, 40, 45)),
        K("Bottle Vase", ("Stoneware", "Recycled Glass", "Porcelain"), 16, 45, "for a few loose stems",
          height_cm=(18, 22, 25)),
        K("Jug Vase", ("Stoneware", "Earthenware"), 18, 48, "for garden flowers arranged the easy way",
          height_cm=(18, 20, 24)),
        K("Vase Trio", ("Stoneware", "Recycled Glass"), 28, 65,
          "for grouping small arrangements along a shelf",
          set_of=(3,), titles=("{adj} {material} {noun}", "{maker} {noun} in {colour}")),
     ),
        adjectives=("Sculptural", "Ribbed", "Organic", "Minimal", "Fluted", "Rounded"),
        makers=("Little Hive Ceramics", "Otto & Vale", "Glasshouse Studio", "Fenwick", "Kiln & Co."),
        colours=EARTHY,
        attributes=("material", "colour", "height_cm", "watertight"),
        material_choices={m: {"watertight": (True,)} for m in ("Stoneware", "Recycled Glass", "Porcelain",
            "Brass")}
        | {"Earthenware": {"watertight": (False,)}},
        material_adjectives={"Stoneware": ("Speckled", "Reactive-Glaze", "Hand-Thrown"),
                             "Recycled Glass": ("Smoked", "Bubble", "Clear")},
        notes=(SMALL_BATCH, "Lovely on its own or grouped with other vases in different heights."),
        weight=2),
    Leaf("Cushions & Throws", "CUS", "Cushions and throws in linen, velvet and wool.", (
        K("Cushion Cover", ("Linen", "Velvet", "Cotton", "Wool"), 18, 45,
          "for refreshing a sofa or an armchair in minutes", dimensions_cm=("45 x 45", "50 x 50", "30 x 50"),
          closure=("hidden zip",)),
        K("Cushion", ("Linen", "Velvet", "Cotton", "Wool"), 28, 65,
          "for plumping up a sofa or a reading nook",
          dimensions_cm=("45 x 45", "50 x 50", "60 x 60"), fill=("duck feather", "recycled polyester")),
        K("Throw", ("Wool", "Merino Wool", "Cotton", "Cashmere"), 45, 150, "for cosy evenings on the sofa",
          dimensions_cm=("130 x 170", "140 x 200")),
        K("Knitted Blanket", ("Merino Wool", "Cotton"), 55, 160, "for wrapping up on cold nights",
          dimensions_cm=("130 x 180", "150 x 200")),
     ),
        adjectives=("Herringbone", "Striped", "Checked", "Bouclé", "Tufted", "Waffle", "Chunky-Knit"),
        makers=("Loomhouse", "Bramble & Bolt", "Northern Mill", "Weft Studio", "Oakhurst Home"),
        colours=SOFT,
        attributes=("material", "colour", "dimensions_cm", "pattern", "fill"),
        choices={"pattern": ("plain", "herringbone", "striped", "checked", "bouclé")},
        care={"Wool": "Dry clean, or hand wash cool and dry flat.", "Velvet": "Dry clean only."},
        notes=("Woven in a family-run mill that has been making textiles for generations.",),
        variants=Axis("colour", SOFT), weight=3),
    Leaf("Rugs", "RUG", "Flatweaves, runners and deep-pile rugs in natural fibres.", (
        K("Flatweave Rug", ("Wool", "Cotton", "Jute"), 60, 320, "for living rooms and hallways",
          pile=("flat",),
          size=RUG_SIZES.options, variants=RUG_SIZES),
        K("Berber-Style Rug", "Wool", 140, 520, "for softness underfoot in a living room or bedroom",
          pile=("high", "medium"), size=RUG_SIZES.options, variants=RUG_SIZES),
        K("Runner", ("Wool", "Jute", "Cotton"), 45, 160, "for hallways, landings and kitchens",
          pile=("flat", "low"), size=RUNNER_SIZES.options, variants=RUNNER_SIZES),
        K("Round Rug", ("Jute", "Wool"), 60, 260, "for zoning a reading corner or a dining table",
          pile=("flat", "low"), size=ROUND_SIZES.options, variants=ROUND_SIZES),
        K("Washable Rug", ("Cotton", "Recycled Polyester"), 45, 180,
          "for kitchens, bathrooms and homes with pets", pile=("flat", "low"),
          size=("60 x 90 cm", "120 x 170 cm", "160 x 230 cm"), machine_washable=(True,)),
     ),
        adjectives=("Handwoven", "Geometric", "Striped", "Chunky", "Diamond", "Tonal", "Fringed"),
        makers=("Loomhouse", "Atlas Weavers", "Northern Mill", "Kasbah & Co.", "Weft Studio"),
        colours=SOFT,
        attributes=("size", "material", "pile", "colour"),
        care={"Cotton": "Shake out regularly; spot clean or machine wash at 30°C.",
              "Recycled Polyester": "Machine washable at 30°C; dries flat overnight."},
        notes=("Add a rug pad underneath to stop it slipping.",
               "Hand-finished edges keep it flat for years."),
        titles=("{adj} {material} {noun}", "{maker} {adj} {noun}", "{adj} {noun} in {colour}",
                "{material} {noun}, {size}"),
        weight=2),
    Leaf("Mirrors & Wall Art", "ART", "Mirrors, prints and wall hangings to finish a room.", (
        K("Round Wall Mirror", ("Brass", "Oak", "Rattan"), 45, 220, "for brightening a hallway or a bathroom",
          diameter_cm=(40, 60, 80)),
        K("Arched Mirror", ("Oak", "Brass", "Powder-Coated Steel"), 85, 320,
          "for leaning against a bedroom wall",
          dimensions_cm=("50 x 100", "60 x 150", "70 x 170")),
        K("Art Print", ("Cotton Paper",), 18, 85, "for bringing colour and calm to a wall",
          print_size=("A4", "A3", "A2", "50 x 70 cm"),
          frame=("unframed", "framed in oak", "framed in black ash"),
          titles=("{subject} Art Print", "{subject} Print by {maker}", "{subject} Giclée Print")),
        K("Wall Hanging", ("Cotton", "Wool"), 25, 90, "for softening a bare wall with texture",
          dimensions_cm=("40 x 60", "60 x 90")),
        K("Wall Clock", ("Oak", "Brass", "Walnut"), 30, 95,
          "for a silent, sweep-second clock in a kitchen or study",
          diameter_cm=(25, 30, 40)),
     ),
        adjectives=("Minimal", "Scalloped", "Framed", "Modern", "Organic", "Sunburst"),
        makers=("Gallery North", "Paper Moon Press", "Otto & Vale", "Framework Studio", "Hesketh Prints"),
        colours=EARTHY,
        attributes=("material", "dimensions_cm", "diameter_cm", "print_size", "frame"),
        extras={"subject": ("Coastal Dunes", "Morning Meadow", "Lemon Tree", "Still Life with Pears",
                            "Mountain Lake", "Abstract Arches", "Olive Branch", "Wild Poppies",
                            "Harbour at Dusk",
                            "Terracotta Sun", "Botanical Fern", "Quiet Forest", "Citrus Market",
                            "Blue Horizon")},
        notes=("Hanging fixings are included.", "Printed with archival pigment inks that will not fade."),
        weight=2),
))

FURNITURE = Department("Furniture", "Solid-wood chairs, tables and storage built to last.",
                       ("#efe9df", "#8a6a4a"), (
    Leaf("Chairs & Stools", "CHR", "Dining chairs, stools and lounge chairs in solid wood.", (
        K("Dining Chair", ("Oak", "Ash", "Beech", "Walnut"), 95, 320, "for long dinners and everyday meals",
          seat_height_cm=(45, 46, 47), max_load_kg=(120, 150),
          variants=Axis("finish", ("Natural Oil", "White Oil", "Black Stain"))),
        K("Bar Stool", ("Oak", "Ash", "Powder-Coated Steel"), 85, 240,
          "for kitchen islands and breakfast bars",
          seat_height_cm=(65, 75), max_load_kg=(120,)),
        K("Lounge Chair", ("Oak", "Rattan", "Walnut"), 240, 780,
          "for reading, napping and slow Sunday mornings",
          seat_height_cm=(38, 40, 42), max_load_kg=(130,)),
        K("Dining Bench", ("Oak", "Ash", "Mango Wood"), 140, 420, "for seating three along a table",
          dimensions_cm=("140 x 35 x 45", "180 x 35 x 45"), max_load_kg=(250,)),
        K("Footstool", ("Velvet", "Wool", "Rattan"), 60, 180, "for putting your feet up", height_cm=(38, 42)),
     ),
        adjectives=("Spindle-Back", "Scandi", "Curved", "Stacking", "Classic", "Low"),
        makers=("Ashdown Furniture", "Holmwood", "Fern & Joinery", "Lowland Works", "Atelier Kvist"),
        attributes=("material", "finish", "seat_height_cm", "max_load_kg", "assembly"),
        choices={"assembly": ("fully assembled", "flat-packed, with tools included")},
        material_choices={m: {"finish": ("natural oil", "white oil", "black stain")}
                          for m in ("Oak", "Ash", "Beech", "Walnut", "Mango Wood")},
        care={"Velvet": "Vacuum gently and spot clean with a damp cloth.",
              "Wool": "Vacuum gently and spot clean with a damp cloth."},
        notes=("Made to order by a small workshop, usually in four to six weeks.",),
        titles=("{adj} {material} {noun}", "{maker} {material} {noun}", "{adj} {noun}, {finish_t}"),
        weight=1),
    Leaf("Tables", "TBL", "Dining, coffee and side tables in solid wood.", (
        K("Dining Table", ("Oak", "Walnut", "Mango Wood", "Ash"), 420, 1600,
          "for family dinners and long lunches",
          seats=("4", "6", "6 to 8"), dimensions_cm=("140 x 85", "180 x 90", "220 x 95"),
          variants=Axis("finish", ("Natural Oil", "White Oil", "Smoked Oak"))),
        K("Coffee Table", ("Oak", "Walnut", "Mango Wood", "Marble"), 160, 650,
          "for the living room, with room for books and coffee",
          dimensions_cm=("100 x 60", "120 x 60", "90 round")),
        K("Side Table", ("Oak", "Walnut", "Marble", "Rattan"), 75, 260, "for a lamp, a book and a cup of tea",
          dimensions_cm=("40 x 40 x 55", "45 round x 50")),
        K("Console Table", ("Oak", "Walnut", "Mango Wood"), 180, 540, "for hallways and behind the sofa",
          dimensions_cm=("120 x 35 x 80", "140 x 38 x 80"),
          variants=Axis("finish", ("Natural Oil", "White Oil", "Smoked Oak"))),
        K("Writing Desk", ("Oak", "Walnut", "Ash"), 240, 720, "for working from home in a small space",
          dimensions_cm=("110 x 55 x 75", "130 x 60 x 75"),
          variants=Axis("finish", ("Natural Oil", "White Oil", "Smoked Oak"))),
     ),
        adjectives=("Trestle", "Pedestal", "Round", "Live-Edge", "Classic", "Tapered-Leg"),
        makers=("Ashdown Furniture", "Holmwood", "Fern & Joinery", "Lowland Works", "Atelier Kvist"),
        attributes=("material", "finish", "dimensions_cm", "seats", "assembly"),
        choices={"assembly": ("with the legs to fit, tools included", "fully assembled")},
        material_choices={m: {"finish": ("natural oil", "white oil", "smoked oak")}
                          for m in ("Oak", "Ash", "Walnut", "Mango Wood")},
        care={"Marble": "Wipe spills straight away and use coasters: marble is porous."},
        notes=("Made to order by a small workshop, usually in four to six weeks.",
               "Every top is cut from a single board, so the grain is unique."),
        titles=("{adj} {material} {noun}", "{maker} {material} {noun}", "{adj} {noun}, {finish_t}"),
        weight=1),
    Leaf("Shelving & Storage", "SHV", "Bookcases, shelves and baskets for a tidier home.", (
        K("Bookcase", ("Oak", "Ash", "Birch Plywood", "Powder-Coated Steel"), 180, 620,
          "for books, plants and pottery",
          dimensions_cm=("80 x 30 x 180", "100 x 35 x 200"), max_load_kg=(60, 80, 100)),
        K("Wall Shelf", ("Oak", "Walnut", "Ash"), 35, 110, "for cookbooks, prints and plants",
          dimensions_cm=("60 x 20", "80 x 20", "100 x 22"), max_load_kg=(15, 20, 25)),
        K("Storage Basket", ("Seagrass", "Rattan", "Jute"), 16, 55, "for blankets, toys and laundry",
          dimensions_cm=("30 x 30 x 25", "40 x 40 x 35", "50 x 35 x 40")),
        K("Sideboard", ("Oak", "Walnut", "Mango Wood"), 480, 1400,
          "for dining-room storage with a display top",
          dimensions_cm=("160 x 45 x 75", "180 x 45 x 80")),
        K("Blanket Ladder", ("Oak", "Ash", "Bamboo"), 45, 120,
          "for throws and towels in a bedroom or bathroom",
          height_cm=(150, 170)),
        K("Shoe Rack", ("Oak", "Bamboo", "Powder-Coated Steel"), 40, 140, "for a tidy hallway",
          dimensions_cm=("70 x 30 x 50", "90 x 30 x 80")),
     ),
        adjectives=("Modular", "Ladder", "Floating", "Slim", "Classic", "Open"),
        makers=("Holmwood", "Lowland Works", "Atelier Kvist", "Pantry & Co.", "Oakhurst Home"),
        attributes=("material", "dimensions_cm", "max_load_kg", "finish", "assembly"),
        choices={"assembly": ("flat-packed, with tools included", "fully assembled")},
        material_choices={m: {"finish": ("natural oil", "white oil", "black stain")}
                          for m in ("Oak", "Ash", "Walnut", "Mango Wood")},
        notes=("Wall fixings are included.",),
        weight=2),
    Leaf("Lamps & Lighting", "LMP", "Table lamps, floor lamps and pendants with warm light.", (
        K("Table Lamp", ("Stoneware", "Brass", "Oak", "Recycled Glass"), 45, 180,
          "for soft, warm light on a side table or desk", height_cm=(35, 45, 55), bulb=("E27", "E14")),
        K("Floor Lamp", ("Brass", "Oak", "Powder-Coated Steel"), 120, 380,
          "for reading corners and living rooms",
          height_cm=(140, 155, 170), bulb=("E27",)),
        K("Pendant Light", ("Rattan", "Linen", "Recycled Glass", "Brass"), 45, 220,
          "for hanging over a dining table or kitchen island", diameter_cm=(30, 40, 50), bulb=("E27",),
          cable_length_m=(1.5, 2)),
        K("Wall Light", ("Brass", "Powder-Coated Steel", "Stoneware"), 55, 160,
          "for bedside reading without a table lamp", bulb=("E14", "G9")),
        K("Lamp Shade", ("Linen", "Rattan", "Cotton"), 22, 75,
          "for softening the light from a pendant or lamp base",
          diameter_cm=(25, 35, 45)),
     ),
        adjectives=("Mushroom", "Globe", "Pleated", "Adjustable", "Minimal", "Scalloped"),
        makers=("Lumen Lane", "Glasshouse Studio", "Hesketh Light", "Otto & Vale"),
        colours=EARTHY,
        attributes=("material", "colour", "height_cm", "bulb", "dimmable"),
        choices={"dimmable": (True, False)},
        care={"Linen": "Dust with a soft brush.", "Rattan": "Dust with a soft brush.",
              "Stoneware": "Dust with a soft, dry cloth.", "Brass": "Dust with a soft, dry cloth."},
        notes=("Works beautifully with a warm-white LED bulb.",),
        weight=2),
))

BEDDING = Department("Bedding & Bath", "Linen bedding, duvets, towels and bathroom essentials.",
                     ("#e6eef3", "#5f8aa6"), (
    Leaf("Bed Linen", "BED", "Duvet covers, sheets and pillowcases in linen and cotton.", (
        K("Duvet Cover", ("Linen", "Cotton Percale", "Cotton Sateen", "Egyptian Cotton"), 55, 190,
          "for a cool, breathable night's sleep", closure=("button", "hidden zip")),
        K("Pillowcase Pair", ("Linen", "Cotton Percale", "Cotton Sateen", "Egyptian Cotton"), 18, 55,
          "for soft, breathable pillows", dimensions_cm=("50 x 75",),
          titles=("{adj} {material} {noun}", "{material} {noun} in {colour}")),
        K("Fitted Sheet", ("Linen", "Cotton Percale", "Cotton Sateen", "Egyptian Cotton"), 28, 95,
          "for a smooth, snug fit on deep mattresses", fits_mattress_depth_cm=(30, 35)),
        K("Flat Sheet", ("Linen", "Cotton Percale", "Egyptian Cotton"), 28, 90,
          "for layering a bed the classic way"),
        K("Bedding Set", ("Linen", "Cotton Percale", "Cotton Sateen"), 90, 260,
          "for a whole bed in one go: duvet cover and two pillowcases"),
     ),
        adjectives=("Stonewashed", "Washed", "Classic", "Garment-Dyed", "Hotel", "Oxford-Edge"),
        makers=("Slumberhaus", "Loomhouse", "Pillow & Peak", "Northern Mill"),
        colours=SOFT,
        attributes=("material", "colour", "thread_count", "closure"),
        material_choices={"Cotton Percale": {"thread_count": (200, 300)},
                          "Cotton Sateen": {"thread_count": (300, 400, 600)},
                          "Egyptian Cotton": {"thread_count": (400, 600, 800)}},
        material_adjectives={"Linen": ("Stonewashed", "Washed"), "Cotton Percale": ("Crisp",),
                             "Cotton Sateen": ("Silky",)},
        notes=("OEKO-TEX certified, so it is tested for harmful substances.",
               "Pre-washed, so it feels soft from the very first night."),
        variants=SIZES_BED, weight=3),
    Leaf("Duvets & Pillows", "DUV", "Duvets, pillows and toppers for every season.", (
        K("Duvet", ("Duck Feather & Down", "Hollowfibre", "Wool"), 45, 320,
          "for a good night's sleep all year round",
          tog=(4.5, 9, 10.5, 13.5)),
        K("Pillow Pair", ("Duck Feather & Down", "Hollowfibre", "Wool"), 25, 120,
          "for back, side and front sleepers",
          support=("soft", "medium", "firm"),
          titles=("{adj} {material} {noun}", "{maker} {noun}, {support_t}"),
          variants=Axis("size", ("Standard", "King"), (1.0, 1.3))),
        K("Mattress Topper", ("Duck Feather & Down", "Hollowfibre", "Wool"), 60, 260,
          "for adding a deep, soft layer to a firm mattress", thickness_mm=(50, 70, 100)),
        K("All-Seasons Duvet", ("Duck Feather & Down", "Hollowfibre"), 90, 360,
          "for two duvets that button together: light for summer, warm for winter", tog=("4.5 + 9",)),
     ),
        adjectives=("Hotel", "Cloud-Soft", "Classic", "Breathable", "Luxury"),
        makers=("Slumberhaus", "Pillow & Peak", "Featherdown", "Woolroom & Co."),
        attributes=("fill", "tog", "support", "cover"),
        choices={"cover": ("100% cotton cover", "cotton percale cover")},
        material_choices={"Duck Feather & Down": {"fill": ("duck feather and down",)},
                          "Hollowfibre": {"fill": ("hypoallergenic hollowfibre",)},
                          "Wool": {"fill": ("British wool",)}},
        care={"Wool": "Air it outside on a dry day; spot clean only."},
        notes=("Comes with a 30-night sleep trial.",),
        titles=("{adj} {material} {noun}", "{maker} {material} {noun}", "{material} {noun}"),
        variants=SIZES_BED, weight=2),
    Leaf("Towels", "TWL", "Bath towels, hand towels and bath mats that stay soft wash after wash.", (
        K("Bath Towel", ("Turkish Cotton", "Organic Cotton", "Waffle Cotton", "Linen"), 14, 45,
          "for a soft, absorbent wrap after a bath", dimensions_cm=("70 x 130", "75 x 140")),
        K("Hand Towel", ("Turkish Cotton", "Organic Cotton", "Waffle Cotton", "Linen"), 8, 22,
          "for basins and guest bathrooms", dimensions_cm=("50 x 90",)),
        K("Bath Sheet", ("Turkish Cotton", "Organic Cotton"), 22, 60,
          "for wrapping up completely after a shower",
          dimensions_cm=("100 x 150",)),
        K("Towel Bale", ("Turkish Cotton", "Organic Cotton"), 45, 120,
          "for refreshing a bathroom in one go: two hand towels, two bath towels and two bath sheets",
          set_of=(6,)),
        K("Bath Mat", ("Turkish Cotton", "Organic Cotton"), 14, 40,
          "for a warm, absorbent step out of the shower",
          dimensions_cm=("50 x 80", "60 x 90")),
        K("Beach Towel", ("Turkish Cotton", "Linen"), 22, 55, "for the beach, the pool and the park",
          dimensions_cm=("90 x 170", "100 x 180")),
     ),
        adjectives=("Plush", "Striped", "Ribbed", "Quick-Dry", "Hotel", "Classic"),
        makers=("Hammam House", "Loomhouse", "Salt & Steam", "Northern Mill"),
        colours=SOFT,
        attributes=("material", "colour", "gsm", "dimensions_cm"),
        material_choices={"Turkish Cotton": {"gsm": (550, 600, 700)}, "Organic Cotton": {"gsm": (500, 600)},
                          "Waffle Cotton": {"gsm": (280, 320)}, "Linen": {"gsm": (220, 260)}},
        notes=("Wash before first use to bring out the softness.",),
        variants=Axis("colour", SOFT), weight=2),
    Leaf("Bath Accessories", "BTH", "Soap dishes, bath caddies, robes and laundry baskets.", (
        K("Soap Dish", ("Marble", "Stoneware", "Terrazzo"), 8, 22,
          "for keeping a bar of soap dry by the basin"),
        K("Toothbrush Holder", ("Marble", "Stoneware", "Terrazzo"), 9, 22, "for a tidy bathroom shelf"),
        K("Bath Caddy", ("Bamboo", "Oak", "Brass"), 25, 75,
          "for a book, a candle and a glass across the bath",
          dimensions_cm=("70 x 22", "80 x 23")),
        K("Laundry Basket", ("Seagrass", "Rattan", "Jute"), 30, 85, "for a bedroom or bathroom corner",
          capacity_l=(45, 60, 80)),
        K("Bath Robe", ("Waffle Cotton", "Turkish Cotton", "Linen"), 40, 110,
          "for slow mornings and spa evenings",
          variants=SIZES_FIT),
        K("Shower Curtain", ("Linen", "Cotton"), 25, 60, "for a softer-looking bathroom",
          dimensions_cm=("180 x 180", "180 x 200")),
     ),
        adjectives=("Minimal", "Ribbed", "Classic", "Fluted", "Spa"),
        makers=("Salt & Steam", "Hammam House", "Kiln & Co.", "Oakhurst Home"),
        colours=SOFT,
        attributes=("material", "colour", "dimensions_cm"),
        care={"Stoneware": "Wipe clean; dishwasher safe.", "Marble": "Wipe clean and dry; marble is porous."},
        notes=("Designed to sit happily alongside the rest of our bathroom range.",),
        weight=2),
))

GARDEN = Department("Garden", "Pots, tools and outdoor living for gardens, balconies and windowsills.",
                    ("#e8f0df", "#5e8a4a"), (
    Leaf("Planters & Pots", "PLT", "Indoor pots and outdoor planters in terracotta, fibreclay and more.", (
        K("Plant Pot", ("Terracotta", "Stoneware", "Fibreclay"), 8, 45, "for houseplants and herbs",
          diameter_cm=(12, 15, 18, 24, 30)),
        K("Hanging Planter", ("Stoneware", "Terracotta", "Rattan"), 14, 38, "for trailing plants by a window",
          diameter_cm=(15, 18, 20)),
        K("Window Box", ("Galvanised Steel", "Fibreclay", "Cedar"), 22, 60, "for herbs and bedding plants",
          dimensions_cm=("60 x 20 x 18", "80 x 20 x 20")),
        K("Plant Stand", ("Oak", "Powder-Coated Steel", "Rattan"), 25, 80,
          "for lifting a plant into the light",
          height_cm=(30, 45, 60)),
        K("Trough Planter", ("Galvanised Steel", "Fibreclay", "Terracotta"), 35, 140,
          "for grasses, lavender and patio displays", dimensions_cm=("80 x 30 x 30", "100 x 40 x 40")),
     ),
        adjectives=("Classic", "Ribbed", "Footed", "Long Tom", "Bell", "Minimal"),
        makers=("Potting Shed Co.", "Greenhouse & Co.", "Fern & Field", "Kiln & Co."),
        colours=EARTHY,
        attributes=("material", "colour", "diameter_cm", "drainage_hole", "frost_resistant"),
        material_choices={"Terracotta": {"drainage_hole": (True,)}, "Fibreclay": {"drainage_hole": (True,)},
                          "Galvanised Steel": {"drainage_hole": (True,)}, "Cedar": {"drainage_hole": (True,)},
                          "Stoneware": {"drainage_hole": (True, False)},
                          "Rattan": {"drainage_hole": (False,)}},
        notes=("Pair it with a saucer to protect floors and sills.",),
        variants=SIZES_SML, weight=3),
    Leaf("Garden Tools", "GTL", "Trowels, secateurs and watering cans for a lifetime of gardening.", (
        K("Hand Trowel", ("Stainless Steel", "Carbon Steel"), 12, 35, "for planting bulbs and seedlings",
          handle=("ash", "oak"), length_cm=(30, 32),
          titles=("{adj} {material} {noun} with {handle_t} Handle", "{maker} {noun}")),
        K("Pruning Secateurs", ("Carbon Steel", "Stainless Steel"), 18, 65,
          "for clean cuts on roses and shrubs",
          blade=("bypass", "anvil"), titles=("{adj} {blade_t} {noun}", "{maker} {blade_t} {noun}")),
        K("Border Fork", ("Stainless Steel", "Carbon Steel"), 30, 75, "for turning soil in tight borders",
          handle=("ash", "oak"), length_cm=(95, 100)),
        K("Watering Can", ("Galvanised Steel", "Copper", "Recycled Plastic"), 18, 85,
          "for watering pots, seedlings and houseplants", capacity_l=(1.5, 5, 9)),
        K("Gardening Gloves", ("Leather", "Cotton"), 12, 32, "for pruning, weeding and handling thorny stems",
          variants=SIZES_FIT, plural=True),
        K("Hori Hori Knife", ("Stainless Steel", "Carbon Steel"), 25, 45, "for weeding, dividing and digging",
          handle=("ash", "walnut"), blade=("serrated",)),
        K("Garden Kneeler", ("Recycled Plastic", "Waxed Canvas"), 14, 40,
          "for kneeling comfortably at the border"),
     ),
        adjectives=("Heritage", "Professional", "Lightweight", "Classic", "Forged"),
        makers=("Burgon & Ball", "Hedgerow Tools", "Sneeboer & Co.", "Potting Shed Co."),
        attributes=("material", "handle", "blade", "length_cm", "capacity_l", "guarantee_years"),
        choices={"guarantee_years": (2, 5, 10)},
        care={"Carbon Steel": "Wipe clean and oil the blade before storing.",
              "Stainless Steel": "Rinse, dry and store somewhere dry.", "Leather": "Let them dry naturally."},
        notes=("Endorsed by the Royal Horticultural Society.",),
        weight=2),
    Leaf("Outdoor Living", "OUT", "Lanterns, fire pits, hammocks and cushions for long evenings outside.", (
        K("Solar Lantern", ("Powder-Coated Steel", "Rattan", "Recycled Glass"), 18, 55,
          "for a warm glow on the patio without a plug", height_cm=(25, 35, 45), lumens=(40, 80, 120)),
        K("Outdoor Cushion", "Recycled Polyester", 22, 55, "for garden chairs and benches",
          dimensions_cm=("45 x 45", "50 x 50")),
        K("Fire Pit", ("Powder-Coated Steel", "Cast Iron"), 95, 320, "for evenings around the fire",
          diameter_cm=(60, 75, 90)),
        K("Hammock", ("Cotton", "Recycled Polyester"), 45, 140, "for lazy afternoons between two trees",
          max_load_kg=(150, 200)),
        K("Bistro Set", ("Powder-Coated Steel", "Acacia"), 140, 420, "for morning coffee on a balcony",
          seats=("2",), assembly=("partly assembled",)),
        K("Outdoor Rug", "Recycled Plastic", 35, 160, "for a patio, deck or balcony",
          size=("120 x 180 cm", "180 x 270 cm")),
     ),
        adjectives=("Weatherproof", "Folding", "Riviera", "Classic", "Woven"),
        makers=("Alfresco & Co.", "Garden Room", "Fern & Field", "Lumen Lane"),
        colours=BRIGHT,
        attributes=("material", "colour", "dimensions_cm", "weatherproof"),
        choices={"weatherproof": (True,)},
        care={"Recycled Polyester": "Showerproof; remove the cover and wash at 30°C."},
        notes=("Store it under cover in winter to keep it looking its best.",),
        weight=2),
    Leaf("Bird & Wildlife", "BRD", "Feeders, nest boxes and bee hotels for a wildlife-friendly garden.", (
        K("Bird Feeder", ("Galvanised Steel", "Oak", "Recycled Plastic"), 12, 45,
          "for seed and sunflower hearts",
          suitable_for=("blue tits and great tits", "finches and sparrows", "small garden birds"),
          mounting=(HANG, "pole-mounted")),
        K("Nest Box", ("Cedar", "Oak"), 18, 48, "for giving nesting birds a safe home",
          suitable_for=("blue tits, with a 25 mm hole", "robins, with an open front", "sparrows"),
          mounting=("wall-mounted", "tree-mounted")),
        K("Bee Hotel", ("Cedar", "Bamboo"), 15, 40, "for solitary bees to nest and overwinter",
          suitable_for=("mason bees and leafcutter bees",), mounting=("wall-mounted",)),
        K("Bird Bath", ("Stoneware", "Cast Iron", "Galvanised Steel"), 28, 90,
          "for fresh water for birds to drink and bathe", suitable_for=("all garden birds",),
          mounting=("free-standing", HANG)),
        K("Hedgehog House", ("Cedar", "Oak"), 35, 75, "for a dry, safe place to hibernate",
          suitable_for=("hedgehogs",), mounting=("free-standing",)),
     ),
        adjectives=("Wildlife-Friendly", "Classic", "Squirrel-Proof", "Rustic", "Nordic"),
        makers=("Wild Acre", "Hedgerow & Co.", "Nestwell", "Garden Room"),
        attributes=("material", "suitable_for", "mounting", "dimensions_cm"),
        care={"Cedar": "Clean out in autumn once the birds have flown."},
        notes=("Part of every sale goes to local wildlife trusts.",),
        weight=1),
))

STATIONERY = Department("Stationery", "Notebooks, pens and desk things for writing by hand.",
                        ("#fbf1d9", "#c59a2e"), (
    Leaf("Notebooks & Journals", "NTB", "Notebooks, journals and planners with paper that loves ink.", (
        K("Notebook", ("Linen", "Recycled Paper", "Leather", "Canvas"), 8, 28, "for notes, lists and ideas",
          size=("A5", "A6", "B5"), pages=(144, 192, 240),
          titles=("{adj} {material} {size} {noun}", "{maker} {size} {noun}, {colour}")),
        K("Pocket Notebook", ("Recycled Paper", "Leather", "Canvas"), 5, 18, "for notes on the go",
          size=("A6", "pocket"), pages=(64, 96)),
        K("Journal", ("Linen", "Leather"), 16, 45, "for daily writing, gratitude lists and memories",
          size=("A5",), pages=(192, 240, 256)),
        K("Sketchbook", ("Linen", "Recycled Paper", "Canvas"), 12, 32, "for pencil, ink and watercolour",
          size=("A5", "A4"), pages=(80, 96), paper_gsm=(150, 180)),
        K("Weekly Planner", ("Linen", "Recycled Paper"), 14, 32, "for planning the year a week at a time",
          size=("A5",), pages=(128, 160)),
     ),
        adjectives=("Lay-Flat", "Classic", "Softcover", "Hardback", "Cloth-Bound", "Minimal"),
        makers=("Paper Moon Press", "Inkwell & Co.", "Hesketh Paper", "Quire", "Dotted Line"),
        colours=SOFT,
        attributes=("size", "pages", "paper_gsm", "ruling", "binding", "material", "colour"),
        choices={"paper_gsm": (80, 100, 120), "ruling": ("plain", "lined", "dot grid", "squared"),
                 "binding": ("lay-flat thread-sewn", "stitched", "wire-bound")},
        care={"Linen": "The cloth cover wipes clean.",
              "Leather": "The leather cover softens and darkens with use.",
              "Recycled Paper": "Made with FSC-certified recycled paper.",
              "Canvas": "The canvas cover wipes clean."},
        notes=("Ivory paper takes fountain pen ink without feathering.",
               "Has a ribbon marker and an expanding pocket at the back."),
        variants=Axis("ruling", ("Plain", "Lined", "Dot Grid")), weight=3),
    Leaf("Pens & Pencils", "PEN", "Fountain pens, pencils and fineliners for writing and drawing.", (
        K("Fountain Pen", ("Brass", "Aluminium", "Resin"), 24, 120, "for everyday writing with real ink",
          nib=("extra fine", "fine", "medium", "broad"), ink_colour=("blue-black", "black", "blue"),
          refillable=(True,), variants=Axis("colour", ("Black", "Navy", "Forest Green", "Burgundy"))),
        K("Rollerball Pen", ("Brass", "Aluminium"), 14, 55, "for smooth, quick notes",
          ink_colour=("black", "blue"), refillable=(True,),
          variants=Axis("colour", ("Black", "Navy", "Forest Green", "Burgundy"))),
        K("Mechanical Pencil", ("Brass", "Aluminium"), 12, 45, "for drawing, drafting and crosswords",
          lead_mm=(0.5, 0.7)),
        K("Graphite Pencils", "Cedar", 6, 18, "for sketching and writing", set_of=(6, 12),
          titles=("{adj} {noun}, Set of {set_of}", "{maker} {noun}, Set of {set_of}"), plural=True),
        K("Coloured Pencils", "Cedar", 9, 38, "for drawing, colouring and botanical illustration",
          set_of=(12, 24, 36), titles=("{adj} {noun}, Tin of {set_of}", "{maker} {noun}, Set of {set_of}"),
          plural=True),
        K("Fineliner Set", "Recycled Plastic", 8, 24, "for journaling, lettering and line drawing",
          set_of=(5, 10), colour=None, titles=("{adj} {noun} of {set_of}", "{maker} {noun}")),
     ),
        adjectives=("Classic", "Pocket", "Heirloom", "Everyday", "Precision", "Artist's"),
        makers=("Inkwell & Co.", "Quire", "Lamy & Lowe", "Cedarline", "Dotted Line"),
        colours=("Black", "Navy", "Forest Green", "Burgundy", "Sand"),
        material_choices={"Brass": {"colour": ("Raw Brass", "Black", "Navy")}},
        attributes=("material", "colour", "nib", "ink_colour", "refillable"),
        care={"Cedar": "Pre-sharpened and made from sustainably grown cedar.",
              "Brass": "The brass body develops a warm patina as you use it.",
              "Recycled Plastic": "Water-based, archival pigment ink."},
        notes=("Arrives in a gift box with a spare refill.", "A pen to keep for years, not to throw away."),
        weight=2),
    Leaf("Desk Accessories", "DSK", "Desk organisers, pen pots and trays for a calmer workspace.", (
        K("Desk Organiser", ("Oak", "Walnut", "Cork"), 22, 75, "for pens, notes and a phone in one place",
          dimensions_cm=("30 x 12 x 10", "40 x 15 x 10")),
        K("Pen Pot", ("Stoneware", "Oak", "Marble"), 9, 26, "for pens and pencils on the desk",
          height_cm=(10, 12)),
        K("Letter Tray", ("Oak", "Powder-Coated Steel", "Cork"), 18, 55, "for post, papers and notebooks",
          dimensions_cm=("33 x 25 x 6", "35 x 26 x 12")),
        K("Desk Mat", ("Felt", "Leather", "Cork"), 18, 75, "for a soft, quiet writing surface",
          dimensions_cm=("60 x 30", "80 x 40", "90 x 45")),
        K("Bookends", ("Brass", "Marble", "Oak"), 22, 60, "for keeping books upright on a shelf or desk",
          set_of=(2,), titles=("{adj} {material} {noun}, Pair",), plural=True),
        K("Monitor Stand", ("Oak", "Walnut", "Bamboo"), 45, 120, "for lifting a screen to eye level",
          dimensions_cm=("55 x 22 x 10", "60 x 25 x 12"), max_load_kg=(15, 20)),
     ),
        adjectives=("Minimal", "Modular", "Classic", "Geometric", "Studio"),
        makers=("Quire", "Oakhurst Home", "Cedarline", "Framework Studio"),
        colours=EARTHY,
        attributes=("material", "colour", "dimensions_cm"),
        care={"Felt": "Brush off dust; spot clean only."},
        notes=("Looks just as good on a bookshelf as on a desk.",),
        weight=2),
    Leaf("Cards & Gift Wrap", "CRD", "Greeting cards, wrapping paper and gift tags.", (
        K("Birthday Card", ("Recycled Paper", "Cotton Paper"), 3, 5, "for someone special's birthday",
          occasion=("a birthday",), titles=("{design} {noun}", "{design} {noun} by {maker}")),
        K("Thank You Card", ("Recycled Paper", "Cotton Paper"), 3, 5, "for saying thank you properly",
          occasion=("saying thank you",), titles=("{design} {noun}",)),
        K("Wedding Card", ("Cotton Paper",), 3, 6, "for congratulating the happy couple",
          occasion=("a wedding",), titles=("{design} {noun}",)),
        K("New Baby Card", ("Recycled Paper", "Cotton Paper"), 3, 5, "for welcoming a new arrival",
          occasion=("a new baby",), titles=("{design} {noun}",)),
        K("Notecard Set", ("Recycled Paper", "Cotton Paper"), 8, 16, "for short letters and thank-you notes",
          occasion=("any occasion",), set_of=(8, 10), titles=("{design} {noun} of {set_of}",)),
        K("Wrapping Paper", ("Recycled Paper", "Kraft Paper"), 4, 10, "for wrapping presents beautifully",
          occasion=("any occasion",), length_cm=(300, 500), size=None, blank_inside=None,
          titles=("{design} {noun}", "{design} {noun}, 3 Sheets")),
        K("Gift Tags", ("Kraft Paper", "Recycled Paper"), 3, 7, "for finishing a wrapped present",
          set_of=(10, 12), occasion=("any occasion",), titles=("{design} {noun}, Pack of {set_of}",),
          plural=True),
     ),
        adjectives=("Letterpress", "Foiled", "Illustrated", "Classic"),
        makers=("Paper Moon Press", "Hesketh Paper", "Inkwell & Co.", "Two Sparrows"),
        attributes=("occasion", "material", "size", "blank_inside", "set_of"),
        choices={"size": ("A6", "5 x 7 in", "15 cm square"), "blank_inside": (True,)},
        extras={"design": ("Wild Poppies", "Letterpress Hello", "Botanical Fern", "Little Fox", "Lemon Grove",
                           "Confetti", "Sweet Pea", "Golden Stars", "Seaside Stripes", "Hedgerow Berries",
                           "Paper Cranes", "Meadow Bee", "Olive Sprig", "Night Garden")},
        intros=("Our {design} {noun_l} {is} printed on {material_desc}, {use}.",
                "{design} is a {adj_l} design by {maker}, printed on {material_desc}, {use}."),
        notes=("Sent with a kraft envelope and no plastic sleeve.",),
        weight=2),
))

TOYS = Department("Toys & Games", "Wooden toys, games and puzzles for all ages.", ("#fde8e4", "#d0654f"), (
    Leaf("Wooden Toys", "WTY", "Heirloom wooden toys finished with child-safe paints.", (
        K("Rainbow Stacker", ("Beech", "Birch Plywood"), 18, 45, "for stacking, sorting and open-ended play",
          age_range=("12 months+", "18 months+"), pieces=(6, 7, 12)),
        K("Push-Along Duck", "Beech", 18, 32, "for first steps and wobbly walks", age_range=("12 months+",)),
        K("Building Blocks", ("Beech", "Maple"), 20, 55, "for towers, houses and imaginative play",
          age_range=("18 months+",), pieces=(30, 50, 100), titles=("{adj} {noun}, Set of {pieces}",),
          plural=True),
        K("Shape Sorter", ("Beech", "Birch Plywood"), 14, 30, "for learning shapes and colours",
          age_range=("12 months+",), pieces=(8, 12)),
        K("Train Set", ("Beech", "Birch Plywood"), 28, 95, "for building tracks across the playroom floor",
          age_range=("3 years+",), pieces=(24, 40, 60),
          titles=("{adj} {pieces}-Piece {noun}", "{maker} {noun}")),
        K("Balance Board", ("Birch Plywood",), 45, 95, "for climbing, rocking and active play",
          age_range=("18 months+", "3 years+"), max_load_kg=(100, 150)),
        K("Play Kitchen Set", ("Beech", "Birch Plywood"), 24, 60, "for pretend cooking and tea parties",
          age_range=("3 years+",), pieces=(12, 18)),
     ),
        adjectives=("Pastel", "Bright", "Natural", "Classic", "Heirloom"),
        makers=("Little Acorn", "Tinker & Twig", "Woodland Workshop", "Grimm's & Co."),
        attributes=("age_range", "material", "pieces", "finish"),
        choices={"finish": ("water-based paint", "natural oil", "beeswax polish")},
        care={"Beech": "Wipe clean with a damp cloth; finished with child-safe, water-based paint.",
              "Maple": "Wipe clean with a damp cloth.",
              "Birch Plywood": "Wipe clean with a damp cloth; finished with child-safe lacquer."},
        notes=("Tested to EN71 toy safety standards.", "Made to be passed down to younger siblings."),
        titles=("{adj} Wooden {noun}", "{maker} {noun}", "{adj} {noun}"),
        weight=2),
    Leaf("Board Games", "BGM", "Family games, strategy games and card games for game night.", (
        K("Cooperative Board Game", "Recycled Card", 24, 45,
          "in which everyone works together against the game",
          players=("2–4", "1–5"), play_time_min=(30, 45, 60), age_range=("8+", "10+")),
        K("Strategy Game", "Recycled Card", 30, 65,
          "in which players trade, build and plan several moves ahead",
          players=("2–4", "2–5"), play_time_min=(60, 90, 120), age_range=("12+", "14+")),
        K("Family Card Game", "Recycled Card", 9, 18, "in which quick hands and quicker thinking win",
          players=("2–6", "3–8"), play_time_min=(15, 20), age_range=("6+", "8+")),
        K("Word Game", "Recycled Card", 14, 28, "in which players race to make words from shared letters",
          players=("2–6",), play_time_min=(20, 30), age_range=("8+", "10+")),
        K("Party Game", "Recycled Card", 14, 30, "in which teams draw, guess and bluff their way to victory",
          players=("4–10", "3–12"), play_time_min=(20, 30, 45), age_range=("12+", "14+")),
        K("Dice Game", "Recycled Card", 9, 20, "in which lucky rolls and clever choices both count",
          players=("1–4", "2–6"), play_time_min=(15, 25), age_range=("8+",)),
     ),
        adjectives=("Family", "Classic", "Award-Winning", "Pocket"),
        makers=("Meeple Lane", "Lanternlight Games", "Oxbow Games", "Two Rivers Play"),
        attributes=("players", "play_time_min", "age_range"),
        extras={"name_a": ("Lantern", "Fox", "Copper", "Meadow", "Orchard", "Tidal", "Starlit", "Pebble",
                           "Hollow", "Island", "Railway", "Bramble", "Otter", "Beacon", "Summit", "Saffron",
                           "Clocktower"),
                "name_b": ("Harbour", "Run", "Market", "Trail", "Keepers", "Quest", "Gardens", "Express",
                           "Crossing",
                           "Hunt", "Tower", "Valley", "Bazaar", "Voyage", "Heist", "Festival")},
        titles=("{name_a} {name_b}: {noun}", "{name_a} {name_b} – {noun}"),
        intros=("{name_a} {name_b} is a {noun_l} for {players} players {use}.",
                "From {maker}, {name_a} {name_b} is a {noun_l} {use}."),
        care={"Recycled Card": "Printed on recycled board with vegetable inks, in a plastic-free box."},
        notes=("Easy to learn in ten minutes and different every time you play.",
               "The rules fit on a single sheet, with a quick-start guide for the first game."),
        weight=2),
    Leaf("Jigsaw Puzzles", "PZL", "Jigsaw puzzles with illustrated scenes, from 24 to 1,500 pieces.", (
        K("1000-Piece Jigsaw Puzzle", "Recycled Card", 18, 28, "for a slow afternoon at the kitchen table",
          pieces=(1000,), finished_size_cm=("68 x 49",), age_range=("12+",)),
        K("500-Piece Jigsaw Puzzle", "Recycled Card", 14, 22, "for a quiet evening's puzzling",
          pieces=(500,), finished_size_cm=("49 x 36",), age_range=("10+",)),
        K("1500-Piece Jigsaw Puzzle", "Recycled Card", 22, 34, "for a long weekend project",
          pieces=(1500,), finished_size_cm=("84 x 59",), age_range=("12+",)),
        K("Children's Floor Puzzle", "Recycled Card", 12, 22, "for little hands and big pieces",
          pieces=(24, 48), finished_size_cm=("60 x 45", "70 x 50"), age_range=("3+", "4+")),
     ),
        adjectives=("Illustrated", "Classic"),
        makers=("Piecework", "Jiggle & Co.", "Hesketh Puzzles", "Wentworth Press"),
        attributes=("pieces", "finished_size_cm", "age_range"),
        extras={"scene": ("Cornish Harbour at Dusk", "The Botanist's Library", "Lighthouse Keepers",
                          "Seaside Beach Huts",
                          "A Year in the Garden", "Night Sky over the Fells", "The Village Bakery",
                          "Foxes in the Snow",
                          "Lemon Grove", "Market Day in Lyon", "Tropical Greenhouse", "Alpine Lake",
                          "The Reading Room",
                          "Autumn Woodland", "Venice by Night", "Wildflower Meadow")},
        titles=("{scene} {noun}", "{maker} {scene} {noun}"),
        intros=("“{scene}” is a {pieces}-piece jigsaw puzzle {use}.",
                "{maker_s} {pieces}-piece puzzle “{scene}” is illustrated in rich detail, {use}."),
        care={"Recycled Card": "Thick, snug-fitting pieces are cut from recycled board and printed with "
                               "vegetable inks."},
        notes=("A poster of the picture is included in the box.",),
        weight=2),
    Leaf("Soft Toys", "SFT", "Soft toys in organic cotton and knitted wool, safe from birth.", (
        K("Bunny", ("Organic Cotton", "Merino Wool", "Recycled Polyester"), 14, 38,
          "for cuddles and bedtime stories",
          height_cm=(20, 30, 40)),
        K("Teddy Bear", ("Organic Cotton", "Merino Wool", "Recycled Polyester"), 18, 45,
          "for a first best friend", height_cm=(25, 35)),
        K("Fox", ("Organic Cotton", "Felt", "Recycled Polyester"), 14, 32, "for imaginative play",
          height_cm=(20, 28)),
        K("Elephant", ("Organic Cotton", "Merino Wool"), 16, 38, "for cuddles and naps",
          height_cm=(18, 25, 30)),
        K("Whale", ("Organic Cotton", "Recycled Polyester"), 14, 30, "for bath-time stories and snuggles",
          height_cm=(15, 25)),
        K("Comforter", ("Organic Cotton", "Merino Wool"), 12, 28, "for little ones to hold at bedtime",
          age_range=("from birth",), titles=("{adj} {material} Bunny {noun}", "{maker} {noun}")),
     ),
        adjectives=("Knitted", "Cuddly", "Sleepy", "Little", "Classic", "Floppy-Eared"),
        makers=("Little Acorn", "Wool & Whimsy", "Hushaby", "Tinker & Twig"),
        colours=("Oatmeal", "Dove Grey", "Blush Pink", "Sage Green", "Mustard", "Rust"),
        attributes=("material", "colour", "height_cm", "age_range", "machine_washable"),
        choices={"age_range": ("from birth", "6 months+")},
        material_choices={"Organic Cotton": {"machine_washable": (True,)}, "Recycled Polyester":
                          {"machine_washable": (True,)}, "Merino Wool": {"machine_washable": (False,)},
                          "Felt": {"machine_washable": (False,)}},
        care={"Organic Cotton": "Machine washable at 30°C in a laundry bag.",
              "Recycled Polyester": "Machine washable at 30°C in a laundry bag.",
              "Merino Wool": "Hand wash cool and dry flat.", "Felt": "Surface wash only."},
        notes=("Embroidered eyes, so it is safe from birth.",),
        titles=("{adj} {material} {noun}", "{adj} {noun} in {colour}", "{maker} {adj} {noun}"),
        weight=2),
))

FASHION = Department("Fashion Accessories", "Bags, scarves, jewellery and leather goods.",
                     ("#f1e4e1", "#9c5a50"), (
    Leaf("Bags", "BAG", "Totes, crossbody bags and backpacks in leather and canvas.", (
        K("Tote Bag", ("Canvas", "Leather", "Waxed Canvas"), 18, 165,
          "for work, the market and everything between",
          volume_l=(12, 16, 20), closure=("magnetic snap", "zip", "open top")),
        K("Crossbody Bag", ("Leather", "Waxed Canvas", "Cork Leather"), 45, 190,
          "for hands-free days out with the essentials", volume_l=(2, 3, 4),
          closure=("zip", "magnetic snap", "buckle")),
        K("Backpack", ("Waxed Canvas", "Canvas", "Leather"), 55, 240, "for the commute and weekend walks",
          volume_l=(16, 20, 24), closure=("zip", "drawstring and buckle"), laptop_sleeve=(True, False)),
        K("Weekender Bag", ("Waxed Canvas", "Leather"), 85, 320, "for short breaks and overnight trips",
          volume_l=(35, 40, 45), closure=("zip",)),
        K("Bucket Bag", ("Leather", "Cork Leather"), 55, 180, "for everyday essentials with a relaxed shape",
          volume_l=(6, 8), closure=("drawstring",)),
        K("Market Basket", ("Seagrass", "Jute"), 24, 60, "for farmers' markets and beach days",
          volume_l=(20, 25), closure=("open top",)),
     ),
        adjectives=("Everyday", "Classic", "Slouchy", "Structured", "Utility", "Roll-Top"),
        makers=("Harlow & Hide", "Tanner Lane", "Millbrook Leather", "Field & Form", "Marlow & Finch"),
        colours=("Black", "Tan", "Chestnut", "Olive", "Navy", "Natural", "Oxblood"),
        attributes=("material", "colour", "volume_l", "closure", "laptop_sleeve"),
        care={"Canvas": "Spot clean with a damp cloth; do not machine wash.",
              "Seagrass": "Reshape gently if it gets squashed; keep dry."},
        notes=("Has an inside zip pocket for keys and cards.",),
        variants=Axis("colour", ("Black", "Tan", "Chestnut", "Olive", "Navy")), weight=2),
    Leaf("Scarves & Hats", "SCF", "Scarves, beanies and gloves in soft natural fibres.", (
        K("Scarf", ("Merino Wool", "Cashmere", "Lambswool", "Linen"), 25, 180,
          "for cold mornings and windy walks",
          dimensions_cm=("180 x 30", "200 x 70")),
        K("Beanie", ("Merino Wool", "Cashmere", "Lambswool"), 18, 95, "for keeping warm on winter walks",
          variants=Axis("colour", ("Oatmeal", "Charcoal", "Navy", "Forest Green", "Mustard"))),
        K("Bucket Hat", ("Canvas", "Linen", "Waxed Canvas"), 22, 55, "for sunny days and summer showers",
          variants=SIZES_FIT),
        K("Gloves", ("Leather", "Merino Wool", "Cashmere"), 25, 110, "for cold hands on frosty mornings",
          variants=SIZES_FIT, plural=True),
        K("Snood", ("Merino Wool", "Lambswool"), 18, 45, "for a scarf that never comes undone"),
     ),
        adjectives=("Ribbed", "Chunky", "Fisherman", "Herringbone", "Checked", "Fine-Knit"),
        makers=("Highland Knitwear", "Bramble & Bolt", "Northern Mill", "Field & Form"),
        colours=("Oatmeal", "Charcoal", "Navy", "Forest Green", "Mustard", "Camel", "Rust", "Heather Grey"),
        attributes=("material", "colour", "dimensions_cm", "pattern"),
        choices={"pattern": ("plain", "ribbed", "herringbone", "checked", "striped")},
        care={"Canvas": "Spot clean with a damp cloth.", "Linen": "Hand wash cool.",
              "Leather": "Wipe clean and let dry naturally."},
        notes=("Knitted in Scotland by a mill that has been spinning yarn since 1870.",),
        variants=Axis("colour", ("Oatmeal", "Charcoal", "Navy", "Forest Green", "Mustard", "Camel")),
        weight=2),
    Leaf("Jewellery", "JWL", "Necklaces, earrings and rings in recycled silver and gold vermeil.", (
        K("Pendant Necklace", ("Sterling Silver", "Gold Vermeil"), 35, 180, "for everyday wear and layering",
          chain_length_cm=(40, 45, 50),
          variants=Axis("chain length", ("40 cm", "45 cm", "50 cm"), (1.0, 1.05, 1.1))),
        K("Hoop Earrings", ("Sterling Silver", "Gold Vermeil"), 28, 120, "for an everyday finishing touch",
          diameter_cm=(1.2, 2, 3), plural=True),
        K("Stud Earrings", ("Sterling Silver", "Gold Vermeil"), 22, 95, "for everyday wear", plural=True),
        K("Signet Ring", ("Sterling Silver", "Gold Vermeil"), 45, 160, "for wearing every day or stacking",
          variants=Axis("ring size", ("J", "L", "N", "P"))),
        K("Bangle", ("Sterling Silver", "Gold Vermeil", "Brass"), 30, 140, "for stacking with other bangles"),
        K("Charm Bracelet", ("Sterling Silver", "Gold Vermeil"), 35, 150, "for adding charms over the years",
          length_cm=(17, 19)),
     ),
        adjectives=("Hammered", "Minimal", "Twisted", "Organic", "Dainty", "Molten"),
        makers=("Aurum & Ash", "Silver Thread", "Tidewell Studio", "Lune Jewellery"),
        attributes=("material", "stone", "chain_length_cm", "hypoallergenic"),
        choices={"stone": (None, None, "freshwater pearl", "moonstone", "garnet", "labradorite", "peridot"),
                 "hypoallergenic": (True,)},
        care={"Brass": "Brass may tarnish; polish with a soft cloth to bring back the shine."},
        notes=("Each piece is hallmarked and arrives in a recycled gift box.",),
        titles=("{adj} {material} {noun}", "{stone_t} {material} {noun}", "{maker} {adj} {noun}"),
        weight=2),
    Leaf("Wallets & Small Leather Goods", "WLT", "Card holders, wallets and key rings built to age well.", (
        K("Card Holder", ("Leather", "Cork Leather", "Waxed Canvas"), 18, 55, "for a slim pocket",
          card_slots=(4, 6)),
        K("Bifold Wallet", ("Leather", "Cork Leather"), 35, 95, "for cards, notes and receipts",
          card_slots=(6, 8, 10)),
        K("Coin Purse", ("Leather", "Cork Leather"), 15, 40, "for loose change and small treasures",
          rfid_blocking=None),
        K("Key Ring", ("Leather", "Brass"), 9, 28, "for keeping keys together and easy to find",
          rfid_blocking=None),
        K("Passport Cover", ("Leather", "Cork Leather"), 22, 55, "for travel documents and boarding passes"),
        K("Glasses Case", ("Leather", "Felt", "Cork Leather"), 15, 45, "for keeping glasses safe in a bag",
          rfid_blocking=None),
     ),
        adjectives=("Slim", "Classic", "Stitched", "Minimal", "Everyday"),
        makers=("Harlow & Hide", "Tanner Lane", "Millbrook Leather", "Field & Form"),
        colours=("Black", "Tan", "Chestnut", "Olive", "Navy", "Oxblood"),
        attributes=("material", "colour", "card_slots", "rfid_blocking"),
        choices={"rfid_blocking": (True, False)},
        care={"Brass": "The brass hardware develops a warm patina.",
              "Felt": "Brush off dust; spot clean only."},
        notes=("Hand-stitched with waxed linen thread.",),
        variants=Axis("colour", ("Black", "Tan", "Chestnut", "Navy")), weight=2),
))

OUTDOOR = Department("Outdoor & Sport", "Camping kit, yoga mats, cycling gear and bottles for active days.",
                     ("#e2eeec", "#3f7f78"), (
    Leaf("Camping", "CMP", "Tents, sleeping bags and camp kitchen kit.", (
        K("Tent", ("Ripstop Nylon", "Canvas"), 120, 650, "for wild camping and festival weekends",
          sleeps=(2, 3, 4), season_rating=("3-season", "4-season"), packed_weight_g=(1600, 2400, 3200),
          titles=("{adj} {sleeps}-Person {noun}", "{maker} {sleeps}-Person {noun}")),
        K("Sleeping Bag", ("Ripstop Nylon", "Recycled Polyester"), 60, 280, "for warm nights under canvas",
          season_rating=("2-season", "3-season", "4-season"), packed_weight_g=(900, 1200, 1600),
          waterproof=None),
        K("Camping Stove", ("Stainless Steel", "Titanium"), 30, 120, "for coffee and one-pot meals at camp",
          packed_weight_g=(80, 180, 350)),
        K("Camping Lantern", ("Aluminium", "Recycled Plastic"), 18, 60, "for light around the tent",
          lumens=(150, 300, 500), rechargeable=(True,)),
        K("Folding Camp Chair", ("Ripstop Nylon", "Canvas"), 35, 120, "for sitting round the campfire",
          max_load_kg=(120, 145), packed_weight_g=(1000, 2200)),
        K("Camp Cook Set", ("Titanium", "Stainless Steel", "Aluminium"), 28, 95,
          "for cooking for two outdoors",
          set_of=(3, 5)),
        K("Picnic Blanket", ("Wool", "Recycled Polyester"), 30, 85,
          "for picnics, beaches and festival fields",
          dimensions_cm=("140 x 180", "150 x 200"), waterproof=(True,)),
     ),
        adjectives=("Ultralight", "Trail", "Expedition", "Compact", "Basecamp"),
        makers=("Ridgeway Outdoor", "Summit & Co.", "Wildfell", "Bothy Gear", "Northbound"),
        attributes=("material", "sleeps", "season_rating", "packed_weight_g", "waterproof"),
        material_choices={"Ripstop Nylon": {"waterproof": (True,)}, "Canvas": {"waterproof": (True,)}},
        care={"Canvas": "Pitch and dry fully before packing away.", "Wool": "Shake out and air; spot clean."},
        notes=("Tested on the fells of the Lake District.",),
        weight=2),
    Leaf("Yoga & Fitness", "YGA", "Yoga mats, blocks and home-workout kit.", (
        K("Yoga Mat", ("Natural Rubber", "Cork"), 35, 110,
          "for a grippy, cushioned practice at home or in class",
          thickness_mm=(3, 4, 5, 6), dimensions_cm=("183 x 61", "185 x 68"), non_slip=(True,)),
        K("Yoga Block", ("Cork", "Recycled Plastic"), 9, 24, "for support and alignment in standing poses",
          dimensions_cm=("23 x 15 x 7.5",), set_of=(1, 2)),
        K("Yoga Strap", ("Cotton", "Organic Cotton"), 8, 16, "for deepening stretches safely",
          length_cm=(240, 300)),
        K("Meditation Cushion", ("Organic Cotton", "Linen"), 28, 65, "for sitting comfortably in meditation",
          fill=("buckwheat hulls", "kapok")),
        K("Kettlebell", ("Cast Iron",), 22, 75, "for swings, squats and full-body strength",
          weight_kg=(4, 8, 12, 16)),
        K("Resistance Bands", ("Natural Rubber", "Organic Cotton"), 12, 35,
          "for strength and mobility at home",
          set_of=(3, 5), titles=("{adj} {noun}, Set of {set_of}",), plural=True),
        K("Skipping Rope", ("Leather", "Oak"), 12, 35, "for quick, effective cardio", length_cm=(270, 300)),
     ),
        adjectives=("Grippy", "Eco", "Studio", "Travel", "Pro", "Everyday"),
        makers=("Stillwater Yoga", "Lotus & Loom", "Kinetic Supply", "Flow Studio"),
        colours=("Sage Green", "Sand", "Charcoal", "Dusk Blue", "Clay", "Plum"),
        attributes=("material", "colour", "thickness_mm", "dimensions_cm", "non_slip"),
        care={"Cast Iron": "Wipe dry after use; the powder-coat finish protects against rust.",
              "Leather": "Wipe clean.", "Oak": "Wipe clean."},
        notes=("Free from PVC and toxic glues.",),
        variants=Axis("colour", ("Sage Green", "Sand", "Charcoal", "Dusk Blue", "Clay")), weight=2),
    Leaf("Cycling", "CYC", "Helmets, lights, locks and bags for city and country rides.", (
        K("Cycle Helmet", ("Recycled Plastic",), 45, 140, "for safer commutes and weekend rides",
          weight_g=(280, 320, 360), variants=SIZES_FIT),
        K("Bike Light Set", ("Aluminium", "Recycled Plastic"), 18, 65, "for seeing and being seen after dark",
          lumens=(200, 400, 800), rechargeable=(True,),
          titles=("{adj} {lumens}-Lumen {noun}", "{maker} {noun}")),
        K("Pannier Bag", ("Waxed Canvas", "Ripstop Nylon"), 45, 140,
          "for carrying shopping and a laptop by bike",
          volume_l=(15, 20, 25), waterproof=(True, False)),
        K("D-Lock", ("Stainless Steel", "Carbon Steel"), 28, 85, "for locking up in town",
          weight_g=(900, 1300)),
        K("Saddle Bag", ("Waxed Canvas", "Leather"), 25, 75, "for a spare tube, tyre levers and snacks",
          volume_l=(1, 2)),
        K("Bottle Cage", ("Aluminium", "Titanium", "Stainless Steel"), 9, 40,
          "for keeping water within reach",
          weight_g=(30, 45, 60)),
     ),
        adjectives=("Commuter", "Urban", "Lightweight", "Reflective", "Classic", "Touring"),
        makers=("Spokesmith", "Cadence & Co.", "Tandem Supply", "Northbound"),
        colours=("Matte Black", "Racing Green", "Navy", "Mustard", "White", "Burnt Orange"),
        attributes=("material", "colour", "weight_g", "lumens", "waterproof"),
        care={"Recycled Plastic": "Replace after any crash, even if it looks fine.",
              "Carbon Steel": "Oil the mechanism once a season.",
              "Stainless Steel": "Wipe clean; it will not rust.",
              "Titanium": "Wipe clean; it will not rust.", "Aluminium": "Wipe clean with a damp cloth."},
        notes=("Tested to the relevant British and European safety standards.",),
        weight=2),
    Leaf("Bottles & Flasks", "BTL", "Insulated bottles, flasks and reusable cups.", (
        K("Insulated Water Bottle", ("Stainless Steel",), 18, 42,
          "for cold water on walks, runs and desk days",
          capacity_ml=(500, 750, 1000), hours_cold=(24,), hours_hot=(12,)),
        K("Vacuum Flask", ("Stainless Steel",), 22, 55, "for hot tea on cold days out",
          capacity_ml=(500, 750, 1000),
          hours_hot=(12, 18, 24), hours_cold=(24, 36)),
        K("Glass Water Bottle", ("Glass",), 14, 28, "for water at your desk, with a protective sleeve",
          capacity_ml=(500, 650)),
        K("Food Flask", ("Stainless Steel",), 20, 45, "for hot soup or porridge at lunchtime",
          capacity_ml=(400, 500, 700), hours_hot=(6, 8)),
        K("Insulated Coffee Cup", ("Stainless Steel", "Bamboo"), 16, 32,
          "for takeaway coffee without the waste",
          capacity_ml=(340, 450), hours_hot=(3, 4)),
        K("Collapsible Bottle", ("Silicone",), 12, 22, "for travel, hiking and gym bags",
          capacity_ml=(500, 600)),
     ),
        adjectives=("Insulated", "Leakproof", "Slim", "Everyday", "Trail", "Wide-Mouth"),
        makers=("Brightwater", "Tidewell", "Ridgeway Outdoor", "Refill & Co."),
        colours=("Sage Green", "Stone", "Charcoal", "Ocean Blue", "Coral", "Mustard", "Brushed Steel"),
        attributes=("capacity_ml", "material", "colour", "hours_hot", "hours_cold", "leakproof",
                    "dishwasher_safe"),
        choices={"leakproof": (True,)},
        care={"Stainless Steel": "Wash by hand: the dishwasher can damage the vacuum seal.",
              "Bamboo": "Wash by hand; the lid is dishwasher safe."},
        material_choices={"Stainless Steel": {"dishwasher_safe": (False,)},
                          "Bamboo": {"dishwasher_safe": (False,)}},
        notes=("BPA free and plastic free where it touches your drink.",),
        variants=Axis("colour", ("Sage Green", "Stone", "Charcoal", "Ocean Blue", "Coral")), weight=2),
))

DEPARTMENTS: tuple[Department, ...] = (KITCHEN, HOME_DECOR, FURNITURE, BEDDING, GARDEN, STATIONERY, TOYS,
                                       FASHION, OUTDOOR)

# Two materials above are only used by a couple of kinds; give them entries so lookups never fail.
MATERIALS.setdefault("Olive Wood", Material("hand-carved olive wood", "Wash by hand and oil now and then.",
                                             1.3, False))
MATERIALS.setdefault("Maple", Material("solid maple", "Wipe clean with a damp cloth.", 1.0, False))


def leaves() -> list[tuple[Department, Leaf]]:
    return [(dept, leaf) for dept in DEPARTMENTS for leaf in dept.leaves]


# =====================================================================================================
# Generation (pure Python)
# =====================================================================================================


@dataclass
class VariantDraft:
    sku: str
    options: dict
    price: Decimal | None
    stock: int


@dataclass
class ProductDraft:
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


_FORMATTER = string.Formatter()
_TEMPLATE_FIELDS: dict[str, tuple[str, ...]] = {}
KEEP_CASE = {"Dutch", "Turkish", "Egyptian", "A4", "A5", "A6", "B5", "D-Lock", "LED", "Berber-Style", "USB-C"}
# Materials that are their own colour: no "in sage green" for oak, brass, jute or terracotta (a category can
# still offer colours for one of them through ``material_choices={"Brass": {"colour": (...)}}``).
SELF_COLOURED = {"Oak", "Walnut", "Ash", "Beech", "Birch Plywood", "Acacia", "Mango Wood", "Bamboo", "Cedar",
                 "Cork",
                 "Rattan", "Seagrass", "Jute", "Brass", "Copper", "Marble", "Terrazzo", "Galvanised Steel",
                 "Cast Iron", "Carbon Steel", "Olive Wood", "Maple", "Sterling Silver", "Gold Vermeil",
                 "Titanium",
                 "Terracotta", "Glass", "Tin", "Aluminium", "Kraft Paper", "Beeswax"}


def _fields(template: str) -> tuple[str, ...]:
    if template not in _TEMPLATE_FIELDS:
        _TEMPLATE_FIELDS[template] = tuple(name for _, name, _, _ in _FORMATTER.parse(template) if name)
    return _TEMPLATE_FIELDS[template]


def _lower(phrase: str) -> str:
    return " ".join(w if w in KEEP_CASE else w.lower() for w in phrase.split(" "))


def _article(phrase: str) -> str:
    return "An" if phrase[:1].lower() in "aeiou" else "A"


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
    if "colour" in kind.attrs:
        return kind.attrs["colour"] or ()
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
    for source in (kind.attrs, leaf.material_choices.get(material, {}), leaf.choices):
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
    return template(value) if callable(template) else template.format(v=value)


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
    return " ".join(sentences[:4])


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
        for key in leaf.attributes + tuple(k for k in kind.attrs if k not in leaf.attributes):
            value = _attribute(key, rng, leaf, kind, material, colour)
            if value is not None:
                attributes[key] = value
        if "pattern" in attributes and _lower(adj) in leaf.choices.get("pattern", ()):
            attributes["pattern"] = _lower(adj)  # a "Herringbone Scarf" is herringbone
        extras = {name: rng.choice(values) for name, values in leaf.extras.items()}

        ctx = {
            "adj": adj, "adj_l": _lower(adj), "material": material, "material_desc": MATERIALS[material].desc,
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
        title = template.format(**ctx)
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
                           variants)


# =====================================================================================================
# Seeding (database)
# =====================================================================================================

DEMO_COLLECTION = "Demo catalogue"
DEMO_EMAIL_DOMAIN = "demo.example.com"
DEMO_PASSWORD = "vitrine-demo"
MERCHANDISERS = "Merchandisers"
BATCH_SIZE = 2000

Progress = Callable[..., Iterable]  # tqdm-like: progress(iterable, total=…, desc=…, unit=…)


def _no_progress(iterable, **kwargs):
    return iterable


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def _mix(a, b, t):
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def _font(size: int, bold: bool = False):
    from PIL import ImageFont

    names = ("DejaVuSerif-Bold.ttf", "DejaVuSans-Bold.ttf") if bold else ("DejaVuSerif.ttf", "DejaVuSans.ttf")
    for name in names + ("LiberationSans-Regular.ttf",):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _wrap(draw, text: str, font, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + [line]


@functools.lru_cache(maxsize=64)  # the same picture again (after --reset, in tests) costs nothing
def placeholder_picture(title: str, subtitle: str, palette: tuple[str, str], *, variant: int = 0,
                        size: tuple[int, int] = (800, 800)) -> bytes:
    """A soft diagonal gradient in the department's colours with the category name set on it (JPEG bytes)."""
    from PIL import Image, ImageDraw, ImageFilter

    width, height = size
    light, deep = _hex(palette[0]), _hex(palette[1])
    deep = _mix(deep, light, (variant % 4) * 0.12)
    # A diagonal gradient: rotate an oversized one and keep its middle, so no corner is left unfilled
    # (computed at an eighth of the size: it is smooth, so upscaling loses nothing).
    small_w, small_h = max(1, width // 8), max(1, height // 8)
    side = 2 * max(small_w, small_h)
    gradient = Image.linear_gradient("L").resize((side, side), Image.Resampling.BILINEAR)
    gradient = gradient.rotate(35 + (variant % 3) * 20, resample=Image.Resampling.BILINEAR)
    left, top = (side - small_w) // 2, (side - small_h) // 2
    gradient = gradient.crop((left, top, left + small_w, top + small_h))
    gradient = gradient.resize(size, Image.Resampling.BICUBIC)
    picture = Image.composite(Image.new("RGB", size, deep), Image.new("RGB", size, light), gradient)

    glow = Image.new("L", (small_w, small_h), 0)
    shape = ImageDraw.Draw(glow)
    r = int(min(small_w, small_h) * (0.32 + 0.04 * (variant % 3)))
    cx, cy = int(small_w * (0.68 - 0.05 * (variant % 4))), int(small_h * 0.34)
    shape.ellipse((cx - r, cy - r, cx + r, cy + r), fill=110)
    glow = glow.filter(ImageFilter.GaussianBlur(min(small_w, small_h) / 12))
    glow = glow.resize(size, Image.Resampling.BICUBIC)
    picture = Image.composite(Image.new("RGB", size, (255, 255, 255)), picture, glow)

    draw = ImageDraw.Draw(picture)
    ink = _mix(deep, (20, 20, 20), 0.65)
    big, small = _font(max(28, height // 11), bold=True), _font(max(14, height // 30))
    lines = _wrap(draw, title, big, int(width * 0.8))
    line_height = int(big.size * 1.2)
    top = int(height * 0.62) - (len(lines) - 1) * line_height // 2
    draw.text((width * 0.1, top - small.size * 2), subtitle.upper(), font=small, fill=ink)
    for i, line in enumerate(lines):
        draw.text((width * 0.1, top + i * line_height), line, font=big, fill=ink)
    draw.line((width * 0.1, height * 0.9, width * 0.3, height * 0.9), fill=ink, width=max(2, height // 200))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=86, optimize=True)
    return out.getvalue()


def _demo_collection():
    from wagtail.models import Collection

    root = Collection.get_first_root_node()
    existing = root.get_children().filter(name=DEMO_COLLECTION).first()
    return existing or root.add_child(name=DEMO_COLLECTION)


def new_picture(title: str, data: bytes, filename: str, collection, size: tuple[int, int] = (800, 800)):
    """An unsaved Wagtail Image whose file is already in storage (for ``bulk_create``)."""
    from django.core.files.base import ContentFile
    from wagtail.images.models import Image

    image = Image(title=title, collection=collection, file_size=len(data),
                  file_hash=hashlib.sha1(data).hexdigest())
    image.file.save(filename, ContentFile(data), save=False)
    image.width, image.height = size  # after the file: assigning it resets the dimension fields
    return image


def seed_categories() -> dict[str, object]:
    """Departments and their leaf categories, each with a placeholder picture. Returns ``{name: Category}``.

    A category that already exists (same name under the same parent) is updated, not duplicated. New ones are
    written with ``bulk_create`` and indexed in bulk: a save per category would index each one on its own.
    """
    from wagtail.images.models import Image

    from commerce.catalogue.importer import add_to_search_index
    from commerce.catalogue.models import Category
    from commerce.catalogue.services import forget_navigation

    collection = _demo_collection()
    existing = {(c.parent_id, c.name): c for c in Category.objects.all()}
    slugs = SlugAllocator(Category.objects.values_list("slug", flat=True), max_length=140)
    by_name: dict[str, Category] = {}

    def level(specs: list[tuple[str, object, str, int, tuple]]) -> list[Category]:
        categories, pictures = [], []
        for name, parent, blurb, order, picture in specs:
            category = existing.get((parent.pk if parent else None, name))
            if category is None:
                category = Category(name=name, parent=parent, slug=slugs(name))
            category.description, category.sort_order = blurb, order
            if category.image_id is None:
                data = placeholder_picture(*picture[:3], variant=picture[3])
                pictures.append((category, new_picture(name, data, f"demo-{slugify(name)}.jpg", collection)))
            categories.append(category)
        Image.objects.bulk_create([image for _, image in pictures])
        add_to_search_index(Image, [image for _, image in pictures])
        for category, image in pictures:
            category.image = image
        known = [c for c in categories if c.pk is not None]
        Category.objects.bulk_create([c for c in categories if c.pk is None])
        for category in known:
            category.save()
        add_to_search_index(Category, categories)
        by_name.update((c.name, c) for c in categories)
        return categories

    departments = level([(d.name, None, d.blurb, i, (d.name, "Vitrine", d.palette, i))
                         for i, d in enumerate(DEPARTMENTS)])
    level([(leaf.name, parent, leaf.blurb, j, (leaf.name, dept.name, dept.palette, j + 1))
           for dept, parent in zip(DEPARTMENTS, departments, strict=True) for j,
           leaf in enumerate(dept.leaves)])
    forget_navigation()
    return by_name


class SlugAllocator:
    """Unique slugs without a query per product: ``base``, ``base-2``, ``base-3``… against taken ones."""

    def __init__(self, taken: Iterable[str] = (), max_length: int = 220):
        self.taken = set(taken)
        self.max_length = max_length

    def __call__(self, text: str) -> str:
        base = slugify(text)[: self.max_length - 8].strip("-") or "item"
        slug, n = base, 1
        while slug in self.taken:
            n += 1
            slug = f"{base}-{n}"
        self.taken.add(slug)
        return slug


def _spread_created_at(products: list, rng: random.Random) -> None:
    """Back-date products over the last 18 months so "newest first" means something (one UPDATE per batch)."""
    from django.db import connection

    from commerce.catalogue.models import Product

    ids = [p.pk for p in products]
    minutes = [rng.randint(0, 540 * 24 * 60) for _ in products]
    table = Product._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS p SET created_at = p.created_at - make_interval(mins => v.m), "
            f"updated_at = p.created_at - make_interval(mins => v.m) "
            f"FROM unnest(%s::bigint[], %s::int[]) AS v(id, m) WHERE p.id = v.id",
            [ids, minutes],
        )


def seed_products(count: int, seed: int, categories: dict, *, batch_size: int = BATCH_SIZE,
                  progress: Progress = _no_progress) -> tuple[int, int, int]:
    """Create ``count`` products and their variants with ``bulk_create``.

    Returns (first pk, last pk, number of variants).
    """
    from django.conf import settings

    from commerce.catalogue.models import Product, ProductVariant

    currency = settings.VITRINE_CURRENCY
    slugs = SlugAllocator(Product.objects.values_list("slug", flat=True))
    date_rng = random.Random(f"{seed}-dates")
    first_pk = last_pk = None
    n_variants = 0
    drafts = generate_products(count, seed)
    bar = progress(range(0, count, batch_size), total=-(-count // batch_size), desc="Products", unit="batch")
    for start in bar:
        batch = [next(drafts) for _ in range(min(batch_size, count - start))]
        products = []
        for d in batch:
            category = categories[d.category]
            products.append(Product(
                title=d.title, slug=slugs(d.title), description=d.description, category=category,
                attributes=d.attributes, base_price=d.base_price, price=d.base_price, currency=currency,
                image_id=category.image_id, stock=d.stock, active=d.active,
            ))
        Product.objects.bulk_create(products)
        _spread_created_at(products, date_rng)
        variants = [
            ProductVariant(product_id=p.pk, sku=v.sku, options=v.options, price=v.price, stock=v.stock,
                           sort_order=i)
            for d, p in zip(batch, products, strict=True) for i, v in enumerate(d.variants)
        ]
        ProductVariant.objects.bulk_create(variants, batch_size=batch_size)
        n_variants += len(variants)
        first_pk = products[0].pk if first_pk is None else first_pk
        last_pk = products[-1].pk
    return first_pk, last_pk, n_variants


def index_products(first_pk: int, last_pk: int, *, batch_size: int = BATCH_SIZE,
                   progress: Progress = _no_progress) -> int:
    """Add products ``first_pk..last_pk`` to every auto-updated Wagtail search backend, a batch at a time."""
    from wagtail.search.backends import get_search_backends

    from commerce.catalogue.models import Product

    backends = list(get_search_backends(with_auto_update=True))
    queryset = Product.objects.filter(pk__gte=first_pk, pk__lte=last_pk).order_by("pk").only(
        "pk", "title", "description")
    total = queryset.count()
    done = 0
    bar = progress(range(0, total, batch_size), total=-(-total // batch_size), desc="Search index",
                   unit="batch")
    cursor_pk = first_pk - 1
    for _ in bar:
        batch = list(queryset.filter(pk__gt=cursor_pk)[:batch_size])
        if not batch:
            break
        for backend in backends:
            backend.add_bulk(Product, batch)
        cursor_pk = batch[-1].pk
        done += len(batch)
    return done


# --- pages -------------------------------------------------------------------------------------------


def _pick(rng: random.Random, queryset, n: int) -> list:
    pool = list(queryset.filter(active=True, stock__gt=0).order_by("pk")[:400])
    return rng.sample(pool, min(n, len(pool)))


def _grid(rng, title: str, categories: list[str], n: int = 8, max_price: Decimal | None = None):
    from commerce.catalogue.models import Product

    queryset = Product.objects.filter(category__name__in=categories)
    if max_price is not None:
        queryset = queryset.filter(price__lte=max_price)
    products = _pick(rng, queryset, n) or _pick(rng, Product.objects.all(), n)
    return ("product_grid", {"title": title, "products": products}) if products else None


def _priced(rng, title: str, n: int):
    from commerce.catalogue.models import Product

    products = _pick(rng, Product.objects.all(), n)
    return ("priced_products", {"title": title, "products": products}) if products else None


def _para(html: str):
    from wagtail.rich_text import RichText

    return ("paragraph", RichText(html))


def _money(amount: int) -> str:
    from django.conf import settings

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
    from commerce.catalogue.models import Category

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
    from home.models import ContentPage, HomePage

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
    from wagtail.images.models import Image

    existing = Image.objects.filter(collection__name=DEMO_COLLECTION, title="Home hero").first()
    if existing:
        return existing
    data = placeholder_picture("Slow mornings, well made", "Vitrine", KITCHEN.palette, variant=2,
                               size=(1600, 640))
    image = new_picture("Home hero", data, "demo-home-hero.jpg", _demo_collection(), size=(1600, 640))
    image.save()
    return image


# --- people ------------------------------------------------------------------------------------------

FIRST_NAMES = ("Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Freya", "Arthur", "Grace", "Leo", "Ivy",
               "Oscar", "Florence", "Harry", "Poppy", "Theo", "Rosie", "Jack", "Evie", "Alfie", "Maya",
               "Finley",
               "Priya", "Kwame", "Chloe", "Samir", "Hannah", "Tomasz", "Niamh", "Rhys", "Aisha", "Callum",
               "Ruby",
               "Mohammed", "Imogen", "Ewan", "Zara", "Owen", "Lucia", "Dylan")
LAST_NAMES = ("Hughes", "Patel", "Murray", "Clarke", "Evans", "Okafor", "Wright", "Campbell", "Taylor",
              "Khan",
              "Robertson", "Walsh", "Thompson", "Nowak", "Morgan", "Davies", "Ahmed", "Fraser", "Bennett",
              "O'Neill",
              "Shaw", "Lewis", "Begum", "Price", "Reid", "Hall", "Chen", "Fletcher", "Kaur", "Doyle")
STREETS = ("High Street", "Church Road", "Victoria Road", "Mill Lane", "Park Avenue", "Station Road",
           "Queen's Road",
           "Orchard Close", "The Crescent", "Meadow Way", "King Street", "Green Lane", "Chapel Street",
           "Hill Rise")
CITIES = (("Bristol", ("BS1", "BS3", "BS6", "BS7", "BS8")), ("Leeds", ("LS1", "LS6", "LS7", "LS8")),
          ("Manchester", ("M1", "M4", "M14", "M20")), ("Edinburgh", ("EH1", "EH3", "EH6", "EH9")),
          ("Bath", ("BA1", "BA2")), ("Brighton", ("BN1", "BN2", "BN3")),
          ("Cardiff", ("CF10", "CF11", "CF24")),
          ("Norwich", ("NR1", "NR2", "NR3")), ("York", ("YO1", "YO10", "YO31")),
          ("Glasgow", ("G1", "G3", "G12")),
          ("Oxford", ("OX1", "OX2", "OX4")), ("London", ("E8", "N16", "SE15", "SW4", "NW5")),
          ("Belfast", ("BT1", "BT7", "BT9")), ("Sheffield", ("S1", "S7", "S11")))
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def seed_customers(count: int, seed: int) -> int:
    """``count`` demo shoppers (email as username, password "vitrine-demo"), each with a default address."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from commerce.customers.models import Address, Customer

    User = get_user_model()
    rng = random.Random(f"{seed}-customers")
    password = make_password(DEMO_PASSWORD)  # hashed once: the same password for every demo shopper
    created = 0
    names = [(f, l) for f in FIRST_NAMES for l in LAST_NAMES]  # noqa: E741
    for first, last in rng.sample(names, count):
        local = slugify(f"{first}.{last}").replace("-", "")
        email = f"{first.lower()}.{local[len(first):]}@{DEMO_EMAIL_DOMAIN}"
        user, made = User.objects.get_or_create(username=email, defaults={
            "email": email, "first_name": first, "last_name": last, "password": password})
        customer, _ = Customer.objects.get_or_create(
            user=user, defaults={"accepts_marketing": rng.random() < 0.4})
        if made:
            created += 1
        city, prefixes = rng.choice(CITIES)
        postcode = f"{rng.choice(prefixes)} {rng.randint(1, 9)}{rng.choice(POSTCODE_LETTERS)}" \
                   f"{rng.choice(POSTCODE_LETTERS)}"
        if not customer.addresses.exists():
            Address.objects.create(
                customer=customer, full_name=f"{first} {last}",
                line1=f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
                line2=f"Flat {rng.randint(1, 12)}" if rng.random() < 0.2 else "",
                city=city, postcode=postcode, country="GB", is_default=True,
            )
    return created


@dataclass
class StaffAccount:
    username: str
    password: str | None  # None: the account already existed and its password was left alone
    created: bool


def ensure_admin(password: str | None, *, reset: bool = False) -> StaffAccount:
    """The superuser "admin", created with ``password`` (or a generated one) when missing. An existing
    one keeps its password, unless ``reset``: then it gets that password and is an active superuser again."""
    import secrets

    from django.contrib.auth import get_user_model

    User = get_user_model()
    user = User.objects.filter(username="admin").first()
    if user is not None and not reset:
        return StaffAccount("admin", None, False)
    password = password or secrets.token_urlsafe(12)
    if user is not None:
        user.set_password(password)
        user.is_active = user.is_staff = user.is_superuser = True
        user.save()
        return StaffAccount("admin", password, False)
    User.objects.create_superuser("admin", "admin@example.com", password, first_name="Vitrine",
                                  last_name="Admin")
    return StaffAccount("admin", password, True)


def ensure_merchandiser(password: str | None, *, reset: bool = False) -> StaffAccount:
    """A "merchandiser" in the Merchandisers group: Wagtail admin, pages, products and categories. Created
    with ``password`` (or a generated one) when missing; an existing one keeps its password unless ``reset``."""
    import secrets

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission

    from home.models import HomePage

    group, _ = Group.objects.get_or_create(name=MERCHANDISERS)
    perms = Permission.objects.filter(
        content_type__app_label="wagtailadmin", codename="access_admin"
    ) | Permission.objects.filter(
        content_type__app_label="catalogue",
        codename__in=["add_product", "change_product", "view_product", "add_category", "change_category",
                      "view_category"],
    )
    group.permissions.add(*perms)
    # The storefront's AI admin by app label (commerce never imports ai): pricing rules and approvals,
    # the recommendation health panel, the search report, the Storefront AI dashboard and experiments.
    group.permissions.add(*Permission.objects.filter(codename__in=[
        "view_pricingrule", "add_pricingrule", "change_pricingrule", "view_pricechange", "approve_pricechange",
        "view_recommendationmodel", "view_searchquery", "view_dashboard",
        "view_experiment", "add_experiment", "change_experiment", "manage_experiment",
    ], content_type__app_label__in=["pricing", "recommendations", "search", "dashboard", "experiments"]))
    home = HomePage.objects.first()
    if home is not None:
        for codename in ("add_page", "change_page", "publish_page"):
            permission = Permission.objects.get(content_type__app_label="wagtailcore", codename=codename)
            GroupPagePermission.objects.get_or_create(group=group, page=home, permission=permission)
    root = Collection.get_first_root_node()
    for codename in ("add_image", "choose_image"):
        permission = Permission.objects.get(content_type__app_label="wagtailimages", codename=codename)
        GroupCollectionPermission.objects.get_or_create(group=group, collection=root, permission=permission)

    User = get_user_model()
    user = User.objects.filter(username="merchandiser").first()
    if user is not None:
        user.groups.add(group)
        if not reset:
            return StaffAccount("merchandiser", None, False)
        password = password or secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_active = True
        user.save()
        return StaffAccount("merchandiser", password, False)
    password = password or secrets.token_urlsafe(12)
    user = User.objects.create_user("merchandiser", "merchandiser@example.com", password, first_name="Morgan",
                                    last_name="Merchant")
    user.groups.add(group)
    return StaffAccount("merchandiser", password, True)


# The demo's staff accounts: username, the environment variable that chooses its password (else one is
# generated) and the function that makes it. seed_demo and demo_credentials both go through this list.
STAFF_ACCOUNTS = (
    ("admin", "VITRINE_ADMIN_PASSWORD", ensure_admin),
    ("merchandiser", "VITRINE_MERCHANDISER_PASSWORD", ensure_merchandiser),
)


def check_staff_passwords(*, reset: bool = False) -> None:
    """The passwords chosen in the environment that ``ensure_staff(reset=reset)`` would set (the account is
    missing, or ``reset``) against AUTH_PASSWORD_VALIDATORS: these accounts reach the admin. A CommandError
    lists each variable with what its validators say, before any account is touched."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.core.management.base import CommandError

    User = get_user_model()
    problems = []
    for username, variable, _ in STAFF_ACCOUNTS:
        password = os.environ.get(variable)
        user = User.objects.filter(username=username).first()
        if not password or (user is not None and not reset):
            continue
        try:
            validate_password(password, user or User(username=username, email=f"{username}@example.com"))
        except ValidationError as error:
            problems.append(f"{variable}: " + " ".join(error.messages))
    if problems:
        raise CommandError("Weak staff password chosen in the environment; choose a stronger one, or unset "
                           "the variable to have one generated.\n  " + "\n  ".join(problems))


def ensure_staff(*, reset: bool = False) -> list[StaffAccount]:
    """Every demo staff account, created where missing; with ``reset`` existing ones get a new password too.
    Chosen passwords must pass the password validators first (check_staff_passwords)."""
    check_staff_passwords(reset=reset)
    return [ensure(os.environ.get(variable), reset=reset) for _, variable, ensure in STAFF_ACCOUNTS]


def demo_shoppers():
    """The demo shoppers seed_customers makes (their email's domain says so), staff never included."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}", is_staff=False)


def reset_shopper_passwords() -> int:
    """Every demo shopper's password back to DEMO_PASSWORD (and the account active). Returns how many."""
    from django.contrib.auth.hashers import make_password

    return demo_shoppers().update(password=make_password(DEMO_PASSWORD), is_active=True)


# --- reset -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _bulk_deletion(model):
    """Delete many ``model`` rows without the two clean-ups Wagtail runs per object on ``post_delete``.

    Per object, Wagtail removes the row's reference-index records and its search-index entry: a savepoint
    and four queries each, minutes for 100,000 products. Instead: the reference index is cleaned in two
    queries afterwards, and the database search backend's entries go with the rows (the collector deletes
    them through the model's ``index_entries`` relation). Other search backends keep the per-object handler.
    """
    from django.contrib.contenttypes.models import ContentType
    from django.db.models.signals import post_delete
    from wagtail.models import ReferenceIndex
    from wagtail.search import signal_handlers as search_signals
    from wagtail.search.backends import get_search_backends
    from wagtail.signal_handlers import disable_reference_index_auto_update

    handler = getattr(search_signals, "post_delete_signal_handler", None)
    database_only = all(type(backend).__module__.startswith("modelsearch.backends.database")
                        for backend in get_search_backends(with_auto_update=True))
    muted = bool(handler and database_only and post_delete.disconnect(handler, sender=model))
    try:
        with disable_reference_index_auto_update():
            yield
        content_type = ContentType.objects.get_for_model(model)
        ReferenceIndex.objects.filter(base_content_type=content_type).delete()
        ReferenceIndex.objects.filter(to_content_type=content_type).delete()
    finally:
        if muted:
            post_delete.connect(handler, sender=model)


def reset_demo() -> dict[str, int]:
    """Delete every product and category, the demo pictures and the demo shoppers (staff accounts stay).

    Orders keep their lines (``LineItem.product`` is SET_NULL); carts lose their lines.
    """
    from wagtail.images.models import Image

    from commerce.catalogue.models import Category, Product

    deleted = {"products": Product.objects.count(), "categories": Category.objects.count()}
    with _bulk_deletion(Product):
        Product.objects.all().delete()
    Category.objects.update(parent=None)  # parent is PROTECT: flatten the tree, then delete it in one go
    Category.objects.all().delete()
    deleted["images"] = Image.objects.filter(collection__name=DEMO_COLLECTION).count()
    for image in Image.objects.filter(collection__name=DEMO_COLLECTION):
        image.delete()
    shoppers = demo_shoppers()
    deleted["customers"] = shoppers.count()
    shoppers.delete()
    return deleted
