import csv
import json

import numpy as np
import pytest
import scipy.sparse as sp
from django.core.management import CommandError, call_command

from ai.recommendations import evaluation, surface_evaluation
from ai.recommendations.config import RecommenderSettings

SMALL = RecommenderSettings(factors=8, iterations=10, als_grid=[[8, 1.0, 1.0]], ease_lambdas=[500.0])


def write_log(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("user_id", "item_id", "timestamp", "event_type"))
        writer.writerows(rows)
    return path


def pairs_log(seed=0):
    """200 shoppers each buy one of 40 pairs a day for 10 days: an item's companion is its pair."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(200):
        for day in range(1, 11):
            pair = rng.integers(40)
            rows += [(f"u{user}", f"i{2 * pair + side}", f"2024-03-{day:02d}T12:00:00", "purchase") for side in (0, 1)]
    return rows


def tastes_log(seed=0):
    """120 shoppers in four tastes of 20 items each buy 8 items of their taste over 8 days."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(120):
        taste = (user % 4) * 20
        for day, item in enumerate(rng.choice(20, size=8, replace=False), start=1):
            rows.append((f"u{user}", f"i{taste + item}", f"2024-02-{day:02d}T10:00:00", "purchase"))
    return rows


def random_log(seed=0):
    """300 shoppers buy baskets of 3 items drawn uniformly from 200, one a day for 10 days."""
    rng = np.random.default_rng(seed)
    return [(f"u{user}", f"i{item}", f"2024-04-{day:02d}T09:00:00", "purchase")
            for user in range(300) for day in range(1, 11) for item in rng.choice(200, size=3, replace=False)]


def test_bought_together_finds_the_pairs_that_popularity_misses():
    report, summary = surface_evaluation.evaluate_bought_together(pairs_log())
    # days 9 and 10 are after 80 % of the span (day 1 to day 10): the test period
    assert summary["test_baskets"] == 2 * 200
    assert summary["seeds"] == 2 * 2 * 200
    assert report["served"]["hit_rate"] == 1.0  # every companion was bought together in train baskets
    assert report["served"]["recall@20"] == 1.0
    assert report["served"]["ndcg@20"] > 2 * report["popularity"]["ndcg@20"]
    assert report["item_item"]["ndcg@20"] > report["popularity"]["ndcg@20"]


def test_association_needs_the_minimum_shared_baskets():
    # item 0 with 1 in two baskets, with 2 and with 3 once each
    baskets = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [1, 0, 0, 1]], dtype=np.float32))
    strength = surface_evaluation.association_strength(baskets).toarray()
    assert strength[0, 1] == pytest.approx(2 / np.sqrt(4 * 2))  # 2 shared of 4 and 2 baskets
    assert strength[0, 2] == strength[0, 3] == strength[0, 0] == 0
    assert surface_evaluation.co_occurrence(baskets).toarray()[0, 2] == 1  # the raw count keeps one-offs


def test_similar_keeps_to_the_seed_s_taste_and_beats_best_sellers():
    report, summary = surface_evaluation.evaluate_similar(tastes_log(), SMALL)
    assert summary["evaluated_users"] == 120
    # a taste's 20 items fill the list; best sellers spread over four tastes
    assert report["served"]["recall@20"] > 0.8
    assert report["served"]["ndcg@20"] > 2 * report["popularity"]["ndcg@20"]
    assert report["item_item"]["ndcg@20"] > 2 * report["popularity"]["ndcg@20"]


def test_the_similar_seed_is_the_users_last_train_item():
    rows = [("u1", f"i{n}", f"2024-01-{n + 1:02d}", "purchase") for n in range(10)]  # i8, i9 held out
    rows += [("u2", "i3", "2024-01-01", "purchase")]
    data = evaluation.split(rows, RecommenderSettings().event_weights)
    assert surface_evaluation.last_train_items(data) == {0: data.item_columns["i7"], 1: data.item_columns["i3"]}


def test_without_structure_the_surfaces_score_near_chance():
    rows = random_log()
    together, _ = surface_evaluation.evaluate_bought_together(rows)
    similar, _ = surface_evaluation.evaluate_similar(rows, SMALL)
    # chance: 20 of 200 items listed, so recall ≈ 0.1; nothing to learn lifts it far
    for report in (together, similar):
        assert report["served"]["recall@20"] < 0.2
        assert report["served"]["ndcg@20"] < report["popularity"]["ndcg@20"] + 0.05


def test_command_evaluates_every_surface_by_default(tmp_path, capsys, settings):
    settings.VITRINE_RECOMMENDATIONS = {"factors": 8, "iterations": 10, "als_grid": [[8, 1.0, 1.0]]}
    out = tmp_path / "report.json"
    call_command("evaluate_recommendations", str(write_log(tmp_path / "log.csv", pairs_log())), "--json", str(out))
    report = json.loads(out.read_text())
    assert list(report) == ["personal", "similar", "bought_together"]
    assert list(report["bought_together"]) == [*surface_evaluation.BOUGHT_TOGETHER_METHODS, "summary"]
    assert set(report["similar"]["served"]) == {"precision@20", "recall@20", "ndcg@20", "coverage", "hit_rate"}
    printed = capsys.readouterr().out
    assert "personal:" in printed and "similar:" in printed and "bought together:" in printed


def test_command_prints_only_the_chosen_surfaces(tmp_path, capsys):
    call_command("evaluate_recommendations", str(write_log(tmp_path / "log.csv", pairs_log())),
                 "--surfaces", "bought_together")
    printed = capsys.readouterr().out
    assert "bought together:" in printed and "similar:" not in printed and "personal:" not in printed


def test_command_rejects_unknown_surfaces_and_logs_without_baskets(tmp_path):
    log = write_log(tmp_path / "log.csv", [("u1", f"i{n}", f"2024-01-{n + 1:02d}", "purchase") for n in range(6)])
    with pytest.raises(CommandError, match="Unknown surface.*magic"):
        call_command("evaluate_recommendations", str(log), "--surfaces", "similar,magic")
    with pytest.raises(CommandError, match="no basket of two or more"):
        call_command("evaluate_recommendations", str(log), "--surfaces", "bought_together")
    with pytest.raises(CommandError, match="neither ISO 8601 nor a number"):
        undated = write_log(tmp_path / "bad.csv", [("u1", "i1", "soon", "purchase")])
        call_command("evaluate_recommendations", str(undated), "--surfaces", "bought_together")


def test_similar_selection_serves_co_behaviour_where_it_beats_best_sellers():
    data = evaluation.split(tastes_log(), SMALL.event_weights)
    record = surface_evaluation.select_similar(data)
    assert record["winner"] in surface_evaluation.CO_BEHAVIOUR
    assert set(record["candidates"]) == {surface_evaluation.POPULARITY, *surface_evaluation.CO_BEHAVIOUR}
    assert record["lift_over_popularity"] > 1  # more than twice best sellers' NDCG@20
    assert record["validation_seeds"] == 120
    assert surface_evaluation.similar_co_behaviour(record) is surface_evaluation.CO_BEHAVIOUR[record["winner"]]


def test_similar_selection_falls_back_to_content_when_best_sellers_win():
    # every shopper buys the four best sellers in some order, three random items of 300 in between: the
    # newest train item is noise, its co-behaviour neighbours too; best sellers hold the held-out items
    rng = np.random.default_rng(1)
    rows = []
    for user in range(150):
        hits = [f"hit{n}" for n in rng.permutation(4)]
        picks = [*hits[:2], *(f"i{item}" for item in rng.choice(300, size=3, replace=False)), *hits[2:]]
        rows += [(f"u{user}", item, f"2024-05-{day:02d}", "purchase") for day, item in enumerate(picks, start=1)]
    record = surface_evaluation.select_similar(evaluation.split(rows, SMALL.event_weights))
    assert record["winner"] == surface_evaluation.POPULARITY
    assert record["lift_over_popularity"] == 0
    assert all(figures["ndcg@20"] < record["candidates"]["popularity"]["ndcg@20"]
               for name, figures in record["candidates"].items() if name != "popularity")
    assert surface_evaluation.similar_co_behaviour(record) is None


def test_bought_together_selection_serves_association_for_real_pairs_and_not_for_noise():
    pairs = surface_evaluation.select_bought_together(pairs_log())
    noise = surface_evaluation.select_bought_together(random_log())
    assert pairs["winner"] == surface_evaluation.ASSOCIATION and surface_evaluation.serves_association(pairs)
    assert pairs["validation_seeds"] == 2 * 2 * 200
    assert noise["winner"] == surface_evaluation.POPULARITY and not surface_evaluation.serves_association(noise)


def test_surface_selection_without_enough_history_says_why_and_keeps_the_defaults():
    one_user = [("u1", f"i{n}", f"2024-01-{n + 1:02d}", "purchase") for n in range(3)]
    similar = surface_evaluation.select_similar(evaluation.split(one_user[:1], SMALL.event_weights))
    together = surface_evaluation.select_bought_together(one_user)
    assert similar["winner"] is None and "held-out" in similar["reason"]
    assert together["winner"] is None and "no basket" in together["reason"]
    assert surface_evaluation.similar_co_behaviour(similar) is False  # BM25 co-behaviour, as before selection
    assert surface_evaluation.serves_association(together)


def test_offline_served_lists_are_what_selection_picks_on_the_train_part():
    report, summary = surface_evaluation.evaluate_bought_together(pairs_log())
    assert summary["selection"]["winner"] == surface_evaluation.ASSOCIATION
    # the train period is days 1–8: selection's own test part is its days 7 and 8, never days 9 and 10
    assert summary["selection"]["validation_seeds"] == 2 * 2 * 200
    assert report["served"]["ndcg@20"] > report["popularity"]["ndcg@20"]
    report, summary = surface_evaluation.evaluate_similar(tastes_log(), SMALL)
    picked = summary["selection"]["winner"]
    assert report["served"] == report[picked]


def test_bought_together_needs_baskets_before_the_validation_slice():
    same_moment = [(f"o{n}", item, "2024-06-01T10:00:00", "purchase") for n in range(3) for item in ("a", "b")]
    record = surface_evaluation.select_bought_together(same_moment)
    assert record["winner"] is None and "before the newest" in record["reason"]
    assert surface_evaluation.serves_association(record)


def test_too_few_seeds_keep_a_surface_on_its_default_whatever_they_say():
    # tastes_log has 120 seeds for similar; pairs_log 800 for bought together
    similar = surface_evaluation.select_similar(evaluation.split(tastes_log(), SMALL.event_weights), min_seeds=121)
    together = surface_evaluation.select_bought_together(pairs_log(), min_seeds=801)
    assert similar["winner"] is None and "120 seed products" in similar["reason"]
    assert together["winner"] is None and "800 seed products" in together["reason"]
    assert surface_evaluation.similar_co_behaviour(similar) is False and surface_evaluation.serves_association(together)
