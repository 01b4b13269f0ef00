import pytest

from ai.recommendations.training import train_recommendations


@pytest.fixture
def publish(wagtail_site):
    """Publish the home page with the given StreamField blocks; returns the page and its block ids."""

    def publish_blocks(*blocks):
        home = wagtail_site
        home.body = [{"type": block_type, "value": value} for block_type, value in blocks]
        home.save_revision().publish()
        home.refresh_from_db()
        return home, [child.id for child in home.body]

    return publish_blocks


@pytest.fixture
def trained(shop):
    train_recommendations()
    return shop
