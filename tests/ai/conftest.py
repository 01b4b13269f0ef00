import pytest

from tests.factories import indexed_catalogue


@pytest.fixture
def catalogue():
    """A small coffee, garden and home catalogue, embedded and keyword-indexed (``indexed_catalogue``)."""
    return indexed_catalogue()
