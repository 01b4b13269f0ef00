"""The demo's vocabulary files (demo/data/): well-formed entries, and a loader that refuses broken ones."""

import json
import shutil
import string
from collections import Counter

import pytest

from demo.vocabulary import (
    DATA,
    DEPARTMENTS,
    FACTS,
    GENERIC_TITLES,
    MATERIALS,
    VocabularyError,
    leaves,
    load_departments,
    load_people,
    read_json,
)

# What generate_products fills in every title and intro, besides attributes (and their "_t" title case)
# and a category's extras.
CONTEXT_FIELDS = {"adj", "adj_l", "material", "material_desc", "noun", "noun_l", "maker", "use", "colour",
                  "colour_l", "place", "A_adj", "this", "is", "maker_s"}


def repeated(values) -> list:
    return [value for value, count in Counter(values).items() if count > 1]


def template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.fixture
def data_copy(tmp_path):
    """A copy of demo/data/ to break."""
    return shutil.copytree(DATA, tmp_path / "data")


def test_every_kind_has_a_positive_price_range_and_known_materials():
    # given every kind of product in the catalogue
    kinds = [kind for _, leaf in leaves() for kind in leaf.kinds]
    assert len(kinds) > 200
    for kind in kinds:
        # then its price range runs upwards from above zero, and it is made of materials materials.json knows
        low, high = kind.price
        assert 0 < low < high, kind.noun
        assert kind.materials and set(kind.materials) <= set(MATERIALS), kind.noun


def test_names_and_sku_codes_are_unique():
    # given the departments, their categories and the kinds they sell
    categories = [leaf for _, leaf in leaves()]
    # then no name is used twice: products are filed by category name and the search set finds kinds by noun
    assert repeated(department.name for department in DEPARTMENTS) == []
    assert repeated(leaf.name for leaf in categories) == []
    assert repeated(leaf.code for leaf in categories) == []
    assert repeated(kind.noun for leaf in categories for kind in leaf.kinds) == []


def test_per_material_entries_name_materials_the_category_sells():
    for _, leaf in leaves():
        # given the materials a category's kinds are made of
        sold = {material for kind in leaf.kinds for material in kind.materials}
        # then its per-material adjectives, choices and care lines are about those materials
        for table in (leaf.material_adjectives, leaf.material_choices, leaf.care):
            assert set(table) <= sold, (leaf.name, set(table) - sold)


def test_title_and_intro_templates_only_use_fields_the_generator_fills():
    for _, leaf in leaves():
        # given what a product of this category can have in its titles and intros
        attributes = set(leaf.attributes) | {key for kind in leaf.kinds for key in kind.choices}
        known = CONTEXT_FIELDS | attributes | {f"{key}_t" for key in attributes} | set(leaf.extras)
        templates = [*GENERIC_TITLES, *leaf.titles, *leaf.intros, *(t for kind in leaf.kinds for t in kind.titles)]
        for template in templates:
            # then no template names a field that would never be filled (it would silently never be used)
            assert template_fields(template) <= known, (leaf.name, template)


def test_facts_are_templates_yes_no_pairs_or_size_wordings():
    for key, fact in FACTS.items():
        # given how a description states each attribute
        if isinstance(fact, str):
            assert template_fields(fact) == {"v"}, key
        elif isinstance(fact, tuple):
            assert len(fact) == 2 and any(fact), key
        else:
            # then a size says which wording reads "measures …" and which "is … size"
            assert set(fact) == {"measured", "named"}, key


def test_there_are_enough_demo_shopper_names_for_the_most_shoppers_seed_demo_makes():
    # given the demo shoppers' names (seed_demo --customers allows up to 1000, each a distinct name)
    shoppers = load_people()["demo_shoppers"]
    # then no name repeats, and there are more first and last name pairs than shoppers
    assert repeated(shoppers.first_names) == [] and repeated(shoppers.last_names) == []
    assert len(shoppers.first_names) * len(shoppers.last_names) >= 1000
    assert all(districts for _, districts in shoppers.cities)


def test_a_key_given_twice_is_refused(tmp_path):
    # given a data file that gives a material twice
    path = tmp_path / "materials.json"
    path.write_text('{"Oak": {"desc": "oak", "care": "Oil it."}, "Oak": {"desc": "more oak", "care": "Oil it."}}')
    # when it is read, then it is refused rather than the second one silently winning
    with pytest.raises(VocabularyError, match="materials.json: Oak given more than once"):
        read_json(path)


def test_a_misspelt_field_is_refused_with_where_it_is(data_copy):
    # given a kind whose "plural" is misspelt
    path = data_copy / "departments" / "kitchen.json"
    department = json.loads(path.read_text(encoding="utf-8"))
    department["leaves"][0]["kinds"][0]["plurall"] = True
    path.write_text(json.dumps(department), encoding="utf-8")
    # when the departments are loaded, then the error names the file and the kind
    with pytest.raises(VocabularyError, match=r"kitchen\.json, 'Coffee & Tea', 'Pour-Over Coffee Dripper'.*plurall"):
        load_departments(data_copy)


def test_an_unknown_palette_or_variant_axis_is_refused(data_copy):
    # given a category naming a palette that catalogue.json does not define
    path = data_copy / "departments" / "kitchen.json"
    department = json.loads(path.read_text(encoding="utf-8"))
    department["leaves"][0]["colours"] = "neon"
    path.write_text(json.dumps(department), encoding="utf-8")
    # when the departments are loaded, then the palette is refused
    with pytest.raises(VocabularyError, match="no palette named 'neon'"):
        load_departments(data_copy)
    # and so is a variant axis nobody defined
    department["leaves"][0]["colours"] = "earthy"
    department["leaves"][0]["variants"] = "shoe sizes"
    path.write_text(json.dumps(department), encoding="utf-8")
    with pytest.raises(VocabularyError, match="no variant axis named 'shoe sizes'"):
        load_departments(data_copy)


def test_named_palettes_and_axes_are_shared_by_the_categories_that_name_them():
    # given the loaded categories
    by_name = {leaf.name: leaf for _, leaf in leaves()}
    palettes = read_json(DATA / "catalogue.json")["palettes"]
    # then "colours": "earthy" gave the category the earthy palette, and "variants": "bed sizes" the shared axis
    assert by_name["Coffee & Tea"].colours == tuple(palettes["earthy"])
    assert by_name["Bed Linen"].variants == by_name["Duvets & Pillows"].variants
    assert by_name["Bed Linen"].variants.options == ("Single", "Double", "King", "Super King")
