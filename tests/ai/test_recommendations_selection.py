import numpy as np

from ai.recommendations import selection
from ai.recommendations.config import RecommenderSettings

SETTINGS = RecommenderSettings(iterations=10, neighbours=10, als_grid=[[8, 0.1, 1.0], [4, 10.0, 1.0]],
                               ease_lambdas=[10.0], validation_customers=1000)


def best_sellers_log(customers=300, catalogue=3000, seed=0):
    """A dozen best sellers that every customer buys or not with the best sellers' own odds (the first
    nine times in ten, each next one less often), among a few products of a large catalogue nobody else
    buys: nothing personal to learn, and the more popular a product the likelier it is the next buy."""
    rng, rows = np.random.default_rng(seed), []
    chance = 0.9 * 0.75 ** np.arange(12)
    for customer in range(customers):
        basket = [product for product in range(12) if rng.random() < chance[product]]
        basket += list(rng.integers(12, catalogue, size=6))
        rng.shuffle(basket)
        rows += [(customer, int(product), day, "purchase") for day, product in enumerate(basket)]
    return rows


def two_tastes_log(customers=200, seed=0):
    """Half the customers buy from products 0–39, half from 40–79, each product of a taste about equally."""
    rng, rows = np.random.default_rng(seed), []
    for customer in range(customers):
        taste = np.arange(0, 40) if customer % 2 else np.arange(40, 80)
        rows += [(customer, int(product), day, "purchase")
                 for day, product in enumerate(rng.choice(taste, size=10, replace=False))]
    return rows


def test_when_best_sellers_are_the_next_buys_popularity_wins():
    # when selection runs on a log where everyone buys the same best sellers next
    chosen = selection.select(best_sellers_log(), SETTINGS)
    # then popularity is served: its settings keep popularity alone
    assert chosen.record["winner"] == "popularity"
    assert (chosen.settings.als_share, chosen.settings.item_item_share, chosen.settings.popularity_share) == (
        0.0, 0.0, 1.0)
    assert chosen.record["lift_over_popularity"] == 0.0


def test_with_strong_item_item_structure_a_personalised_candidate_wins():
    # when selection runs on a log of two tastes with no best sellers
    chosen = selection.select(two_tastes_log(), SETTINGS)
    record = chosen.record
    # then the winner is personalised and clearly beats popularity on the validation slice
    assert record["winner"] != "popularity"
    assert chosen.settings.als_share + chosen.settings.item_item_share > 0
    assert record["candidates"][record["winner"]]["ndcg@20"] > 1.5 * record["candidates"]["popularity"]["ndcg@20"]
    assert record["lift_over_popularity"] > 0.5


def test_the_record_holds_every_candidate_and_the_winner_is_the_best_of_them():
    # when selection runs
    record = selection.select(two_tastes_log(), SETTINGS).record
    # then popularity, each ALS grid point, BM25, cosine, EASE and the blends were scored
    names = set(record["candidates"])
    assert {"popularity", "als(factors=8, reg=0.1, alpha=1)", "als(factors=4, reg=10, alpha=1)", "bm25", "cosine",
            "ease(lambda=10)"} <= names
    assert len(names) == 1 + 2 + 3 + len(selection.BLEND_SHARES)
    assert all(set(figures) == {"ndcg@20", "recall@20"} for figures in record["candidates"].values())
    best = max(figures["ndcg@20"] for figures in record["candidates"].values())
    assert record["candidates"][record["winner"]]["ndcg@20"] == best
    assert record["validation_customers"] > 0
    assert record["seconds"] >= 0


def test_ease_is_no_candidate_past_its_item_cap():
    settings = RecommenderSettings(**{**SETTINGS.as_dict(), "ease_max_items": 50})
    record = selection.select(two_tastes_log(), settings).record
    assert not any("ease" in name for name in record["candidates"])


def test_validation_is_scored_on_at_most_the_configured_number_of_customers():
    settings = RecommenderSettings(**{**SETTINGS.as_dict(), "validation_customers": 30})
    assert selection.select(two_tastes_log(), settings).record["validation_customers"] == 30


def test_without_a_validation_slice_the_configured_model_is_kept():
    # given customers too short to hold anything out
    rows = [(customer, product, day, "purchase") for customer in range(5) for day, product in enumerate([1, 2])]
    # when selection runs
    chosen = selection.select(rows, SETTINGS)
    # then it chooses nothing and says why
    assert chosen.settings == SETTINGS
    assert chosen.record["winner"] is None
    assert chosen.record["reason"]


def test_customer_sample_is_capped_and_reproducible():
    settings = RecommenderSettings(**{**SETTINGS.as_dict(), "selection_customers": 10})
    ids = np.arange(100, 200)
    sample = selection.sample_customers(ids, settings)
    assert len(sample) == 10
    assert sample <= set(range(100, 200))
    assert selection.sample_customers(ids, settings) == sample
    assert selection.sample_customers(ids[:5], settings) == set(range(100, 105))


def test_without_an_als_grid_item_item_and_popularity_still_compete():
    settings = RecommenderSettings(**{**SETTINGS.as_dict(), "als_grid": []})
    chosen = selection.select(two_tastes_log(), settings)
    assert set(chosen.record["candidates"]) == {"popularity", "bm25", "cosine", "ease(lambda=10)"}
    assert chosen.settings.als_share == 0.0
