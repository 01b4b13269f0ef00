"""The ``embed_products`` management command: embeds what needs it and shows a progress bar with an ETA."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from ai.search.models import ProductEmbedding
from tests.factories import ProductFactory


@pytest.mark.django_db
def test_embed_products_embeds_unindexed_products_with_a_progress_bar_and_eta(capsys):
    # given three products never indexed
    products = [ProductFactory(title=f"Stoneware mug {n}") for n in range(3)]
    out = StringIO()
    # when the command runs in batches of two
    call_command("embed_products", "--batch-size", "2", stdout=out)
    # then each product has an embedding and the summary says so
    assert set(ProductEmbedding.objects.values_list("product_id", flat=True)) == {p.pk for p in products}
    assert "embedded 3 products" in out.getvalue()
    # and the progress bar counted all three, with elapsed<remaining (the ETA) and a rate
    bar = capsys.readouterr().err
    assert re.search(r"3/3 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+(product/s|s/product)\]", bar), bar
