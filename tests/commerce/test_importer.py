import json
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from wagtail.search.backends import get_search_backend

from commerce.catalogue.importer import import_catalogue
from commerce.catalogue.models import Category, Product
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

HEADER = "title,category,price,description,slug,currency,stock,attributes,active\n"


def run(path, *args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_catalogue", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(path, *args) -> tuple[str, CommandError]:
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_catalogue", str(path), *args, stdout=StringIO(), stderr=err)
    return err.getvalue(), failure.value


def jsonl(*records) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n"


def test_csv_import_creates_products_with_their_category_path_and_attributes(tmp_path):
    path = tmp_path / "products.csv"
    path.write_text(
        HEADER
        + 'Speckled Stoneware Mug,Kitchen & Dining > Mugs & Cups,14.50,A hand-thrown mug.,,eur,12,'
        '"{""capacity_ml"": 350, ""colour"": ""sage""}",yes\n'
        + "Linen Tea Towel,Kitchen & Dining > Linen,9.95,,,,,,\n"
    )

    out, err = run(path)

    assert "Created 2, updated 0, skipped 0" in out
    mug = Product.objects.get(title="Speckled Stoneware Mug")
    assert mug.category.path_display == "Kitchen & Dining > Mugs & Cups"
    assert mug.attributes == {"capacity_ml": 350, "colour": "sage"}
    assert mug.base_price == mug.price == Decimal("14.50")
    assert (mug.currency, mug.stock, mug.active, mug.slug) == ("EUR", 12, True, "speckled-stoneware-mug")
    towel = Product.objects.get(title="Linen Tea Towel")
    assert (towel.currency, towel.stock, towel.active, towel.attributes) == (settings.VITRINE_CURRENCY, 0,
                                                                             True, {})
    assert towel.category.parent == mug.category.parent  # one "Kitchen & Dining", shared
    assert Category.objects.count() == 3


def test_category_levels_are_matched_by_name_under_their_parent(tmp_path):
    kitchen = CategoryFactory(name="Kitchen & Dining")
    mugs = CategoryFactory(name="Mugs & Cups", parent=kitchen)
    CategoryFactory(name="Mugs & Cups")  # same name elsewhere in the tree: not a match
    path = tmp_path / "products.csv"
    path.write_text(HEADER + "Tall Mug,kitchen & dining > MUGS & CUPS,12,,,,,,\n")

    run(path)

    assert Product.objects.get(title="Tall Mug").category == mugs
    assert Category.objects.count() == 3


def test_jsonl_import_updates_the_product_with_that_slug_and_creates_the_others(tmp_path):
    table = ProductFactory(title="Oak Side Table", slug="oak-side-table", base_price=Decimal("89.00"),
                           stock=3,
                           description="Solid oak.", attributes={"material": "oak"})
    path = tmp_path / "feed.jsonl"
    path.write_text(jsonl(
        {"title": "Oak Side Table, Round", "slug": "oak-side-table", "category": "Furniture > Tables",
         "price": 95.5, "active": False},
        {"title": "Walnut Desk", "category": ["Furniture", "Desks"], "price": "420", "stock": 4,
         "attributes": {"material": "walnut"}, "currency": "GBP", "description": "A desk."},
    ))

    out, _ = run(path)

    assert "Created 1, updated 1, skipped 0" in out
    table.refresh_from_db()
    assert table.title == "Oak Side Table, Round"
    assert table.category.path_display == "Furniture > Tables"
    assert table.base_price == table.price == Decimal("95.50")
    assert table.active is False
    assert (table.stock, table.description, table.attributes) == (3, "Solid oak.",
                                                                  {"material": "oak"})  # kept
    desk = Product.objects.get(slug="walnut-desk")
    assert (desk.stock, desk.attributes, desk.category.path_display) == (4, {"material": "walnut"},
                                                                         "Furniture > Desks")


def test_generated_slugs_never_collide_with_existing_products(tmp_path):
    ProductFactory(title="Oak Side Table")
    path = tmp_path / "products.csv"
    path.write_text(HEADER + "Oak Side Table,Furniture,89,,,,,,\nOak Side Table,Furniture,99,,,,,,\n")

    run(path)

    assert set(Product.objects.values_list("slug", flat=True)) == {
        "oak-side-table", "oak-side-table-2", "oak-side-table-3"}


def test_imported_products_are_in_the_wagtail_search_index(tmp_path):
    path = tmp_path / "products.csv"
    path.write_text(HEADER + "Gooseneck Kettle,Kitchen,49,For pour-over coffee.,,,,,\n")

    run(path)

    results = get_search_backend().search("kettle", Product)
    assert [p.title for p in results] == ["Gooseneck Kettle"]


BAD_CSV = (
    HEADER
    + 'Good Mug,Kitchen > Mugs,12,"A mug\nwith a two-line description.",good-mug,,,,\n'  # lines 2–3
    + ",Kitchen > Mugs,12,,,,,,\n"  # line 4: no title
    + "Cheap Mug,Kitchen > Mugs,abc,,,,,,\n"  # line 5
    + "Negative Mug,Kitchen > Mugs,12,,,,-3,,\n"  # line 6
    + 'Odd Mug,Kitchen > Mugs,12,,,,,"{colour: red}",\n'  # line 7
    + "\n"  # line 8: blank, ignored
    + "Another Mug,Kitchen > Mugs,12,,good-mug,,,,\n"  # line 9: slug already on line 2
    + "Fine Mug,Kitchen > Mugs,8.5,,,,,,no\n"  # line 10
)


def test_each_bad_row_is_reported_with_its_line_number_and_nothing_is_imported(tmp_path):
    path = tmp_path / "products.csv"
    path.write_text(BAD_CSV)

    err, failure = run_failing(path)

    assert "line 4: title is required" in err
    assert "line 5: price 'abc' is not a number" in err
    assert "line 6: stock -3 must be 0 or more" in err
    assert "line 7: attributes is not valid JSON" in err
    assert "line 9: slug 'good-mug' is already used on line 2" in err
    assert "line 2:" not in err and "line 10:" not in err
    assert "5 invalid row(s)" in str(failure) and "nothing was imported" in str(failure)
    assert not Product.objects.exists()
    assert not Category.objects.exists()


def test_skip_invalid_imports_the_valid_rows_and_reports_the_others(tmp_path):
    path = tmp_path / "products.csv"
    path.write_text(BAD_CSV)

    out, err = run(path, "--skip-invalid")

    assert "Created 2, updated 0, skipped 5" in out
    assert "line 9: slug 'good-mug' is already used on line 2" in err
    assert sorted(Product.objects.values_list("title", flat=True)) == ["Fine Mug", "Good Mug"]
    assert Product.objects.get(slug="good-mug").description == "A mug\nwith a two-line description."
    assert Product.objects.get(title="Fine Mug").active is False


def test_jsonl_errors_use_physical_line_numbers(tmp_path):
    path = tmp_path / "feed.ndjson"
    path.write_text(jsonl(
        {"title": "Teapot", "category": "Kitchen", "price": 30},  # line 1
        '{"title": "Broken", "category": "Kitchen", "price": 3',  # line 2: malformed
        "",  # line 3: blank
        '["not", "an", "object"]',  # line 4
        {"title": "Caddy", "category": "Kitchen", "price": 9.999},  # line 5
        {"title": "Tin", "category": "Kitchen", "price": 5, "attributes": ["tin"], "active": "maybe"},
        # line 6
        {"title": "Jar", "category": "Kitchen > ", "price": 5, "stock": 2.5},  # line 7
    ))

    err, _ = run_failing(path)

    assert "line 2: invalid JSON" in err
    assert "line 4: expected a JSON object" in err
    assert "line 5: price 9.999 has more than 2 decimal places" in err
    assert "line 6: attributes must be a JSON object" in err and "active 'maybe'" in err
    assert "line 7: category 'Kitchen > ' has an empty level; stock '2.5' must be a whole number" in err
    assert "line 1:" not in err and "line 3:" not in err
    assert not Product.objects.exists()


def test_importer_returns_a_result_and_writes_nothing_when_a_row_is_bad(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text(jsonl({"title": "Mug", "category": "Kitchen", "price": 12},
                          {"title": "Mug", "category": "Kitchen", "price": -1}))

    result = import_catalogue(path)

    assert (result.rows, result.created, result.written) == (2, 0, False)
    assert [str(e) for e in result.errors] == ["line 2: price -1 must be 0 or more"]
    assert not Product.objects.exists()


def test_missing_required_columns_and_unknown_formats_stop_the_command(tmp_path):
    no_price = tmp_path / "products.csv"
    no_price.write_text("title,category\nMug,Kitchen\n")
    unknown = tmp_path / "products.xlsx"
    unknown.write_text("whatever")

    _, failure = run_failing(no_price)
    assert "line 1: the header lacks the required column(s): price" in str(failure)
    _, failure = run_failing(unknown)
    assert "Cannot tell the format" in str(failure)
    assert not Product.objects.exists()


def test_format_option_overrides_the_extension(tmp_path):
    path = tmp_path / "export.txt"
    path.write_text(jsonl({"title": "Mug", "category": "Kitchen", "price": "12.00"}))

    out, _ = run(path, "--format", "jsonl")

    assert "Created 1" in out
    assert Product.objects.get().title == "Mug"
