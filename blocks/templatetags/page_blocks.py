"""A page's StreamField, rendered with every cached block read in one round trip.

Iterating a StreamField builds every block's value first: one query per chooser type (products, images,
experiments), on every view, before any cached HTML is read. This renderer makes each block's cache key
from its stored data instead (``CachedHTMLMixin.html_key``), reads all keys with one ``get_many``, and
builds the value of a block only when its HTML is missing (then the block renders and caches it)."""

from django import template
from django.core.cache import cache
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def page_blocks(context, body) -> str:
    """Each block of ``body`` in its ``<div class="block-<type>">``, as ``include_block`` would render it
    with the block's id in its context."""
    parent = context.flatten()
    children = []
    for index, raw in enumerate(body.raw_data):
        block = body.stream_block.child_blocks.get(raw["type"])
        if block is None:  # a block type since removed from the page's blocks
            continue
        child_context = {**parent, "block_id": raw.get("id")}
        key = block.html_key(raw["value"], child_context) if hasattr(block, "html_key") else None
        children.append((index, raw, block, child_context, key))
    cached = cache.get_many([key for *_, key in children if key])
    rendered = []
    for index, raw, block, child_context, key in children:
        if key in cached:
            html = block.html_for_request(cached[key], raw["value"], child_context)
        else:
            html = body[index].render(context=child_context)
        rendered.append((raw["type"], mark_safe(html)))  # a block's own HTML
    return format_html_join("", '<div class="block-{}">{}</div>', rendered)
