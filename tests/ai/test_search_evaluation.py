import csv
import json

import pytest
from django.core.management import CommandError, call_command

from ai.search.evaluation import mrr_at, ndcg_at, recall_at
from commerce.catalogue.models import Product

PRODUCTS = [
    ("a1", "Ceramic pour-over coffee dripper", "Kitchen > Coffee"),
    ("a2", "Gooseneck kettle for filter coffee", "Kitchen > Coffee"),
    ("b1", "Stainless steel border spade", "Garden > Tools"),
    ("b2", "Ash handled hand trowel", "Garden > Tools"),
    ("c1", "Linen cushion cover, sage green", "Home > Textiles"),
    ("c2", "Wool throw blanket, charcoal", "Home > Textiles"),
]
QUERIES = [("q1", "coffee dripper"), ("q2", "something to dig the garden"),
           ("q3", "something warm to snuggle under on the sofa"), ("q4", "unlabelled query")]
LABELS = [("q1", "a1", 2), ("q1", "a2", 1), ("q2", "b1", 2), ("q2", "b2", 1), ("q3", "c2", 2), ("q3", "c1", 0)]


def write(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def dataset(tmp_path):
    write(tmp_path / "products.csv", ["product_id", "title", "category"], PRODUCTS)
    write(tmp_path / "queries.csv", ["query_id", "query"], QUERIES)
    write(tmp_path / "labels.csv", ["query_id", "product_id", "gain"], LABELS)
    return tmp_path


def test_metrics_on_hand_computed_rankings():
    gains = {"a": 2.0, "b": 1.0, "c": 0.0}
    assert ndcg_at(["a", "b"], gains) == pytest.approx(1.0)
    # DCG = 1/log2(2) + 2/log2(3); ideal = 2/log2(2) + 1/log2(3)
    assert ndcg_at(["b", "a"], gains) == pytest.approx((1 + 2 / 1.5849625) / (2 + 1 / 1.5849625))
    assert mrr_at(["c", "x", "b"], gains) == pytest.approx(1 / 3)
    assert recall_at(["a", "x"], gains) == pytest.approx(0.5)
    assert ndcg_at(["x"], {"a": 0.0}) == 0.0


@pytest.mark.django_db(transaction=True)
def test_evaluate_search_scores_each_method_in_a_scratch_database(dataset, tmp_path):
    shop_products = Product.objects.count()
    out = tmp_path / "report.json"

    call_command("evaluate_search", str(dataset), "--json", str(out))

    report = json.loads(out.read_text())
    assert set(report) == {"keyword", "semantic", "hybrid"}
    for figures in report.values():
        assert set(figures) >= {"ndcg@10", "mrr@50", "recall@50"}
        assert figures["queries"] == 3  # q4 has no positive label
        assert 0 <= figures["ndcg@10"] <= 1
    assert report["semantic"]["recall@50"] == 1.0  # six products: everything is within the top 50
    assert report["keyword"]["recall@50"] < 1.0  # q3 shares no word with "Wool throw blanket"
    assert report["hybrid"]["recall@50"] == 1.0
    assert report["hybrid"]["ndcg@10"] > report["keyword"]["ndcg@10"], report
    assert Product.objects.count() == shop_products  # the shop's tables were never touched


def test_evaluate_search_rejects_unknown_methods_and_missing_files(tmp_path):
    with pytest.raises(CommandError, match="Unknown method"):
        call_command("evaluate_search", str(tmp_path), "--methods", "magic")
    with pytest.raises(CommandError, match="products.csv is missing"):
        call_command("evaluate_search", str(tmp_path))
