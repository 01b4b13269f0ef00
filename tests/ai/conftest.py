import pytest

from tests.factories import indexed_catalogue, spelling_catalogue


@pytest.fixture
def catalogue():
    """A small coffee, garden and home catalogue, embedded and keyword-indexed (``indexed_catalogue``)."""
    return indexed_catalogue()


@pytest.fixture
def spelling():
    """Misspellings and real words near the catalogue's words, and a sold-out wallet (``spelling_catalogue``)."""
    return spelling_catalogue()
