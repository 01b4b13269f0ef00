"""The demo catalogue's vocabulary, read from the JSON files in ``demo/data/``.

- ``materials.json``: each material's wording, care line, price factor and what it is safe for;
- ``catalogue.json``: the departments' files in shop order, colour palettes and shared variant axes, which
  a department file names instead of repeating them (``"colours": "earthy"``, ``"variants": "bed sizes"``);
- ``departments/*.json``: a department, its leaf categories and, per category, the kinds of product it
  sells (noun, materials, price range, what it is for, attribute choices), adjectives, makers, colours;
- ``wording.json``: title and description templates, the facts a description states, places, notes;
- ``people.json``: names and addresses for demo shoppers and simulated shoppers.

Lists become tuples, so the records can be shared and compared; a key given twice in a file is an error
rather than JSON's silent last-one-wins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

# How a description states an attribute's value: a template for "It …" ("holds {v} ml"), a (true, false)
# pair of phrases for a yes/no attribute, or {"measured": …, "named": …} for a size ("measures 160 x 230 cm",
# "is A5 size").
FactTemplate = str | tuple[str | None, str | None] | dict[str, str]


class VocabularyError(ValueError):
    """A data file that cannot be read as the demo's vocabulary."""


@dataclass(frozen=True)
class Material:
    desc: str  # how a sentence names it: "high-fired stoneware with a food-safe glaze"
    care: str  # one sentence
    factor: float = 1.0  # price multiplier against the kind's price range
    dishwasher_safe: bool | None = None
    microwave_safe: bool | None = None
    frost_resistant: bool | None = None
    induction_ready: bool | None = None


@dataclass(frozen=True)
class Axis:
    """How a product's variants differ: one option key, its values and (optionally) a price factor each."""

    name: str
    options: tuple[str, ...]
    factors: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Kind:
    """One kind of product a category sells.

    ``choices`` are attribute values to pick from, ahead of the category's; ``None`` means the attribute
    does not apply to this kind even if its category offers it.
    """

    noun: str
    materials: tuple[str, ...]
    price: tuple[float, float]  # low, high: the range before the material's factor
    use: str  # starts with "for …" (or "in which …" for games): completes a sentence about the product
    choices: dict[str, tuple | None] = field(default_factory=dict)
    titles: tuple[str, ...] = ()
    variants: Axis | None = None  # None: the category's axis
    plural: bool = False  # "Dinner Plates": "these … are", "Each one …"


@dataclass(frozen=True)
class Leaf:
    """A leaf category and the products it sells."""

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


@dataclass(frozen=True)
class Department:
    name: str
    blurb: str
    leaves: tuple[Leaf, ...]


@dataclass(frozen=True)
class People:
    """Who a group of demo people are and where they live."""

    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[tuple[str, tuple[str, ...] | str], ...]  # (city, its postcode districts or area)
    postcode_letters: str


def read_json(path: Path):
    """A data file's contents, refusing keys given twice."""

    def unique(pairs: list[tuple[str, object]]) -> dict:
        keys = [key for key, _ in pairs]
        if repeated := sorted({key for key in keys if keys.count(key) > 1}):
            raise VocabularyError(f"{path.name}: {', '.join(repeated)} given more than once")
        return dict(pairs)

    try:
        return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=unique)
    except json.JSONDecodeError as error:
        raise VocabularyError(f"{path.name}: {error}") from error


def _tuples(value):
    """JSON lists as tuples, all the way down."""
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    if isinstance(value, dict):
        return {key: _tuples(item) for key, item in value.items()}
    return value


def _record(cls, entry: dict, where: str, **resolved):
    """``cls`` from a data entry (its lists as tuples) with some fields already resolved."""
    try:
        return cls(**{**{key: _tuples(value) for key, value in entry.items()}, **resolved})
    except TypeError as error:  # a misspelt or missing field
        raise VocabularyError(f"{where}: {error}") from error


class _Shared:
    """What department files may name instead of spelling out: palettes and variant axes."""

    def __init__(self, palettes: dict[str, list[str]], axes: dict[str, dict]):
        self.palettes = {name: tuple(colours) for name, colours in palettes.items()}
        self.axes = {name: self.axis(axis, f"variant axis {name!r}") for name, axis in axes.items()}

    def colours(self, value: str | list[str], where: str) -> tuple[str, ...]:
        if not isinstance(value, str):
            return tuple(value)
        if value not in self.palettes:
            raise VocabularyError(f"{where}: no palette named {value!r}")
        return self.palettes[value]

    def axis(self, value: str | dict | None, where: str) -> Axis | None:
        if value is None:
            return None
        if isinstance(value, dict):
            return _record(Axis, value, where, options=self.colours(value["options"], where))
        if value not in self.axes:
            raise VocabularyError(f"{where}: no variant axis named {value!r}")
        return self.axes[value]


def _kind(entry: dict, shared: _Shared, where: str) -> Kind:
    where = f"{where}, {entry.get('noun')!r}"
    return _record(Kind, entry, where, variants=shared.axis(entry.get("variants"), where))


def _leaf(entry: dict, shared: _Shared, where: str) -> Leaf:
    where = f"{where}, {entry.get('name')!r}"
    return _record(Leaf, entry, where, kinds=tuple(_kind(kind, shared, where) for kind in entry.get("kinds", ())),
                   colours=shared.colours(entry.get("colours", []), where),
                   variants=shared.axis(entry.get("variants"), where))


def load_departments(directory: Path = DATA) -> tuple[Department, ...]:
    """The departments listed in ``catalogue.json``, in that order, from ``departments/<name>.json``."""
    catalogue = read_json(directory / "catalogue.json")
    shared = _Shared(catalogue["palettes"], catalogue["variant_axes"])
    departments = []
    for name in catalogue["departments"]:
        entry = read_json(directory / "departments" / f"{name}.json")
        where = f"departments/{name}.json"
        departments.append(_record(Department, entry, where,
                                   leaves=tuple(_leaf(leaf, shared, where) for leaf in entry.get("leaves", ()))))
    return tuple(departments)


def load_materials(directory: Path = DATA) -> dict[str, Material]:
    return {name: _record(Material, entry, f"materials.json, {name!r}")
            for name, entry in read_json(directory / "materials.json").items()}


def load_people(directory: Path = DATA) -> dict[str, People]:
    """``people.json``'s groups ("demo_shoppers", "simulated_shoppers") by name."""
    return {group: _record(People, entry, f"people.json, {group!r}", cities=tuple(_tuples(entry["cities"]).items()))
            for group, entry in read_json(directory / "people.json").items()}


DEPARTMENTS = load_departments()
MATERIALS = load_materials()

_WORDING = read_json(DATA / "wording.json")
GENERIC_TITLES: tuple[str, ...] = tuple(_WORDING["generic_titles"])
GENERIC_INTROS: tuple[str, ...] = tuple(_WORDING["generic_intros"])
FACTS: dict[str, FactTemplate] = _tuples(_WORDING["facts"])
PLACES: tuple[str, ...] = tuple(_WORDING["places"])
GENERAL_NOTES: tuple[str, ...] = tuple(_WORDING["general_notes"])
KEEP_CASE = frozenset(_WORDING["keep_case"])  # words that stay capitalised in running text: "Egyptian", "A5"
# Materials that are their own colour: no "in sage green" for oak, brass, jute or terracotta (a category can
# still offer colours for one of them through its material_choices, {"Brass": {"colour": [...]}}).
SELF_COLOURED = frozenset(_WORDING["self_coloured"])


def leaves() -> list[tuple[Department, Leaf]]:
    return [(department, leaf) for department in DEPARTMENTS for leaf in department.leaves]
