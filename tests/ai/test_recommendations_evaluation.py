import csv
import json

import numpy as np
import pytest
import scipy.sparse as sp
from django.core.management import CommandError, call_command

from ai.recommendations import evaluation
from ai.recommendations.config import RecommenderSettings


def write_log(path, rows, header=("user_id", "item_id", "timestamp", "event_type")):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_split_holds_out_the_last_fifth_that_is_new_to_the_user(tmp_path):
    rows = [("u1", f"i{n}", f"2024-01-{n + 1:02d}", "purchase") for n in range(10)]  # 10 → last 2 held out
    rows += [("u2", "i1", "2024-01-01", "purchase"), ("u2", "i2", "2024-01-02", "view"),
             ("u2", "i3", "2024-01-03", "purchase"), ("u2", "i4", "2024-01-04", "purchase"),
             ("u2", "i1", "2024-01-05", "purchase")]  # its test part (i1) was in train: skipped
    rows += [("u3", "i9", "2024-01-01", "purchase")] * 4  # fewer than 5: train only
    data = evaluation.split(evaluation.read_interactions(write_log(tmp_path / "log.csv", rows)),
                            RecommenderSettings().event_weights)
    columns = {f"i{n}": n for n in range(10)}  # items are numbered in order of first appearance
    assert data.held_out == {0: {columns["i8"], columns["i9"]}}
    assert data.train.shape == (3, 10)
    assert data.counts[2, columns["i9"]] == 4  # the short user's history is all training
    assert data.train[1, columns["i2"]] == RecommenderSettings().event_weights["view"]
    # selection sees the train part only: u1's first eight rows, never its held-out last two
    assert [row for row in data.train_rows if row[0] == "u1"] == [
        ("u1", f"i{n}", f"2024-01-{n + 1:02d}", "purchase") for n in range(8)]
    assert len(data.train_rows) == 8 + 4 + 4


def test_metrics_on_hand_made_lists():
    data = evaluation.Split(train=None, counts=None, held_out={0: {1, 2}, 1: {5}}, items=40, train_rows=[])
    recommended = np.array([[1, 9, 2] + list(range(10, 27)), [7] * 19 + [5]])
    figures = evaluation.metrics(recommended, np.array([0, 1]), data)
    discounts = 1 / np.log2(np.arange(2, 22))
    ndcg_user0 = (discounts[0] + discounts[2]) / (discounts[0] + discounts[1])
    ndcg_user1 = discounts[19] / discounts[0]
    assert figures["precision@20"] == pytest.approx(round((2 / 20 + 1 / 20) / 2, 4))
    assert figures["recall@20"] == pytest.approx(1.0)
    assert figures["ndcg@20"] == pytest.approx(round((ndcg_user0 + ndcg_user1) / 2, 4))
    assert figures["coverage"] == pytest.approx(round(len(set(recommended.ravel())) / 40, 4))


def test_hits_mark_the_held_out_items_of_each_users_list_and_never_a_pad():
    data = evaluation.Split(train=None, counts=None, held_out={3: {1, 2}, 7: {0}}, items=5, train_rows=[])
    found = evaluation.hits(np.array([[2, -1, 1], [1, 0, -1]]), np.array([3, 7]), data)
    assert found.tolist() == [[True, False, True], [False, True, False]]


def test_recommend_each_gives_every_scorer_the_lists_recommend_gives_it_alone():
    # given three users' train interactions and two scorers
    counts = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]], dtype=np.float32))
    data = evaluation.Split(train=counts, counts=counts, held_out={}, items=4, train_rows=[])
    users = np.array([0, 1, 2])

    def rising(batch):
        return np.tile(np.arange(4, dtype=np.float32), (len(batch), 1))

    def falling(batch):
        return np.tile(np.arange(4, 0, -1, dtype=np.float32), (len(batch), 1))

    # when both score the same batches
    together = evaluation.recommend_each(lambda batch: [rising(batch), falling(batch)], data, users, 2)
    # then each has the lists it has alone, train items left out
    assert [lists.tolist() for lists in together] == [evaluation.recommend(rising, data, users).tolist(),
                                                      evaluation.recommend(falling, data, users).tolist()]
    assert together[0][0].tolist() == [3, 2, 1, -1]


def two_tastes_log(path):
    """60 users in two tastes buy items of their taste over time; the last ones they buy are held out."""
    rows, rng = [], np.random.default_rng(0)
    for user in range(60):
        taste = range(0, 20) if user % 2 else range(20, 40)
        for day, item in enumerate(rng.choice(list(taste), size=8, replace=False)):
            rows.append((f"u{user}", f"i{item}", f"2024-02-{day + 1:02d}T10:00:00", "purchase"))
    return write_log(path, rows)


def test_command_prints_every_method_and_writes_json(tmp_path, capsys, settings):
    settings.VITRINE_RECOMMENDATIONS = {"factors": 8, "iterations": 10, "regularization": 1.0}
    out = tmp_path / "report.json"
    call_command("evaluate_recommendations", str(two_tastes_log(tmp_path / "log.csv")), "--surfaces", "personal",
                 "--json", str(out))
    report = json.loads(out.read_text())["personal"]
    selection = report.pop("selection")
    assert list(report) == list(evaluation.METHODS)
    # served is selection's winner, picked among candidates scored inside the train part
    assert selection["winner"] in selection["candidates"]
    for figures in report.values():
        assert set(figures) == {"precision@20", "recall@20", "ndcg@20", "coverage"}
    # With two clear tastes a learnt model must beat random.
    assert report["served"]["ndcg@20"] > report["random"]["ndcg@20"]
    assert report["item_item"]["ndcg@20"] > report["random"]["ndcg@20"]
    printed = capsys.readouterr().out
    assert "served" in printed
    assert f"selected:{selection['winner']}" in printed


def test_command_rejects_missing_columns_and_unknown_methods(tmp_path):
    bad = write_log(tmp_path / "bad.csv", [("u1", "i1")], header=("user", "item"))
    with pytest.raises(CommandError, match="missing column"):
        call_command("evaluate_recommendations", str(bad))
    with pytest.raises(CommandError, match="Unknown method"):
        call_command("evaluate_recommendations", str(bad), "--methods", "magic")
    with pytest.raises(CommandError, match="does not exist"):
        call_command("evaluate_recommendations", str(tmp_path / "nope.csv"))
