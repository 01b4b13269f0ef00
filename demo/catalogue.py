"""The demo catalogue in the database: categories with their pictures, products and variants in bulk, the
Wagtail search index, and :func:`reset_demo` to take it all away again."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import prefetch_related_objects
from django.db.models.signals import post_delete
from django.utils.text import slugify
from wagtail.images.models import Image
from wagtail.models import ReferenceIndex
from wagtail.search import signal_handlers as search_signals
from wagtail.search.backends import get_search_backends
from wagtail.signal_handlers import disable_reference_index_auto_update

from commerce.catalogue.importer import add_to_search_index
from commerce.catalogue.models import Category, Product, ProductVariant
from commerce.catalogue.services import forget_navigation
from demo.accounts import demo_shoppers
from demo.pictures import DEMO_COLLECTION, demo_collection, new_picture, product_look, product_picture
from demo.products import ProductDraft, generate_products, unit_cost
from demo.vocabulary import DEPARTMENTS, Leaf

BATCH_SIZE = 2000
# Products past this many in one run share the picture of an earlier one of the same kind, material and
# colour (when there is one): drawing a picture each for 100,000 products would take the best part of an hour.
OWN_PICTURES = 5000

Progress = Callable[..., Iterable]  # tqdm-like: progress(iterable, total=…, desc=…, unit=…)


def _no_progress(iterable, **kwargs):
    return iterable


def seed_categories() -> dict[str, Category]:
    """Departments and their leaf categories, each with a picture of what it sells. Returns ``{name: Category}``.

    A category that already exists (same name under the same parent) is updated, not duplicated. New ones are
    written with ``bulk_create`` and indexed in bulk: a save per category would index each one on its own.
    """
    collection = demo_collection()
    existing = {(c.parent_id, c.name): c for c in Category.objects.all()}
    slugs = SlugAllocator(Category.objects.values_list("slug", flat=True), max_length=140)
    by_name: dict[str, Category] = {}

    def level(specs: list[tuple[str, object, str, int, Leaf]]) -> list[Category]:
        categories, pictures = [], []
        for name, parent, blurb, order, leaf in specs:
            category = existing.get((parent.pk if parent else None, name))
            if category is None:
                category = Category(name=name, parent=parent, slug=slugs(name))
            category.description, category.sort_order = blurb, order
            if category.image_id is None:
                data = _category_picture(leaf, name)
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

    departments = level([(d.name, None, d.blurb, i, d.leaves[0]) for i, d in enumerate(DEPARTMENTS)])
    level([(leaf.name, parent, leaf.blurb, j, leaf)
           for dept, parent in zip(DEPARTMENTS, departments, strict=True) for j,
           leaf in enumerate(dept.leaves)])
    forget_navigation()
    return by_name


def _category_picture(leaf: Leaf, name: str) -> bytes:
    """What the category sells: its first kind of product, in its first colour (a department: its first
    category's)."""
    kind = leaf.kinds[0]
    colour = (kind.choices.get("colour") or leaf.colours or (None,))[0]
    return product_picture(product_look(kind.noun, kind.materials[0], colour, random.Random(name)))


def _product_picture(draft: ProductDraft, seed: int, slug: str, collection):
    """The product's own picture (an unsaved Wagtail Image): its kind, colour and material, posed by the seed."""
    look = product_look(draft.kind, draft.material, draft.attributes.get("colour"),
                        random.Random(f"{seed}-picture-{draft.seq}"))
    return new_picture(draft.title, product_picture(look), f"demo-{slug}.jpg", collection)


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
    """Create ``count`` products, each with its own picture (see ``OWN_PICTURES``), and their variants with
    ``bulk_create``.

    Returns (first pk, last pk, number of variants).
    """
    currency = settings.VITRINE_CURRENCY
    slugs = SlugAllocator(Product.objects.values_list("slug", flat=True))
    date_rng = random.Random(f"{seed}-dates")
    collection = demo_collection()
    by_look: dict[tuple, Image] = {}
    first_pk = last_pk = None
    n_variants = 0
    drafts = generate_products(count, seed)
    bar = progress(range(0, count, batch_size), total=-(-count // batch_size), desc="Products", unit="batch")
    for start in bar:
        batch = [next(drafts) for _ in range(min(batch_size, count - start))]
        products, pictures, drawn = [], [], []
        for d in batch:
            slug = slugs(d.title)
            look = (d.kind, d.material, d.attributes.get("colour"))
            picture = by_look.get(look) if d.seq > OWN_PICTURES else None
            if picture is None:
                picture = _product_picture(d, seed, slug, collection)
                drawn.append(picture)
                by_look.setdefault(look, picture)
            pictures.append(picture)
            products.append(Product(
                title=d.title, slug=slug, description=d.description, category=categories[d.category],
                attributes=d.attributes, base_price=d.base_price, price=d.base_price, currency=currency,
                unit_cost=unit_cost(d, seed),
                stock=d.stock, active=d.active,
            ))
        Image.objects.bulk_create(drawn)
        prefetch_related_objects(drawn, "tags")  # none, but indexing would ask once per picture
        add_to_search_index(Image, drawn)
        for product, picture in zip(products, pictures, strict=True):
            product.image = picture
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


@contextlib.contextmanager
def _bulk_deletion(model):
    """Delete many ``model`` rows without the two clean-ups Wagtail runs per object on ``post_delete``.

    Per object, Wagtail removes the row's reference-index records and its search-index entry: a savepoint
    and four queries each, minutes for 100,000 products. Instead: the reference index is cleaned in two
    queries afterwards, and the database search backend's entries go with the rows (the collector deletes
    them through the model's ``index_entries`` relation). Other search backends keep the per-object handler.
    """
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
    deleted = {"products": Product.objects.count(), "categories": Category.objects.count()}
    with _bulk_deletion(Product):
        Product.objects.all().delete()
    Category.objects.update(parent=None)  # parent is PROTECT: flatten the tree, then delete it in one go
    Category.objects.all().delete()
    pictures = Image.objects.filter(collection__name=DEMO_COLLECTION)
    deleted["images"] = pictures.count()
    with _bulk_deletion(Image):  # a picture per product: thousands (their files still go, after the commit)
        pictures.delete()
    shoppers = demo_shoppers()
    deleted["customers"] = shoppers.count()
    shoppers.delete()
    return deleted
