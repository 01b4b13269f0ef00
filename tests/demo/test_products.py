"""The generated catalogue reads like a shop's: no doubled words, colours that agree, articles that fit."""

import re

import pytest

from demo import products
from demo.products import HUES, generate_products
from demo.vocabulary import leaves

# Things a description may name in a colour that is not the product's: coffee, a bulb, the ink a pen writes in.
NOT_THE_PRODUCT = re.compile(r"flat white|warm-white (led )?bulb|\b[a-z-]+ ink\b")


@pytest.fixture(scope="module")
def catalogue():
    return [draft for seed in (42, 7) for draft in generate_products(2000, seed)]


def test_no_title_repeats_a_word_unless_its_kind_does(catalogue):
    # given titles such as a maker "Millbrook Leather" with the material "Leather" after it
    doubled = [d.title for d in catalogue if re.search(r"\b(\w+) \1\b", d.title.replace(d.kind, ""), re.I)]

    # then none says a word twice in a row (a kind's own name may: "Hori Hori Knife")
    assert doubled == []
    assert any("Hori Hori" in d.title for d in catalogue)


def test_a_coloured_product_description_names_no_other_colour(catalogue):
    # given products with a colour attribute ("blush pink") in a material worded with a colour
    # ("fine white porcelain")
    clashes = []
    for draft in catalogue:
        colour = draft.attributes.get("colour")
        if not colour:
            continue
        text = NOT_THE_PRODUCT.sub("", draft.description.lower())
        others = {word for word in re.findall(r"[a-z]+", text) if word in HUES} - set(colour.split())
        if others:
            clashes.append((colour, draft.description))

    # then the description names no colour but the product's own
    assert clashes == []
    assert any(d.material == "Porcelain" and d.attributes.get("colour") for d in catalogue)


def test_articles_agree_with_the_next_word(catalogue):
    texts = [d.description for d in catalogue]

    assert [t for t in texts if re.search(r"\b[Aa] [aeio]", t)] == []  # "a ash handle", "is a illustrated"
    assert [t for t in texts if re.search(r"\b[Aa]n (?!hour)[b-df-hj-np-tv-z]", t)] == []
    assert any(re.search(r"\ban ash\b", t) for t in texts)


def test_a_draft_names_the_kind_and_material_its_picture_is_drawn_from(catalogue):
    kinds = {(leaf.name, kind.noun): kind.materials for _, leaf in leaves() for kind in leaf.kinds}

    for draft in catalogue:
        assert draft.material in kinds[(draft.category, draft.kind)]


def test_the_same_seed_gives_the_same_catalogue():
    assert list(generate_products(300, seed=5)) == list(generate_products(300, seed=5))


def test_unit_costs_leave_a_margin_and_repeat_with_the_seed(catalogue):
    costs = [products.unit_cost(draft, 7) for draft in catalogue]
    shares = [cost / draft.base_price for cost, draft in zip(costs, catalogue, strict=True) if draft.base_price]
    assert all(0.34 <= share <= 0.71 for share in shares)
    assert len({round(share, 2) for share in shares}) > 10  # varied, so a margin boost picks some out
    assert costs == [products.unit_cost(draft, 7) for draft in catalogue]
    assert costs != [products.unit_cost(draft, 8) for draft in catalogue]
