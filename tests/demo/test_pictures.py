"""The demo's pictures: one per product, drawn from its kind, colour and material, the same every time."""

import io
import random

from PIL import Image as PillowImage
from PIL import ImageStat

from demo.pictures import Look, hero_picture, product_look, product_picture, shape_for
from demo.products import generate_products
from demo.vocabulary import leaves

SIZE = 480


def drawn(look: Look) -> PillowImage.Image:
    return PillowImage.open(io.BytesIO(product_picture.__wrapped__(look)))  # past the cache: really drawn


def upright(shape="mug", colour=(200, 40, 40), finish="matte") -> Look:
    """A look with no turn or shift, so the middle of a mug's body is where the test looks."""
    return Look(shape, colour, finish, backdrop=(244, 239, 232), scale=1.0, angle=0.0, shift=(0.0, 0.0))


def test_two_products_of_one_category_get_different_pictures():
    # given the first two generated products of one category
    drafts = [d for d in generate_products(200, seed=42) if d.category == "Mugs & Cups"][:2]
    assert len(drafts) == 2

    # when each gets its look (from its own random stream, as seeding does)
    pictures = [product_picture(product_look(d.kind, d.material, d.attributes.get("colour"),
                                             random.Random(f"42-picture-{d.seq}"))) for d in drafts]

    # then the two pictures differ
    assert pictures[0] != pictures[1]


def test_the_same_look_gives_the_same_bytes():
    # given the same product posed from the same seed twice
    looks = [product_look("Tea Caddy", "Tin", "Sage Green", random.Random("7-picture-3")) for _ in range(2)]

    # then the looks, and the pictures drawn from them, are identical
    assert looks[0] == looks[1]
    assert product_picture.__wrapped__(looks[0]) == product_picture.__wrapped__(looks[1])


def test_the_picture_is_filled_with_the_product_colour():
    # given a poppy-red and a navy mug, otherwise alike
    red = product_look("Mug", "Silicone", "Poppy Red", random.Random(1)).colour
    navy = product_look("Mug", "Silicone", "Navy", random.Random(1)).colour

    # when drawn upright, the middle of the mug's body is the product's colour
    red_pixel = drawn(upright(colour=red)).getpixel((int(SIZE * 0.46), int(SIZE * 0.6)))
    navy_pixel = drawn(upright(colour=navy)).getpixel((int(SIZE * 0.46), int(SIZE * 0.6)))

    assert red_pixel[0] > red_pixel[2] + 80
    assert navy_pixel[2] > navy_pixel[0] + 20


def test_a_product_without_a_colour_takes_its_material_colour():
    # given an oak table and a walnut table with no colour attribute
    oak = product_look("Dining Table", "Oak", None, random.Random(1))
    walnut = product_look("Dining Table", "Walnut", None, random.Random(1))

    # then they are told apart by the wood's own colour: walnut is the darker one
    assert sum(walnut.colour) < sum(oak.colour)


def test_the_material_textures_the_surface():
    # given the same mug in oak (grain) and in silicone (plain)
    body = (int(SIZE * 0.36), int(SIZE * 0.45), int(SIZE * 0.56), int(SIZE * 0.75))
    grained = drawn(upright(finish="grain")).crop(body)
    plain = drawn(upright(finish="matte")).crop(body)

    # then the wood's grain varies its surface more than silicone's smooth one does
    assert ImageStat.Stat(grained.convert("L")).stddev[0] > 2 * ImageStat.Stat(plain.convert("L")).stddev[0]


def test_the_longest_matching_name_picks_the_silhouette():
    assert shape_for("Pen Pot") == "jar"
    assert shape_for("Fountain Pen") == "pen"
    assert shape_for("Kettlebell") == "kettlebell"
    assert shape_for("Gooseneck Kettle") == "jug"
    assert shape_for("Something Unheard Of") == "box"


def test_every_kind_the_catalogue_sells_has_a_silhouette_of_its_own():
    nouns = [kind.noun for _, leaf in leaves() for kind in leaf.kinds]

    assert [noun for noun in nouns if shape_for(noun) == "box"] == []


def test_the_hero_picture_leaves_the_headline_side_plain():
    # given the hero: three products on the right of a wide picture
    looks = tuple(product_look(noun, "Stoneware", "Chalk White", random.Random(noun)) for noun in ("Jug", "Mug"))
    hero = PillowImage.open(io.BytesIO(hero_picture(looks, size=(800, 320))))

    # then its left side, under the headline, is a smooth backdrop (no words set in the picture), while the
    # right side holds the products
    left = ImageStat.Stat(hero.crop((0, 0, 320, 320)).convert("L")).stddev[0]
    right = ImageStat.Stat(hero.crop((400, 0, 800, 320)).convert("L")).stddev[0]
    assert left < 12
    assert right > left + 10
