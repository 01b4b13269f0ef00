"""Placeholder pictures for the demo: a gradient in a department's colours with a name set on it."""

import functools
import hashlib
import io

from django.core.files.base import ContentFile
from PIL import Image as PillowImage
from PIL import ImageDraw, ImageFilter, ImageFont
from wagtail.images.models import Image
from wagtail.models import Collection

DEMO_COLLECTION = "Demo catalogue"


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def _mix(a, b, t):
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def _font(size: int, bold: bool = False):
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
    width, height = size
    light, deep = _hex(palette[0]), _hex(palette[1])
    deep = _mix(deep, light, (variant % 4) * 0.12)
    # A diagonal gradient: rotate an oversized one and keep its middle, so no corner is left unfilled
    # (computed at an eighth of the size: it is smooth, so upscaling loses nothing).
    small_w, small_h = max(1, width // 8), max(1, height // 8)
    side = 2 * max(small_w, small_h)
    gradient = PillowImage.linear_gradient("L").resize((side, side), PillowImage.Resampling.BILINEAR)
    gradient = gradient.rotate(35 + (variant % 3) * 20, resample=PillowImage.Resampling.BILINEAR)
    left, top = (side - small_w) // 2, (side - small_h) // 2
    gradient = gradient.crop((left, top, left + small_w, top + small_h))
    gradient = gradient.resize(size, PillowImage.Resampling.BICUBIC)
    picture = PillowImage.composite(PillowImage.new("RGB", size, deep), PillowImage.new("RGB", size, light), gradient)

    glow = PillowImage.new("L", (small_w, small_h), 0)
    shape = ImageDraw.Draw(glow)
    r = int(min(small_w, small_h) * (0.32 + 0.04 * (variant % 3)))
    cx, cy = int(small_w * (0.68 - 0.05 * (variant % 4))), int(small_h * 0.34)
    shape.ellipse((cx - r, cy - r, cx + r, cy + r), fill=110)
    glow = glow.filter(ImageFilter.GaussianBlur(min(small_w, small_h) / 12))
    glow = glow.resize(size, PillowImage.Resampling.BICUBIC)
    picture = PillowImage.composite(PillowImage.new("RGB", size, (255, 255, 255)), picture, glow)

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
