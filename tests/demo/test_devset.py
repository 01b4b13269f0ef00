import csv
import json
import random
import types
from collections import defaultdict

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ai.search.retrieval import edit_distance
from demo import devset
from demo.products import generate_products
from demo.vocabulary import Kind, leaves

PRODUCTS = 1500  # every kind of query finds products; builds in well under a second


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def header(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    directory = tmp_path_factory.mktemp("devset")
    call_command("build_search_devset", str(directory), "--products", str(PRODUCTS), "--seed", "7")
    products = {row["product_id"]: row for row in read(directory / "products.csv")}
    queries = {row["query_id"]: row for row in read(directory / "queries.csv")}
    labels = defaultdict(dict)
    for row in read(directory / "labels.csv"):
        labels[row["query_id"]][row["product_id"]] = int(row["gain"])
    return directory, products, queries, labels


def test_files_have_the_evaluate_search_columns(built):
    directory, products, queries, labels = built
    assert header(directory / "products.csv") == ["product_id", "title", "description", "category",
                                                  "attributes"]
    assert header(directory / "queries.csv") == ["query_id", "query", "kind"]
    assert header(directory / "labels.csv") == ["query_id", "product_id", "gain"]
    assert len(products) == PRODUCTS
    row = next(iter(products.values()))
    assert row["title"] and row["description"] and " > " in row["category"]
    assert isinstance(json.loads(row["attributes"]), dict)


def test_every_query_kind_is_there_and_every_query_has_a_positive_label(built):
    _, products, queries, labels = built
    kinds = {row["kind"] for row in queries.values()}
    assert kinds == set(devset.QUERY_KINDS)
    assert len(queries) >= 300
    for qid in queries:
        assert any(gain >= 1 for gain in labels[qid].values()), qid
        assert set(labels[qid]) <= set(products)
    assert set(labels) <= set(queries)


def test_paraphrases_share_no_content_word_with_their_relevant_products(built):
    _, products, queries, labels = built
    paraphrases = [qid for qid, row in queries.items() if row["kind"] == "paraphrase"]
    assert len(paraphrases) >= 50
    for qid in paraphrases:
        words = devset.content_words(queries[qid]["query"])
        for pid in labels[qid]:
            text = f"{products[pid]['title']} {products[pid]['category']}"
            assert not words & devset.content_words(text), (queries[qid]["query"], products[pid]["title"])


def test_content_words_drop_stopwords_and_plurals():
    assert devset.content_words("Something to brew coffees, by hand!") == {"brew", "coffee", "hand"}
    assert devset.content_words("Berries & Dishes") == {"berry", "dish"}


def test_a_clashing_paraphrase_is_dropped(monkeypatch):
    monkeypatch.setattr(devset, "PARAPHRASES", {"Yoga Mat": ("mat for yoga", "pad for downward dog")})
    built = devset.build_devset(PRODUCTS, 7)
    assert [q.text for q in built.queries if q.kind == "paraphrase"] == ["pad for downward dog"]
    assert [(noun, text) for noun, text, _ in built.dropped] == [("Yoga Mat", "mat for yoga")]


def test_attribute_queries_give_gain_2_to_products_with_the_attribute(built):
    _, products, queries, labels = built
    attribute = [qid for qid, row in queries.items() if row["kind"] == "attribute"]
    assert attribute
    for qid in attribute:
        query = queries[qid]["query"]
        noun = max((n.lower() for n in devset.kinds_by_noun() if query.endswith(f" {n.lower()}")), key=len)
        value = query.removesuffix(f" {noun}")
        assert set(labels[qid].values()) == {1, 2}
        for pid, gain in labels[qid].items():
            attributes = json.loads(products[pid]["attributes"])
            has_it = value in (attributes.get("material"), attributes.get("colour"))
            assert has_it == (gain == 2), (query, products[pid]["title"])


def test_misspellings_are_one_edit_from_a_head_noun(built):
    _, _, queries, _ = built
    nouns = {noun.lower() for noun in devset.kinds_by_noun()}
    misspelt = [row["query"] for row in queries.values() if row["kind"] == "misspelling"]
    assert len(misspelt) >= 50
    for query in misspelt:
        assert query not in nouns
        assert min(edit_distance(query, noun) for noun in nouns) == 1, query


def test_same_seed_same_files_other_seed_other_files(built, tmp_path):
    directory, *_ = built
    call_command("build_search_devset", str(tmp_path / "again"), "--products", str(PRODUCTS), "--seed", "7")
    call_command("build_search_devset", str(tmp_path / "other"), "--products", str(PRODUCTS), "--seed", "8")
    for name in ("products.csv", "queries.csv", "labels.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (directory / name).read_bytes(), name
    assert (tmp_path / "other" / "products.csv").read_bytes() != (directory / "products.csv").read_bytes()


def test_titles_only_drops_the_other_product_columns(built, tmp_path):
    directory, *_ = built
    call_command("build_search_devset", str(tmp_path), "--products", str(PRODUCTS), "--seed", "7",
                 "--titles-only")
    assert header(tmp_path / "products.csv") == ["product_id", "title"]
    assert [r["title"] for r in read(tmp_path / "products.csv")] == [
        r["title"] for r in read(directory / "products.csv")]
    for name in ("queries.csv", "labels.csv"):
        assert (tmp_path / name).read_bytes() == (directory / name).read_bytes(), name


def test_the_kind_read_from_a_title_is_the_one_the_generator_chose(monkeypatch):
    """Every leaf and kind: record which Kind the generator's rng picked and compare with product_kind."""
    chosen = []

    class Recording(random.Random):
        def choice(self, seq):
            value = super().choice(seq)
            if isinstance(seq, tuple) and seq and isinstance(seq[0], Kind):
                chosen.append(value.noun)
            return value

    monkeypatch.setattr("demo.products.random", types.SimpleNamespace(Random=Recording))
    drafts = list(generate_products(4000, 3))
    assert len(chosen) == len(drafts), "generate_products no longer picks a product's kind with rng.choice"
    assert [devset.product_kind(d) for d in drafts] == chosen
    assert len(set(chosen)) == sum(len(leaf.kinds) for _, leaf in leaves())  # all kinds covered


def test_hyponyms_follow_the_head_noun():
    assert devset.hyponyms()["Duvet"] == ("Duvet", "All-Seasons Duvet")
    assert set(devset.hyponyms()["Cushion"]) == {"Cushion", "Outdoor Cushion", "Meditation Cushion"}
    assert devset.hyponyms()["Mug"] == ("Mug",)


def test_build_rejects_bad_arguments(tmp_path):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("build_search_devset", str(tmp_path), "--products", "0")
    with pytest.raises(CommandError, match="Unknown method"):
        call_command("build_search_devset", str(tmp_path), "--evaluate", "--methods", "magic")


@pytest.mark.django_db
def test_paraphrases_share_no_stem_with_their_products_under_postgres_english_config():
    """Stricter than plural stripping: the lexemes the keyword index would use ("decorate" → "decor")."""
    built = devset.build_devset(3000, 42)
    titles = {p["product_id"]: f"{p['title']} {p['category']}" for p in built.products}

    def lexemes(text):
        with connection.cursor() as cursor:
            cursor.execute("SELECT array(SELECT lexeme FROM unnest(to_tsvector('english', %s)))", [text])
            return set(cursor.fetchone()[0])

    for query in (q for q in built.queries if q.kind == "paraphrase"):
        shared = lexemes(query.text) & lexemes(" ".join(titles[pid] for pid in query.gains))
        assert not shared, (query.text, shared)


def test_paraphrases_and_intents_name_kinds_the_catalogue_sells():
    # given the kinds' nouns (a renamed kind would leave its paraphrases and intents without products)
    nouns = set(devset.kinds_by_noun())
    # then every hand-written query in search_devset.json answers with nouns the catalogue has
    assert set(devset.PARAPHRASES) <= nouns
    assert {noun for answers in devset.INTENTS.values() for noun in answers} <= nouns


def test_figures_by_kind_put_all_first_then_the_query_kinds_in_order():
    # given one method's figures from evaluation.evaluate, grouped by query kind
    figures = {"ndcg@10": 0.5, "mrr@50": 0.6, "recall@50": 0.7, "queries/s": 90.0, "queries": 3, "groups": {
        "paraphrase": {"ndcg@10": 0.0, "mrr@50": 0.0, "recall@50": 0.5, "queries": 1},
        "extra": {"ndcg@10": 1.0, "mrr@50": 1.0, "recall@50": 1.0, "queries": 1},
        "head": {"ndcg@10": 0.75, "mrr@50": 0.75, "recall@50": 0.5, "queries": 1}}}
    # when they are put by kind
    summary = devset.by_kind(figures)
    # then the totals come first (without the speed), then the kinds in QUERY_KINDS order, others last
    assert list(summary) == ["all", "head", "paraphrase", "extra"]
    assert summary["all"] == {"ndcg@10": 0.5, "mrr@50": 0.6, "recall@50": 0.7, "queries": 3}
    assert summary["head"] == figures["groups"]["head"]
    assert devset.by_kind({**figures, "queries": 0, "groups": {}}) == {}


@pytest.mark.django_db(transaction=True)
def test_evaluate_by_kind_averages_each_kind_over_its_own_queries(tmp_path):
    # given a small development set on disk
    devset.write_devset(tmp_path, devset.build_devset(100, 7), titles_only=True)
    # when keyword search is scored per query kind
    report = devset.evaluate_by_kind(tmp_path, ["keyword"])
    # then every kind has its own queries, which together are all of them, and the totals are their mean
    figures = report["keyword"]
    kinds = [kind for kind in figures if kind != "all"]
    assert kinds == [kind for kind in devset.QUERY_KINDS if kind in kinds] and len(kinds) >= 4
    assert sum(figures[kind]["queries"] for kind in kinds) == figures["all"]["queries"]
    for metric in ("ndcg@10", "mrr@50", "recall@50"):
        weighted = sum(figures[kind][metric] * figures[kind]["queries"] for kind in kinds) / figures["all"]["queries"]
        assert weighted == pytest.approx(figures["all"][metric], abs=1e-3)
    assert figures["head"]["ndcg@10"] > figures["paraphrase"]["ndcg@10"]  # keywords find nouns, not paraphrases
