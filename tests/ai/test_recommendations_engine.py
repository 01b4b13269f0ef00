import numpy as np
import pytest
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares

from ai.recommendations import engine
from ai.recommendations.config import RecommenderSettings
from ai.recommendations.engine import TrainedModel

SETTINGS = RecommenderSettings(factors=4, iterations=20, regularization=0.1, alpha=2.0, neighbours=5,
                               item_item_share=0.5)


def two_taste_matrix() -> sp.csr_matrix:
    """Users 0–5 like items 0–3, users 6–11 like items 4–7; user 12 likes items 0 and 1 only."""
    rows, cols = [], []
    for user in range(12):
        items = range(4) if user < 6 else range(4, 8)
        for item in items:
            if (user + item) % 4 != 0:  # each user misses one item of their taste
                rows.append(user)
                cols.append(item)
    rows += [12, 12]
    cols += [0, 1]
    return engine.interaction_matrix(np.array(rows), np.array(cols), np.full(len(rows), 3.0, np.float32), (13, 8))


def test_interaction_matrix_sums_weights_and_drops_cells_a_return_cancelled():
    # given a purchase (8) and its return (-8) of item 0, and two views (1 + 1) of item 1
    matrix = engine.interaction_matrix(np.array([0, 0, 0, 0]), np.array([0, 0, 1, 1]),
                                       np.array([8, -8, 1, 1], dtype=np.float32), (1, 2))
    # then only item 1 remains, with the summed weight
    assert matrix.nnz == 1
    assert matrix[0, 1] == 2.0


def test_confidence_grows_with_diminishing_returns():
    matrix = sp.csr_matrix(np.array([[1.0, 10.0, 100.0]], dtype=np.float32))
    scaled = engine.confidence(matrix, alpha=2.0).toarray()[0]
    assert scaled == pytest.approx(2.0 * np.log1p([1.0, 10.0, 100.0]))
    # each further unit of weight adds less confidence than the one before
    assert (scaled[2] - scaled[1]) / 90 < (scaled[1] - scaled[0]) / 9 < scaled[0] / 1


def test_fold_in_matches_implicits_own_user_recalculation():
    # given a trained model and a new customer's interactions
    trained = engine.fit(two_taste_matrix(), SETTINGS, threads=1)
    row = engine.interaction_matrix(np.array([0, 0]), np.array([4, 5]), np.array([3.0, 8.0], np.float32), (1, 8))
    # when folded in with our closed form and with implicit's recalculate_user on the same item factors
    ours = engine.fold_in(trained, row)
    reference = AlternatingLeastSquares(factors=SETTINGS.factors, regularization=SETTINGS.regularization,
                                        alpha=1.0, use_cg=False)
    reference.item_factors = trained.product_factors
    reference.user_factors = np.zeros((1, SETTINGS.factors), dtype=np.float32)
    theirs = reference.recalculate_user(0, engine.confidence(row, SETTINGS.alpha))
    # then both give the same customer factors
    assert ours == pytest.approx(np.asarray(theirs).ravel(), rel=1e-3, abs=1e-4)


def test_blended_scores_rank_the_missing_item_of_the_customers_taste_first():
    matrix = two_taste_matrix()
    trained = engine.fit(matrix, SETTINGS, threads=1)
    scores = engine.blended_scores(trained, trained.customer_factors[[12]], matrix[[12]])
    indices, _ = engine.top_n(scores, matrix[[12]], None, 2)
    assert set(indices[0]) == {2, 3}


def test_without_item_item_and_popularity_shares_the_score_is_pure_als():
    matrix = two_taste_matrix()
    settings = RecommenderSettings(**{**SETTINGS.as_dict(), "item_item_share": 0.0, "popularity_share": 0.0})
    trained = engine.fit(matrix, settings, threads=1)
    scores = engine.blended_scores(trained, trained.customer_factors[:2], matrix[:2])
    als = trained.customer_factors[:2] @ trained.product_factors.T
    assert np.argsort(-scores, axis=1).tolist() == np.argsort(-als, axis=1).tolist()


def test_popularity_share_breaks_ties_toward_products_more_customers_chose():
    matrix = two_taste_matrix()
    settings = RecommenderSettings(**{**SETTINGS.as_dict(), "item_item_share": 0.0, "popularity_share": 1.0})
    trained = engine.fit(matrix, settings, threads=1)
    flat = np.zeros((1, SETTINGS.factors), dtype=np.float32)  # a customer the ALS part says nothing about
    scores = engine.blended_scores(trained, flat, sp.csr_matrix((1, 8), dtype=np.float32))
    customers_per_product = np.diff(matrix.tocsc().indptr)
    assert np.argmax(scores[0]) == np.argmax(customers_per_product)


def test_item_data_survives_the_round_trip_through_the_database_blob():
    trained = engine.fit(two_taste_matrix(), SETTINGS, threads=1)
    blob = engine.pack_item_data(trained, np.arange(100, 108))
    similarity, popularity = engine.unpack_item_data(blob)
    assert (similarity != trained.item_similarity).nnz == 0
    assert popularity.tolist() == trained.popularity.tolist()
    assert engine.unpack_product_ids(blob).tolist() == list(range(100, 108))


def test_top_n_skips_excluded_cells_and_unavailable_columns_and_pads():
    scores = np.array([[0.9, 0.8, 0.7, 0.6], [0.1, 0.2, 0.3, 0.4]], dtype=np.float32)
    exclude = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    available = np.array([True, True, False, True])
    indices, best = engine.top_n(scores, exclude, available, 3)
    assert indices[0].tolist() == [1, 3, -1]  # item 0 excluded for row 0, item 2 unavailable for all
    assert indices[1].tolist() == [3, 1, 0]
    assert best[1].tolist() == pytest.approx([0.4, 0.2, 0.1])


def test_explanations_name_the_most_alike_history_item():
    factors = np.array([[1, 0], [0, 1], [0.9, 0.1], [0.1, 0.9]], dtype=np.float32)
    model = TrainedModel(np.empty((0, 2), np.float32), factors, sp.csr_matrix((4, 4)), np.zeros(4), SETTINGS)
    assert engine.explanations(model, np.array([2, 3]), np.array([0, 1])).tolist() == [0, 1]
    assert engine.explanations(model, np.array([2]), np.array([], dtype=np.int64)).tolist() == [-1]


def test_behaviour_neighbours_are_products_the_same_customers_chose_never_itself_or_unavailable_ones():
    # given two tastes, items 0–3 and 4–7, and item 2 unavailable
    available = np.array([True, True, False, True, True, True, True, True])

    # when
    indices, _ = engine.behaviour_neighbours(two_taste_matrix(), available, 3)

    # then each item's neighbours are the other available items of its taste
    assert set(indices[0].tolist()) == {1, 3, -1}
    assert set(indices[5].tolist()) == {4, 6, 7}
    assert 2 not in indices.ravel()


ITEM_ONLY = {"als_share": 0.0, "item_item_share": 1.0, "popularity_share": 0.0}


@pytest.mark.parametrize("item_model", ["bm25", "cosine", "ease"])
def test_an_item_item_model_alone_ranks_the_missing_item_of_the_customers_taste_first(item_model):
    # given a model with no ALS part, only the item-item model of the kind
    matrix = two_taste_matrix()
    settings = RecommenderSettings(**{**SETTINGS.as_dict(), **ITEM_ONLY, "item_model": item_model, "ease_lambda": 1.0})
    # when it is fitted and scores customer 12 (items 0 and 1 of the first taste)
    trained = engine.fit(matrix, settings, threads=1)
    scores = engine.blended_scores(trained, trained.customer_factors[[12]], matrix[[12]])
    indices, _ = engine.top_n(scores, matrix[[12]], None, 2)
    # then it has no factors and recommends the rest of that taste
    assert trained.product_factors.shape == (8, 0)
    assert set(indices[0]) == {2, 3}


def test_ease_keeps_its_strongest_positive_neighbours_and_never_the_item_itself():
    # when EASE is fitted with room for two neighbours per item
    weights = engine.ease(engine.confidence(two_taste_matrix(), 1.0), regularization=1.0, neighbours=2)
    # then no item is its own neighbour, none has more than two, all weights are positive
    assert weights.diagonal().tolist() == [0.0] * 8
    assert np.diff(weights.indptr).max() <= 2
    assert (weights.data > 0).all()
    # and an item's neighbours come from its own taste
    assert set(weights[0].indices) <= {1, 2, 3}


def test_fold_in_of_a_model_without_factors_is_empty():
    settings = RecommenderSettings(**{**SETTINGS.as_dict(), **ITEM_ONLY})
    trained = engine.fit(two_taste_matrix(), settings, threads=1)
    row = engine.interaction_matrix(np.array([0]), np.array([4]), np.array([3.0], np.float32), (1, 8))
    assert engine.fold_in(trained, row).shape == (0,)


def test_without_factors_explanations_name_the_history_item_with_the_largest_item_item_weight():
    similarity = sp.csr_matrix(np.array([[0, 0, 0.9, 0.1], [0, 0, 0.2, 0.8], [0, 0, 0, 0], [0, 0, 0, 0]],
                                        dtype=np.float32))
    model = TrainedModel(np.empty((0, 0), np.float32), np.zeros((4, 0), np.float32), similarity, np.zeros(4),
                         SETTINGS)
    assert engine.explanations(model, np.array([2, 3]), np.array([0, 1])).tolist() == [0, 1]
    # a recommendation no history item points to has no explanation
    assert engine.explanations(model, np.array([1]), np.array([0])).tolist() == [-1]


def test_strongest_neighbours_are_positive_available_ones_without_filler():
    similarity = sp.csr_matrix(np.array([[0, 0.5, 0.9, 0.1], [0.5, 0, 0, 0], [0, 0, 0, 0], [0.3, 0, 0, 0]],
                                        dtype=np.float32))
    indices, _ = engine.strongest_neighbours(similarity, np.array([True, True, False, True]), 2)
    assert indices[0].tolist() == [1, 3]  # 2 is unavailable
    assert indices[1].tolist() == [0, -1]  # one neighbour, no filler
    assert indices[2].tolist() == [-1, -1]


def test_strongest_neighbours_break_ties_toward_the_lower_column():
    similarity = sp.csr_matrix(np.array([[0, 0.4, 0.7, 0.4, 0.4], [0] * 5, [0] * 5, [0] * 5, [0] * 5],
                                        dtype=np.float32))
    indices, scores = engine.strongest_neighbours(similarity, np.ones(5, dtype=bool), 3)
    assert indices[0].tolist() == [2, 1, 3]
    assert scores[0].tolist() == pytest.approx([0.7, 0.4, 0.4])


@pytest.mark.parametrize("shares", [ITEM_ONLY, {}], ids=["item-item model", "ALS blend"])
def test_batch_explanations_name_what_each_customers_own_explanations_name(shares):
    # given a model and a batch of customers with histories of different lengths, one with none
    matrix = two_taste_matrix()
    trained = engine.fit(matrix, RecommenderSettings(**{**SETTINGS.as_dict(), **shares}), threads=1)
    recommended = np.array([[2, 3, 0, -1], [6, 5, -1, -1], [0, 1, 2, 3], [4, 7, 6, 5]])
    histories = matrix[[0, 6, 12, 11]].tolil()
    histories.rows[3], histories.data[3] = [], []  # no history left to explain anything with
    histories = histories.tocsr()
    # when explained together
    because = engine.batch_explanations(trained, recommended, histories)
    # then each row is what explaining that customer alone gives, padded with -1
    for row, recs in enumerate(recommended):
        chosen = recs[recs >= 0]
        alone = engine.explanations(trained, chosen, histories[row].indices)
        assert because[row].tolist() == alone.tolist() + [-1] * (len(recs) - len(chosen))
    assert because[3].tolist() == [-1] * 4


def test_blend_variants_score_each_share_mix_as_a_model_with_those_shares_would():
    matrix = two_taste_matrix()
    trained = engine.fit(matrix, SETTINGS, threads=1)
    variants = [(0.5, 0.5, 0.1), (0.0, 1.0, 0.1), (0.7, 0.3, 0.0), (1.0, 0.0, 0.0)]
    scored = list(engine.blend_variants(trained, trained.customer_factors, matrix, variants))
    for (als, item_item, popular), scores in zip(variants, scored, strict=True):
        settings = RecommenderSettings(**{**SETTINGS.as_dict(), "als_share": als, "item_item_share": item_item,
                                          "popularity_share": popular})
        alone = engine.TrainedModel(trained.customer_factors, trained.product_factors, trained.item_similarity,
                                    trained.popularity, settings)
        assert np.array_equal(scores, engine.blended_scores(alone, trained.customer_factors, matrix))
