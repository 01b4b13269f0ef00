"""Import products from CSV or JSON Lines: validate every row first, then write all of them or none.

Columns (CSV header / JSON keys):

============  ========  ==================================================================================
title         required  Product title (at most 200 characters).
category      required  Category path, "Kitchen & Dining > Coffee & Tea"; each level is matched by name
                        (case-insensitively) under its parent and created when missing.
price         required  Decimal ≥ 0 with at most 2 decimal places; becomes both base_price and price.
description             Free text.
slug                    Optional. Empty: generated from the title. If a product has this slug, the row
                        updates it; otherwise a product is created with it.
currency                Three letters (default settings.VITRINE_CURRENCY).
stock                   Whole number ≥ 0 (default 0).
attributes              A JSON object (in CSV: a JSON string, e.g. {"colour": "sage"}).
active                  true/false, 1/0, yes/no (default true).
============  ========  ==================================================================================

When a row updates a product, columns that are absent (or empty in CSV) keep the product's current value;
when it creates one, they take the defaults above.

Errors are reported as "line N: reason" with N the file's line number (CSV: the header is line 1; JSONL:
the physical line). Without ``skip_invalid`` one bad row means nothing is written; with it, the valid rows
are written and the bad ones counted as skipped. Writes happen in one transaction with ``bulk_create`` /
``bulk_update`` (no per-row ``save()`` signals) and the Wagtail search index is updated in batches.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.core.validators import validate_slug
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from commerce.catalogue.models import Category, Product
from commerce.catalogue.signals import products_bulk_changed

COLUMNS = ("title", "category", "price", "description", "slug", "currency", "stock", "attributes", "active")
REQUIRED = ("title", "category", "price")
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
TRUE = {"true", "1", "yes", "y"}
FALSE = {"false", "0", "no", "n"}
MAX_PRICE = Decimal("99999999.99")  # DecimalField(max_digits=10, decimal_places=2)
MAX_STOCK = 2_147_483_647  # PositiveIntegerField
BATCH_SIZE = 1000
SLUG_MAX = Product._meta.get_field("slug").max_length
TITLE_MAX = Product._meta.get_field("title").max_length
CATEGORY_NAME_MAX = Category._meta.get_field("name").max_length

Progress = Callable[..., Iterable]


def _no_progress(iterable, **kwargs):
    return iterable


class ImportFileError(ValueError):
    """The file as a whole is unusable: unknown format, not UTF-8, no header, required columns missing."""


@dataclass
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class Row:
    """One valid row. ``None`` means "not given": the default on create, the current value on update."""

    line: int
    title: str
    category_path: tuple[str, ...]
    price: Decimal
    description: str | None = None
    slug: str | None = None
    currency: str | None = None
    stock: int | None = None
    attributes: dict | None = None
    active: bool | None = None


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rows: int = 0  # data rows read (blank lines excluded)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    categories_created: int = 0
    written: bool = False  # False when validation failed (or dry run): the database was not touched

    @property
    def ok(self) -> bool:
        return not self.errors


# --- reading ------------------------------------------------------------------------------------------


def detect_format(path: Path, override: str | None = None) -> str:
    if override:
        if override not in ("csv", "jsonl"):
            raise ImportFileError(f"Unknown format {override!r}: use csv or jsonl.")
        return override
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ImportFileError(
            f"Cannot tell the format of {path.name!r} from its extension: use .csv, .jsonl or .ndjson, "
            "or pass the format explicitly."
        ) from None


def read_csv(path: Path) -> Iterator[tuple[int, dict | RowError]]:
    """(line number of the row's first line, {column: text} or RowError) for every non-blank data row."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise ImportFileError("The file is empty: expected a header row.") from None
        columns = [name.strip().lower() for name in header]
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise ImportFileError(f"line 1: the header lacks the required column(s): {', '.join(missing)}.")
        duplicates = sorted({c for c in columns if c and columns.count(c) > 1})
        if duplicates:
            raise ImportFileError(f"line 1: the header repeats the column(s): {', '.join(duplicates)}.")
        previous_end = reader.line_num
        for cells in reader:
            line, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(columns):
                yield line, RowError(line, f"{len(cells)} fields but the header has {len(columns)} columns")
                continue
            # Short rows (trailing empty cells trimmed by a spreadsheet) read as empty.
            record = {name: cells[i] if i < len(cells) else "" for i, name in enumerate(columns) if name}
            # An empty optional cell means "not given".
            yield line, {k: v for k, v in record.items() if k in REQUIRED or v.strip() != ""}


def read_jsonl(path: Path) -> Iterator[tuple[int, dict | RowError]]:
    with path.open(encoding="utf-8-sig") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                yield line, RowError(line, f"invalid JSON ({error.msg} at column {error.colno})")
                continue
            if not isinstance(record, dict):
                yield line, RowError(line, f"expected a JSON object, found {type(record).__name__}")
                continue
            yield line, {str(k).strip().lower(): v for k, v in record.items()}


# --- validating ---------------------------------------------------------------------------------------


def _text(value, name: str, problems: list[str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list, bool)):
        problems.append(f"{name} must be text")
        return None
    return str(value).strip()


def _price(value, problems: list[str]) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.append("price is required")
        return None
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        problems.append(f"price {json.dumps(value)} is not a number")
        return None
    text = str(value).strip()
    try:
        # str() first: 12.3 as a JSON float becomes Decimal("12.3"), not 12.2999999…
        price = Decimal(text)
    except InvalidOperation:
        problems.append(f"price {text!r} is not a number")
        return None
    if not price.is_finite():
        problems.append(f"price {text!r} is not a number")
    elif price < 0:
        problems.append(f"price {text} must be 0 or more")
    elif price > MAX_PRICE:
        problems.append(f"price {text} is too large (at most {MAX_PRICE})")
    elif price.as_tuple().exponent < -2 and price != price.quantize(Decimal("0.01")):
        problems.append(f"price {text} has more than 2 decimal places")
    else:
        return price.quantize(Decimal("0.01"))
    return None


def _stock(value, problems: list[str]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        problems.append(f"stock {json.dumps(value)} must be a whole number of 0 or more")
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?\d+", text):
        problems.append(f"stock {text!r} must be a whole number of 0 or more")
        return None
    stock = int(text)
    if stock < 0:
        problems.append(f"stock {stock} must be 0 or more")
        return None
    if stock > MAX_STOCK:
        problems.append(f"stock {stock} is too large")
        return None
    return stock


def _attributes(value, problems: list[str]) -> dict | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            problems.append(f"attributes is not valid JSON ({error.msg} at column {error.colno})")
            return None
    if not isinstance(value, dict):
        problems.append(f"attributes must be a JSON object, e.g. {{\"colour\": \"sage\"}}, "
                        f"not {type(value).__name__}")
        return None
    return value


def _active(value, problems: list[str]) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    problems.append(f"active {str(value)!r} must be true/false, 1/0 or yes/no")
    return None


def _category_path(value, problems: list[str]) -> tuple[str, ...] | None:
    if isinstance(value, list):
        parts = [str(p).strip() for p in value]
    elif isinstance(value, str):
        parts = [p.strip() for p in value.split(">")]
    elif value is None:
        parts = []
    else:
        problems.append("category must be a path like \"Kitchen & Dining > Coffee & Tea\"")
        return None
    if not parts or parts == [""]:
        problems.append("category is required")
        return None
    if any(not p for p in parts):
        problems.append(f"category {value!r} has an empty level")
        return None
    too_long = [p for p in parts if len(p) > CATEGORY_NAME_MAX]
    if too_long:
        problems.append(f"category name {too_long[0][:30]!r}… is longer than {CATEGORY_NAME_MAX} characters")
        return None
    return tuple(parts)


def parse_row(line: int, record: dict) -> Row | RowError:
    """Validate one record (CSV cells or a JSON object) into a Row, or say everything wrong with it."""
    problems: list[str] = []
    title = _text(record.get("title"), "title", problems)
    if not title and not any(p.startswith("title") for p in problems):
        problems.append("title is required")
    elif title and len(title) > TITLE_MAX:
        problems.append(f"title is longer than {TITLE_MAX} characters")
    category = _category_path(record.get("category"), problems)
    price = _price(record.get("price"), problems)
    description = _text(record.get("description"), "description", problems)

    slug = _text(record.get("slug"), "slug", problems) or None
    if slug is not None:
        if len(slug) > SLUG_MAX:
            problems.append(f"slug is longer than {SLUG_MAX} characters")
        else:
            try:
                validate_slug(slug)
            except Exception:
                problems.append(f"slug {slug!r} may only contain letters, numbers, hyphens and underscores")

    currency = _text(record.get("currency"), "currency", problems) or None
    if currency is not None:
        if not re.fullmatch(r"[A-Za-z]{3}", currency):
            problems.append(f"currency {currency!r} must be a three-letter code such as GBP")
        currency = currency.upper()

    stock = _stock(record.get("stock"), problems)
    attributes = _attributes(record.get("attributes"), problems)
    active = _active(record.get("active"), problems)

    if problems:
        return RowError(line, "; ".join(problems))
    return Row(line, title, category, price, description, slug, currency, stock, attributes, active)


def validate(records: Iterable[tuple[int, dict | RowError]], result: ImportResult,
             progress: Progress = _no_progress) -> list[Row]:
    """Parse every record; report bad ones (and later duplicates of a slug) in ``result.errors``."""
    rows: list[Row] = []
    slug_lines: dict[str, int] = {}
    unknown: set[str] = set()
    for line, record in progress(records, desc="Reading", unit=" rows"):
        result.rows += 1
        if isinstance(record, RowError):
            result.errors.append(record)
            continue
        unknown.update(k for k in record if k not in COLUMNS)
        parsed = parse_row(line, record)
        slug = parsed.slug if isinstance(parsed, Row) else _text(record.get("slug"), "slug", []) or None
        if slug:
            if slug in slug_lines:
                duplicate = f"slug {slug!r} is already used on line {slug_lines[slug]}"
                reason = f"{parsed.reason}; {duplicate}" if isinstance(parsed, RowError) else duplicate
                parsed = RowError(line, reason)
            else:
                slug_lines[slug] = line
        if isinstance(parsed, RowError):
            result.errors.append(parsed)
        else:
            rows.append(parsed)
    if unknown:
        result.warnings.append(f"ignored unknown column(s): {', '.join(sorted(unknown))}")
    return rows


# --- writing ------------------------------------------------------------------------------------------


class CategoryResolver:
    """Category paths to categories: each level matched by name (case-insensitively) under its parent."""

    def __init__(self):
        self.cache: dict[tuple[str, ...], Category] = {}

    def __call__(self, path: tuple[str, ...]) -> Category:
        key = tuple(part.casefold() for part in path)
        if key not in self.cache:
            parent = self(path[:-1]) if len(path) > 1 else None
            self.cache[key] = (
                Category.objects.filter(parent=parent, name__iexact=path[-1]).order_by("pk").first()
                or Category.objects.create(parent=parent, name=path[-1])
            )
        return self.cache[key]


def add_to_search_index(model, objects: list) -> None:
    """What ``post_save`` would have done for objects written with ``bulk_create``/``bulk_update``."""
    from wagtail.search.backends import get_search_backends

    if objects:
        for backend in get_search_backends(with_auto_update=True):
            backend.add_bulk(model, objects)


def _existing_products(slugs: list[str]) -> dict[str, Product]:
    found: dict[str, Product] = {}
    for start in range(0, len(slugs), BATCH_SIZE):
        for product in Product.objects.filter(slug__in=slugs[start:start + BATCH_SIZE]):
            found[product.slug] = product
    return found


def _taken_slugs(candidates: list[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(candidates), BATCH_SIZE):
        taken.update(Product.objects.filter(slug__in=candidates[start:start + BATCH_SIZE])
                     .values_list("slug", flat=True))
    return taken


def _slug_generator(rows: list[Row], explicit: set[str]) -> Callable[[str], str]:
    """Slugs for rows without one: unique against the database, the file's own slugs and each other."""
    bases = sorted({slugify(r.title)[: SLUG_MAX - 8].strip("-") or "item" for r in rows if r.slug is None})
    taken = explicit | _taken_slugs(bases)
    suffixes_loaded: set[str] = set()

    def generate(title: str) -> str:
        base = slugify(title)[: SLUG_MAX - 8].strip("-") or "item"
        if base in taken and base not in suffixes_loaded:  # one query for all of "base-2", "base-3"…
            taken.update(Product.objects.filter(slug__startswith=f"{base}-").values_list("slug", flat=True))
            suffixes_loaded.add(base)
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        taken.add(slug)
        return slug

    return generate


UPDATE_FIELDS = ["title", "category", "base_price", "price", "description", "currency", "stock", "attributes",
                 "active", "updated_at"]


def write(rows: list[Row], result: ImportResult, progress: Progress = _no_progress) -> None:
    """Create or update the products for ``rows`` in one transaction, then index them for Wagtail search."""
    with transaction.atomic():
        before = Category.objects.count()
        categories = CategoryResolver()
        existing = _existing_products([r.slug for r in rows if r.slug])
        new_slug = _slug_generator(rows, {r.slug for r in rows if r.slug})
        now = timezone.now()
        default_currency = settings.VITRINE_CURRENCY
        for start in progress(range(0, len(rows), BATCH_SIZE), total=-(-len(rows) // BATCH_SIZE),
                              desc="Writing", unit="batch"):
            to_create, to_update, price_changes = [], [], []
            for row in rows[start:start + BATCH_SIZE]:
                category = categories(row.category_path)
                product = existing.get(row.slug) if row.slug else None
                if product is None:
                    to_create.append(Product(
                        title=row.title, slug=row.slug or new_slug(row.title), category=category,
                        base_price=row.price, price=row.price, description=row.description or "",
                        currency=row.currency or default_currency, stock=row.stock or 0,
                        attributes=row.attributes if row.attributes is not None else {},
                        active=True if row.active is None else row.active,
                    ))
                    continue
                product.title, product.category = row.title, category
                if product.price != row.price:
                    price_changes.append((product.pk, product.price, row.price))
                product.base_price = product.price = row.price
                product.updated_at = now
                for name in ("description", "currency", "stock", "attributes", "active"):
                    if getattr(row, name) is not None:
                        setattr(product, name, getattr(row, name))
                to_update.append(product)
            Product.objects.bulk_create(to_create)
            # bulk_update writes one CASE per field over the whole batch: small batches keep it linear.
            Product.objects.bulk_update(to_update, UPDATE_FIELDS, batch_size=200)
            add_to_search_index(Product, to_create + to_update)
            changed = [p.pk for p in to_create + to_update]
            transaction.on_commit(lambda ids=changed, prices=price_changes: products_bulk_changed.send(
                sender=Product, product_ids=ids, price_changes=prices))
            result.created += len(to_create)
            result.updated += len(to_update)
        result.categories_created = Category.objects.count() - before
    result.written = True


def import_catalogue(path: str | Path, *, format: str | None = None, skip_invalid: bool = False,
                     dry_run: bool = False, progress: Progress = _no_progress) -> ImportResult:
    """Read, validate and (unless a row is bad and ``skip_invalid`` is off) write a catalogue file.

    Raises :class:`ImportFileError` when the file as a whole is unusable; row problems are in
    ``result.errors`` and, without ``skip_invalid``, mean nothing was written.
    """
    path = Path(path)
    kind = detect_format(path, format)
    if not path.is_file():
        raise ImportFileError(f"No such file: {path}")
    records = read_csv(path) if kind == "csv" else read_jsonl(path)
    result = ImportResult()
    try:
        rows = validate(records, result, progress)
    except UnicodeDecodeError as error:
        raise ImportFileError(f"The file is not UTF-8 text ({error.reason} at byte {error.start}).") from None
    result.errors.sort(key=lambda e: e.line)
    if result.errors and not skip_invalid:
        return result
    result.skipped = len(result.errors)
    if rows and not dry_run:
        write(rows, result, progress)
    return result
