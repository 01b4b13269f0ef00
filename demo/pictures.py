"""The demo's pictures, drawn with Pillow (nothing is downloaded): a studio still life of each product.

A product's picture follows from what it is: a silhouette for its kind (a mug, a lamp, a folded throw…),
filled with its colour and textured by its material (wood grain, a linen weave, a glaze's highlight,
leather stitching), on a backdrop, at an angle and a scale of its own. The same look always gives the same
bytes, so the same seed gives the same pictures.
"""

import functools
import hashlib
import io
import math
import random
from dataclasses import dataclass

from django.core.files.base import ContentFile
from PIL import Image as PillowImage
from PIL import ImageChops, ImageDraw, ImageFilter
from wagtail.images.models import Image
from wagtail.models import Collection

from demo.vocabulary import DATA, read_json

DEMO_COLLECTION = "Demo catalogue"
# Grids show 400 px renditions; the product page asks for 900 px and gets this size (Wagtail never enlarges).
PRODUCT_PICTURE_SIZE = 480
SUPERSAMPLE = 2  # silhouettes are drawn at twice the size and shrunk: smooth edges without a slow filter

_LOOKS = read_json(DATA / "pictures.json")
_FINISHES = {material: finish for finish, materials in _LOOKS["finishes"].items() for material in materials}
_SHAPES = sorted(_LOOKS["shapes"], key=lambda pair: -len(pair[0]))  # the longest match wins: "pen pot" over "pen"


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def _mix(a, b, t):
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


@dataclass(frozen=True)
class Look:
    """Everything a product picture is drawn from; equal looks give equal bytes."""

    shape: str
    colour: tuple[int, int, int]
    finish: str
    backdrop: tuple[int, int, int]
    scale: float
    angle: float
    shift: tuple[float, float]


def shape_for(noun: str) -> str:
    """The silhouette of a kind of product: ``"Espresso Cup & Saucer"`` → ``"cup"`` (``"box"`` when unknown)."""
    noun = noun.lower()
    return next((shape for key, shape in _SHAPES if key in noun), "box")


def product_look(noun: str, material: str, colour: str | None, rng: random.Random) -> Look:
    """A product's look: its kind's shape, its colour (else its material's own), its material's finish, and a
    backdrop, scale, angle and position drawn from ``rng``, so a grid of one category looks varied."""
    material = material.lower()
    swatch = _LOOKS["colours"].get((colour or "").lower()) or _LOOKS["material_colours"].get(material)
    return Look(
        shape=shape_for(noun),
        colour=_hex(swatch or _LOOKS["default_colour"]),
        finish=_FINISHES.get(material, "matte"),
        backdrop=_hex(rng.choice(_LOOKS["backdrops"])),
        scale=round(rng.uniform(0.9, 1.08), 3),
        angle=round(rng.uniform(-6, 6), 1),
        shift=(round(rng.uniform(-0.05, 0.05), 3), round(rng.uniform(-0.03, 0.04), 3)),
    )


# Silhouettes, in a unit square (0..1 both ways, y down, the object standing on y ≈ 0.82). Each draws its
# body in white on ``body`` and its seams, rims and shelves on ``lines``.

def _mug(body, lines, box, w):
    body.rounded_rectangle(box(0.30, 0.36, 0.62, 0.80), radius=w(0.04), fill=255)
    body.ellipse(box(0.52, 0.44, 0.76, 0.70), outline=255, width=w(0.045))
    lines.line(box(0.31, 0.40, 0.61, 0.40), fill=255, width=w(0.006))


def _cup(body, lines, box, w):
    body.ellipse(box(0.18, 0.70, 0.82, 0.82), fill=255)
    body.chord(box(0.30, 0.36, 0.66, 0.78), 0, 180, fill=255)
    body.rectangle(box(0.30, 0.50, 0.66, 0.58), fill=255)
    body.ellipse(box(0.60, 0.50, 0.76, 0.66), outline=255, width=w(0.035))
    lines.arc(box(0.22, 0.71, 0.78, 0.80), 200, 340, fill=255, width=w(0.006))


def _teapot(body, lines, box, w):
    body.ellipse(box(0.28, 0.38, 0.72, 0.82), fill=255)
    body.polygon(box(0.30, 0.58, 0.14, 0.42, 0.18, 0.40, 0.34, 0.52), fill=255)
    body.ellipse(box(0.62, 0.44, 0.84, 0.70), outline=255, width=w(0.04))
    body.ellipse(box(0.46, 0.30, 0.54, 0.38), fill=255)
    lines.arc(box(0.34, 0.36, 0.66, 0.50), 0, 180, fill=255, width=w(0.008))


def _jug(body, lines, box, w):
    body.polygon(box(0.34, 0.82, 0.66, 0.82, 0.62, 0.40, 0.64, 0.28, 0.38, 0.28, 0.26, 0.22, 0.36, 0.40),
                 fill=255)
    body.arc(box(0.54, 0.34, 0.80, 0.66), 270, 90, fill=255, width=w(0.045))
    lines.line(box(0.38, 0.34, 0.62, 0.34), fill=255, width=w(0.006))


def _press(body, lines, box, w):
    body.rectangle(box(0.34, 0.32, 0.62, 0.80), fill=255)
    body.rectangle(box(0.32, 0.28, 0.64, 0.33), fill=255)
    body.rectangle(box(0.47, 0.14, 0.49, 0.28), fill=255)
    body.ellipse(box(0.43, 0.10, 0.53, 0.16), fill=255)
    body.rounded_rectangle(box(0.60, 0.38, 0.74, 0.72), radius=w(0.05), outline=255, width=w(0.035))
    lines.line(box(0.35, 0.56, 0.61, 0.56), fill=255, width=w(0.006))


def _jar(body, lines, box, w):
    body.rounded_rectangle(box(0.30, 0.38, 0.70, 0.82), radius=w(0.05), fill=255)
    body.rounded_rectangle(box(0.28, 0.30, 0.72, 0.40), radius=w(0.02), fill=255)
    body.ellipse(box(0.45, 0.24, 0.55, 0.32), fill=255)
    lines.line(box(0.30, 0.40, 0.70, 0.40), fill=255, width=w(0.008))


def _vase(body, lines, box, w):
    body.ellipse(box(0.28, 0.42, 0.72, 0.84), fill=255)
    body.rectangle(box(0.43, 0.20, 0.57, 0.52), fill=255)
    body.ellipse(box(0.39, 0.16, 0.61, 0.24), fill=255)
    lines.arc(box(0.41, 0.17, 0.59, 0.23), 0, 360, fill=255, width=w(0.006))


def _bottle(body, lines, box, w):
    body.rounded_rectangle(box(0.37, 0.30, 0.63, 0.84), radius=w(0.06), fill=255)
    body.rectangle(box(0.43, 0.20, 0.57, 0.32), fill=255)
    body.rounded_rectangle(box(0.41, 0.12, 0.59, 0.22), radius=w(0.02), fill=255)
    lines.line(box(0.41, 0.22, 0.59, 0.22), fill=255, width=w(0.008))


def _glass(body, lines, box, w):
    body.polygon(box(0.32, 0.30, 0.68, 0.30, 0.63, 0.82, 0.37, 0.82), fill=255)
    lines.line(box(0.36, 0.74, 0.64, 0.74), fill=255, width=w(0.006))


def _plate(body, lines, box, w):
    body.ellipse(box(0.14, 0.40, 0.86, 0.84), fill=255)
    lines.ellipse(box(0.28, 0.49, 0.72, 0.75), outline=255, width=w(0.008))


def _bowl(body, lines, box, w):
    body.chord(box(0.16, 0.30, 0.84, 0.84), 0, 180, fill=255)
    body.ellipse(box(0.16, 0.50, 0.84, 0.64), fill=255)
    lines.ellipse(box(0.19, 0.52, 0.81, 0.62), outline=255, width=w(0.008))


def _pan(body, lines, box, w):
    body.ellipse(box(0.10, 0.46, 0.62, 0.82), fill=255)
    body.rounded_rectangle(box(0.58, 0.58, 0.92, 0.64), radius=w(0.02), fill=255)
    lines.ellipse(box(0.15, 0.50, 0.57, 0.78), outline=255, width=w(0.008))


def _pot(body, lines, box, w):
    body.rounded_rectangle(box(0.24, 0.42, 0.76, 0.82), radius=w(0.05), fill=255)
    body.chord(box(0.24, 0.32, 0.76, 0.52), 180, 360, fill=255)
    body.rounded_rectangle(box(0.16, 0.48, 0.26, 0.54), radius=w(0.02), fill=255)
    body.rounded_rectangle(box(0.74, 0.48, 0.84, 0.54), radius=w(0.02), fill=255)
    body.ellipse(box(0.46, 0.28, 0.54, 0.34), fill=255)
    lines.line(box(0.24, 0.44, 0.76, 0.44), fill=255, width=w(0.008))


def _tray(body, lines, box, w):
    body.polygon(box(0.14, 0.52, 0.86, 0.52, 0.80, 0.78, 0.20, 0.78), fill=255)
    lines.line(box(0.18, 0.58, 0.82, 0.58), fill=255, width=w(0.008))


def _candle(body, lines, box, w):
    body.rectangle(box(0.36, 0.40, 0.64, 0.82), fill=255)
    body.ellipse(box(0.36, 0.36, 0.64, 0.44), fill=255)
    lines.line(box(0.50, 0.32, 0.50, 0.40), fill=255, width=w(0.01))
    lines.ellipse(box(0.38, 0.37, 0.62, 0.43), outline=255, width=w(0.005))


def _cushion(body, lines, box, w):
    body.rounded_rectangle(box(0.18, 0.30, 0.82, 0.82), radius=w(0.14), fill=255)
    lines.rounded_rectangle(box(0.22, 0.34, 0.78, 0.78), radius=w(0.12), outline=255, width=w(0.006))


def _folded(body, lines, box, w):
    for top in (0.64, 0.50, 0.36):
        inset = (0.64 - top) * 0.2
        body.rounded_rectangle(box(0.16 + inset, top, 0.84 - inset, top + 0.16), radius=w(0.04), fill=255)
        lines.line(box(0.18 + inset, top + 0.15, 0.82 - inset, top + 0.15), fill=255, width=w(0.01))


def _rug(body, lines, box, w):
    body.polygon(box(0.22, 0.48, 0.90, 0.48, 0.78, 0.80, 0.10, 0.80), fill=255)
    lines.polygon(box(0.26, 0.53, 0.82, 0.53, 0.73, 0.75, 0.17, 0.75), outline=255, width=w(0.008))


def _round(body, lines, box, w):
    body.ellipse(box(0.20, 0.18, 0.80, 0.78), fill=255)
    lines.ellipse(box(0.27, 0.25, 0.73, 0.71), outline=255, width=w(0.012))


def _frame(body, lines, box, w):
    body.rectangle(box(0.26, 0.14, 0.74, 0.80), fill=255)
    lines.rectangle(box(0.32, 0.20, 0.68, 0.74), outline=255, width=w(0.01))


def _table(body, lines, box, w):
    body.rectangle(box(0.10, 0.44, 0.90, 0.50), fill=255)
    for x in (0.16, 0.78):
        body.rectangle(box(x, 0.50, x + 0.05, 0.84), fill=255)
    lines.line(box(0.10, 0.47, 0.90, 0.47), fill=255, width=w(0.004))


def _chair(body, lines, box, w):
    body.rectangle(box(0.30, 0.54, 0.70, 0.60), fill=255)
    body.rectangle(box(0.62, 0.16, 0.70, 0.60), fill=255)
    for x in (0.31, 0.64):
        body.rectangle(box(x, 0.60, x + 0.05, 0.86), fill=255)
    lines.line(box(0.62, 0.30, 0.70, 0.30), fill=255, width=w(0.008))


def _stool(body, lines, box, w):
    body.rounded_rectangle(box(0.26, 0.38, 0.74, 0.46), radius=w(0.03), fill=255)
    body.polygon(box(0.30, 0.46, 0.36, 0.46, 0.30, 0.84, 0.24, 0.84), fill=255)
    body.polygon(box(0.64, 0.46, 0.70, 0.46, 0.76, 0.84, 0.70, 0.84), fill=255)
    body.rectangle(box(0.30, 0.66, 0.70, 0.69), fill=255)


def _shelf(body, lines, box, w):
    body.rectangle(box(0.24, 0.14, 0.76, 0.84), fill=255)
    for y in (0.32, 0.50, 0.68):
        lines.line(box(0.26, y, 0.74, y), fill=255, width=w(0.012))


def _lamp(body, lines, box, w):
    body.polygon(box(0.34, 0.16, 0.66, 0.16, 0.76, 0.40, 0.24, 0.40), fill=255)
    body.rectangle(box(0.485, 0.40, 0.515, 0.76), fill=255)
    body.ellipse(box(0.36, 0.74, 0.64, 0.84), fill=255)
    lines.line(box(0.26, 0.37, 0.74, 0.37), fill=255, width=w(0.006))


def _lantern(body, lines, box, w):
    body.arc(box(0.40, 0.08, 0.60, 0.26), 180, 360, fill=255, width=w(0.02))
    body.polygon(box(0.36, 0.26, 0.64, 0.26, 0.68, 0.32, 0.32, 0.32), fill=255)
    body.rectangle(box(0.36, 0.32, 0.64, 0.76), fill=255)
    body.rectangle(box(0.32, 0.76, 0.68, 0.82), fill=255)
    lines.rectangle(box(0.40, 0.36, 0.60, 0.72), outline=255, width=w(0.01))


def _basket(body, lines, box, w):
    body.polygon(box(0.18, 0.42, 0.82, 0.42, 0.74, 0.84, 0.26, 0.84), fill=255)
    body.arc(box(0.28, 0.18, 0.72, 0.62), 180, 360, fill=255, width=w(0.03))
    for y in (0.54, 0.66, 0.76):
        lines.line(box(0.22, y, 0.78, y), fill=255, width=w(0.006))


def _bag(body, lines, box, w):
    body.polygon(box(0.24, 0.40, 0.76, 0.40, 0.80, 0.84, 0.20, 0.84), fill=255)
    body.arc(box(0.34, 0.18, 0.66, 0.56), 180, 360, fill=255, width=w(0.03))
    lines.line(box(0.24, 0.50, 0.76, 0.50), fill=255, width=w(0.006))


def _wallet(body, lines, box, w):
    body.rounded_rectangle(box(0.20, 0.40, 0.80, 0.76), radius=w(0.04), fill=255)
    lines.line(box(0.22, 0.52, 0.78, 0.52), fill=255, width=w(0.008))


def _book(body, lines, box, w):
    body.rectangle(box(0.28, 0.18, 0.72, 0.84), fill=255)
    lines.line(box(0.33, 0.18, 0.33, 0.84), fill=255, width=w(0.01))
    lines.rectangle(box(0.42, 0.30, 0.64, 0.38), outline=255, width=w(0.006))


def _pen(body, lines, box, w):
    body.polygon(box(0.20, 0.76, 0.72, 0.24, 0.78, 0.30, 0.26, 0.82), fill=255)
    body.polygon(box(0.26, 0.82, 0.20, 0.76, 0.14, 0.88), fill=255)
    lines.line(box(0.60, 0.36, 0.66, 0.42), fill=255, width=w(0.012))


def _plant(body, lines, box, w):
    body.polygon(box(0.32, 0.54, 0.68, 0.54, 0.64, 0.84, 0.36, 0.84), fill=255)
    for leaf in ((0.30, 0.22, 0.50, 0.52), (0.48, 0.16, 0.66, 0.52), (0.40, 0.28, 0.58, 0.54)):
        body.ellipse(box(*leaf), fill=255)
    lines.line(box(0.32, 0.60, 0.68, 0.60), fill=255, width=w(0.008))


def _tool(body, lines, box, w):
    body.rounded_rectangle(box(0.44, 0.56, 0.56, 0.88), radius=w(0.04), fill=255)
    body.polygon(box(0.42, 0.56, 0.58, 0.56, 0.56, 0.24, 0.50, 0.12, 0.44, 0.24), fill=255)
    lines.line(box(0.42, 0.57, 0.58, 0.57), fill=255, width=w(0.012))


def _house(body, lines, box, w):
    body.polygon(box(0.22, 0.40, 0.50, 0.16, 0.78, 0.40), fill=255)
    body.rectangle(box(0.28, 0.40, 0.72, 0.84), fill=255)
    lines.ellipse(box(0.44, 0.50, 0.56, 0.62), outline=255, width=w(0.012))


def _stacker(body, lines, box, w):
    body.rectangle(box(0.48, 0.14, 0.52, 0.80), fill=255)
    for i, y in enumerate((0.68, 0.56, 0.44, 0.32)):
        body.ellipse(box(0.24 + i * 0.05, y, 0.76 - i * 0.05, y + 0.14), fill=255)
        lines.line(box(0.26 + i * 0.05, y + 0.07, 0.74 - i * 0.05, y + 0.07), fill=255, width=w(0.004))


def _blocks(body, lines, box, w):
    for x0, y0 in ((0.20, 0.60), (0.44, 0.60), (0.32, 0.36), (0.62, 0.36)):
        body.rectangle(box(x0, y0, x0 + 0.22, y0 + 0.22), fill=255)
        lines.rectangle(box(x0, y0, x0 + 0.22, y0 + 0.22), outline=255, width=w(0.008))


def _animal(body, lines, box, w):
    body.ellipse(box(0.26, 0.46, 0.74, 0.86), fill=255)
    body.ellipse(box(0.32, 0.18, 0.68, 0.52), fill=255)
    body.ellipse(box(0.30, 0.10, 0.42, 0.28), fill=255)
    body.ellipse(box(0.58, 0.10, 0.70, 0.28), fill=255)
    lines.ellipse(box(0.40, 0.30, 0.44, 0.34), fill=255)
    lines.ellipse(box(0.56, 0.30, 0.60, 0.34), fill=255)


def _necklace(body, lines, box, w):
    body.arc(box(0.22, 0.06, 0.78, 0.62), 20, 160, fill=255, width=w(0.014))
    body.ellipse(box(0.44, 0.58, 0.56, 0.72), fill=255)


def _ring(body, lines, box, w):
    body.ellipse(box(0.26, 0.30, 0.74, 0.78), outline=255, width=w(0.07))
    lines.arc(box(0.30, 0.34, 0.70, 0.74), 200, 250, fill=255, width=w(0.01))


def _hat(body, lines, box, w):
    body.chord(box(0.22, 0.26, 0.78, 0.94), 180, 360, fill=255)
    body.rounded_rectangle(box(0.18, 0.56, 0.82, 0.66), radius=w(0.03), fill=255)
    lines.line(box(0.22, 0.58, 0.78, 0.58), fill=255, width=w(0.008))


def _tent(body, lines, box, w):
    body.polygon(box(0.10, 0.82, 0.50, 0.22, 0.90, 0.82), fill=255)
    lines.polygon(box(0.40, 0.82, 0.50, 0.50, 0.60, 0.82), outline=255, width=w(0.01))


def _mat(body, lines, box, w):
    body.rounded_rectangle(box(0.16, 0.52, 0.80, 0.78), radius=w(0.13), fill=255)
    body.ellipse(box(0.66, 0.52, 0.92, 0.78), fill=255)
    lines.ellipse(box(0.72, 0.58, 0.86, 0.72), outline=255, width=w(0.008))


def _kettlebell(body, lines, box, w):
    body.ellipse(box(0.24, 0.38, 0.76, 0.86), fill=255)
    body.ellipse(box(0.32, 0.16, 0.68, 0.52), outline=255, width=w(0.06))


def _box(body, lines, box, w):
    body.rounded_rectangle(box(0.24, 0.30, 0.76, 0.82), radius=w(0.03), fill=255)
    lines.line(box(0.24, 0.42, 0.76, 0.42), fill=255, width=w(0.008))


SILHOUETTES = {
    "animal": _animal, "bag": _bag, "basket": _basket, "blocks": _blocks, "book": _book, "bottle": _bottle,
    "bowl": _bowl, "box": _box, "candle": _candle, "chair": _chair, "cup": _cup, "cushion": _cushion,
    "folded": _folded, "frame": _frame, "glass": _glass, "hat": _hat, "house": _house, "jar": _jar, "jug": _jug,
    "kettlebell": _kettlebell, "lamp": _lamp, "lantern": _lantern, "mat": _mat, "mug": _mug,
    "necklace": _necklace, "pan": _pan, "pen": _pen, "plant": _plant, "plate": _plate, "pot": _pot,
    "press": _press, "ring": _ring, "round": _round, "rug": _rug, "shelf": _shelf, "stacker": _stacker,
    "stool": _stool, "table": _table, "teapot": _teapot, "tent": _tent, "tool": _tool, "tray": _tray,
    "vase": _vase, "wallet": _wallet,
}


@functools.lru_cache(maxsize=16)
def _texture(finish: str, size: int) -> PillowImage.Image | None:
    """How much a finish marks the surface, as an "L" image (0: not at all); the same every time."""
    rng = random.Random(finish)
    texture = PillowImage.new("L", (size, size), 0)
    draw = ImageDraw.Draw(texture)
    if finish == "grain":  # wavy lines of darker wood
        for y in range(-size // 8, size + size // 8, 6):
            amplitude, period, phase = rng.uniform(2, 7), rng.uniform(80, 220), rng.uniform(0, 2 * math.pi)
            points = [(x, y + amplitude * math.sin(x / period * 2 * math.pi + phase)) for x in range(0, size + 8, 8)]
            draw.line(points, fill=rng.randint(30, 80), width=rng.choice((1, 1, 2)))
    elif finish == "weave":  # warp and weft
        for i in range(0, size, 4):
            draw.line((i, 0, i, size), fill=34)
            draw.line((0, i + 2, size, i + 2), fill=22)
    elif finish == "speckle":  # flecks in a stoneware glaze or terrazzo
        for _ in range(size * size // 160):
            x, y, r = rng.randrange(size), rng.randrange(size), rng.choice((1, 1, 2))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=rng.randint(70, 140))
    elif finish == "metal":  # brushed bands
        for x in range(size):
            band = math.sin(x / size * 2 * math.pi * 2.2) + 0.4 * math.sin(x / size * 2 * math.pi * 7.3)
            draw.line((x, 0, x, size), fill=int(45 + 30 * band))
    elif finish in ("leather", "paper"):  # a fine grain or fibres
        for _ in range(size * size // (60 if finish == "leather" else 400)):
            x, y = rng.randrange(size), rng.randrange(size)
            draw.line((x, y, x + rng.randint(1, 3), y + rng.randint(0, 1)), fill=rng.randint(20, 50))
    elif finish == "marble":  # veins
        for _ in range(5):
            x, y, points = rng.uniform(0, size), 0.0, []
            while y < size:
                points.append((x, y))
                x, y = x + rng.uniform(-18, 18), y + rng.uniform(10, 24)
            draw.line(points, fill=rng.randint(70, 120), width=2)
        texture = texture.filter(ImageFilter.GaussianBlur(1.2))
    else:
        return None
    return texture


@functools.lru_cache(maxsize=8)
def _gradient(size: tuple[int, int], angle: int) -> PillowImage.Image:
    """An "L" ramp across ``size`` at ``angle`` degrees (0: left to right), computed small and enlarged."""
    ramp = PillowImage.linear_gradient("L").resize((128, 128)).rotate(90 + angle, PillowImage.Resampling.BILINEAR)
    return ramp.crop((32, 32, 96, 96)).resize(size, PillowImage.Resampling.BILINEAR)  # the middle: no bare corners


def _ink(colour, amount: float):
    """A shade of ``colour`` that shows on it: darker on light colours, lighter on dark ones."""
    light = sum(colour) / 3 > 90
    return _mix(colour, (0, 0, 0) if light else (255, 255, 255), amount)


def _object(look: Look, size: int) -> tuple[PillowImage.Image, PillowImage.Image]:
    """The product alone: its colours (RGB) and where it is (an "L" mask), ``size`` pixels square."""
    big = size * SUPERSAMPLE
    body, lines = PillowImage.new("L", (big, big), 0), PillowImage.new("L", (big, big), 0)
    (dx, dy), scale = look.shift, look.scale

    def box(*coords):
        return [(0.5 + (c - 0.5) * scale + (dy if i % 2 else dx)) * big for i, c in enumerate(coords)]

    def width(t):
        return max(1, round(t * big * scale))

    SILHOUETTES[look.shape](ImageDraw.Draw(body), ImageDraw.Draw(lines), box, width)
    # Turned without interpolation (several times faster): shrinking afterwards smooths the edges anyway.
    body, lines = (layer.rotate(look.angle, resample=PillowImage.Resampling.NEAREST).reduce(SUPERSAMPLE)
                   for layer in (body, lines))

    # Each mark is a colour pasted through a mask, in place: cheaper than compositing whole images.
    colour = look.colour
    surface = _lit(colour, size).copy()
    texture = _texture(look.finish, size)
    if texture is not None:
        surface.paste(_ink(colour, 0.5), (0, 0), texture)
    surface.paste(_ink(colour, 0.35), (0, 0), lines)
    if look.finish == "leather":  # a stitched seam just inside the edge
        # A blurred silhouette is between these two values a few pixels inside its edge (and faster to
        # compute than eroding it twice).
        seam = body.filter(ImageFilter.BoxBlur(8)).point(lambda v: 255 if 200 <= v <= 232 else 0)
        surface.paste(_ink(colour, 0.55), (0, 0), ImageChops.multiply(seam, _stitches(size)))
    if look.finish in ("gloss", "speckle", "glass", "metal", "marble"):  # a highlight where the light falls
        bounds = body.getbbox() or (0, 0, size, size)
        x0, y0, x1, y1 = bounds
        glint = PillowImage.new("L", (size // 4, size // 4), 0)
        ImageDraw.Draw(glint).ellipse([v // 4 for v in (x0 + (x1 - x0) * 0.15, y0 + (y1 - y0) * 0.12,
                                                         x0 + (x1 - x0) * 0.35, y0 + (y1 - y0) * 0.5)],
                                      fill=150 if look.finish == "metal" else 190)
        glint = glint.filter(ImageFilter.GaussianBlur(3)).resize((size, size), PillowImage.Resampling.BILINEAR)
        surface.paste((255, 255, 255), (0, 0), ImageChops.multiply(glint, body))
    if look.finish == "glass":  # the backdrop shows through
        body = body.point(lambda v: v * 3 // 4)
    return surface, body


@functools.lru_cache(maxsize=128)
def _lit(colour, size: int) -> PillowImage.Image:
    """``colour`` lit from the upper left (the same for every product of that colour: drawn once)."""
    lit = PillowImage.new("RGB", (size, size), _mix(colour, (255, 255, 255), 0.14))
    shaded = PillowImage.new("RGB", (size, size), _mix(colour, (0, 0, 0), 0.26))
    return PillowImage.composite(shaded, lit, _gradient((size, size), 35))


@functools.lru_cache(maxsize=4)
def _stitches(size: int) -> PillowImage.Image:
    dashes = PillowImage.new("L", (size, size), 0)
    draw = ImageDraw.Draw(dashes)
    for i in range(-size, size, 10):
        draw.line((i, 0, i + size, size), fill=255, width=5)
    return dashes


@functools.lru_cache(maxsize=16)
def _backdrop(colour, size: tuple[int, int]) -> PillowImage.Image:
    """A studio backdrop: ``colour`` darkening a little towards the floor."""
    return PillowImage.composite(PillowImage.new("RGB", size, _mix(colour, (0, 0, 0), 0.1)),
                                 PillowImage.new("RGB", size, colour), _gradient(size, 90))


def _place(picture: PillowImage.Image, look: Look, size: int, at: tuple[int, int]) -> None:
    """Stand the product of ``look`` on ``picture`` at ``at`` (its square's top left), with a soft shadow."""
    surface, mask = _object(look, size)
    x0, y0, x1, y1 = mask.getbbox() or (0, 0, size, size)
    small = size // 4
    shadow = PillowImage.new("L", (small, small), 0)
    ImageDraw.Draw(shadow).ellipse(((x0 - 6) / 4, (y1 - 10) / 4, (x1 + 14) / 4, (y1 + 12) / 4), fill=120)
    shadow = shadow.filter(ImageFilter.GaussianBlur(2.5)).resize((size, size), PillowImage.Resampling.BILINEAR)
    floor = picture.getpixel((at[0] + size // 2, min(at[1] + size, picture.height) - 1))
    picture.paste(_mix(floor, (0, 0, 0), 0.3), at, shadow)
    picture.paste(surface, at, mask)


def _jpeg(picture: PillowImage.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=84)
    return out.getvalue()


@functools.lru_cache(maxsize=64)  # the same picture again (categories after --reset, tests) costs nothing
def product_picture(look: Look, size: int = PRODUCT_PICTURE_SIZE) -> bytes:
    """A square studio picture of the product ``look`` describes (JPEG bytes)."""
    picture = _backdrop(look.backdrop, (size, size)).copy()
    _place(picture, look, size, (0, 0))
    return _jpeg(picture)


def hero_picture(looks: tuple[Look, ...], size: tuple[int, int] = (1600, 640)) -> bytes:
    """A wide, dark still life for a hero banner, the products on its right so the headline's side stays
    quiet; no words in it: the banner sets its own headline (JPEG bytes)."""
    width, height = size
    picture = PillowImage.composite(PillowImage.new("RGB", size, (122, 94, 74)),
                                    PillowImage.new("RGB", size, (46, 37, 32)), _gradient(size, 15))
    tile = int(height * 0.78)
    for i, look in enumerate(looks):
        _place(picture, look, tile, (int(width * 0.40) + i * int(tile * 0.5), height - tile - int(height * 0.04)))
    return _jpeg(picture)


def demo_collection() -> Collection:
    """The Wagtail collection that holds the demo's pictures (created when missing)."""
    root = Collection.get_first_root_node()
    existing = root.get_children().filter(name=DEMO_COLLECTION).first()
    return existing or root.add_child(name=DEMO_COLLECTION)


def new_picture(title: str, data: bytes, filename: str, collection, size: tuple[int, int] = (800, 800)):
    """An unsaved Wagtail Image whose file is already in storage (for ``bulk_create``)."""
    image = Image(title=title, collection=collection, file_size=len(data),
                  file_hash=hashlib.sha1(data).hexdigest())
    image.file.save(filename, ContentFile(data), save=False)
    image.width, image.height = size  # after the file: assigning it resets the dimension fields
    return image
