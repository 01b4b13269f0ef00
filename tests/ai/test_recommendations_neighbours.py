import pytest

from ai.common import CarouselStrategy
from ai.recommendations import neighbours, serving
from ai.recommendations.models import ProductRecommendations
from ai.search.models import ProductEmbedding
from tests.factories import ProductFactory, embedding

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_coffee_scale(shop):
    """A product no model covers, its text closest to Coffee thing 3 of the products with an embedding."""
    products, _ = shop
    newcomer = ProductFactory(title="New coffee scale", category=products["coffee0"].category)
    embedding(newcomer, (0, 1.0))
    embedding(products["coffee3"], (0, 1.0), (5, 0.1))
    embedding(products["garden3"], (1, 1.0))
    return newcomer


def test_embedding_neighbours_fill_products_the_model_does_not_cover(shop, new_coffee_scale):
    products, _ = shop
    assert new_coffee_scale.pk in neighbours.products_needing_neighbours(100)

    assert neighbours.compute_embedding_neighbours([new_coffee_scale.pk]) == 1

    row = ProductRecommendations.objects.get(product=new_coffee_scale)
    assert row.similar_source == "embedding" and row.similar_ids[0] == products["coffee3"].pk
    assert new_coffee_scale.pk not in neighbours.products_needing_neighbours(100)


def test_a_similar_row_is_empty_until_the_beat_computes_it_then_served_at_once(
        shop, new_coffee_scale, django_capture_on_commit_callbacks):
    products, _ = shop
    before = serving.carousel(CarouselStrategy.SIMILAR, product_id=new_coffee_scale.pk, limit=4)  # cached

    with django_capture_on_commit_callbacks(execute=True):
        neighbours.compute_embedding_neighbours([new_coffee_scale.pk])
    after = serving.carousel(CarouselStrategy.SIMILAR, product_id=new_coffee_scale.pk, limit=4)

    assert before == []  # nothing similar yet: the block's "hide" fallback can hide it
    assert after[0].product == products["coffee3"] and after[0].strategy == "similar"


def test_saving_a_product_marks_its_embedding_neighbours_for_recomputation(
        new_coffee_scale, django_capture_on_commit_callbacks):
    neighbours.compute_embedding_neighbours([new_coffee_scale.pk])

    new_coffee_scale.title = "Coffee scale with timer"
    with django_capture_on_commit_callbacks(execute=True):
        new_coffee_scale.save()

    assert new_coffee_scale.pk in neighbours.products_needing_neighbours(100)
    assert ProductRecommendations.objects.get(product=new_coffee_scale).similar_ids == []


def test_blended_similar_lists_prefer_the_products_category_and_products_both_sources_name():
    # given: behaviour likes a garden product best, content a coffee one; both name coffee 2
    coffee, garden = 1, 2
    categories = {10: garden, 11: coffee, 12: coffee, 13: garden}
    behaviour = [(10, 0.9), (12, 0.6), (13, 0.3)]
    content = [(11, 0.8), (12, 0.7), (10, 0.1)]

    # when
    blended = neighbours.blend_similar(coffee, behaviour, content, categories, 3)

    # then
    assert [pid for pid, _ in blended] == [12, 11, 10]
    assert neighbours.blend_similar(None, behaviour, [], categories, 2)[0][0] == 10  # no category: behaviour only


def test_text_embedding_neighbours_are_kept_until_the_product_is_saved(
        new_coffee_scale, shop, django_capture_on_commit_callbacks):
    # given the newcomer's neighbours, computed once
    products, _ = shop
    assert neighbours.content_neighbours([new_coffee_scale.pk])[new_coffee_scale.pk][0][0] == products["coffee3"].pk

    # when another product's text moves nearer, the kept list stands
    ProductEmbedding.objects.filter(product=products["garden3"]).delete()
    embedding(products["garden3"], (0, 1.0))
    kept = neighbours.content_neighbours([new_coffee_scale.pk])[new_coffee_scale.pk]

    # then until the newcomer is saved, when it is computed afresh
    with django_capture_on_commit_callbacks(execute=True):
        new_coffee_scale.save()
    fresh = neighbours.content_neighbours([new_coffee_scale.pk])[new_coffee_scale.pk]
    assert kept[0][0] == products["coffee3"].pk
    assert fresh[0][0] == products["garden3"].pk
