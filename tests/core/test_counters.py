from django.core.cache import cache

from core import counters


def test_a_counter_starts_at_one_and_only_grows():
    # given a counter never read
    cache.delete("test-counter")

    # when it is read, bumped, read again
    first = counters.current("test-counter")
    counters.bump("test-counter")

    # then
    assert (first, counters.current("test-counter")) == (1, 2)


def test_a_counter_bumped_before_it_was_ever_read_starts_anyway():
    cache.delete("test-counter")

    counters.bump("test-counter")

    assert counters.current("test-counter") == 1
