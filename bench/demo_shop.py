"""The demo's own shop at a benchmark's size: what the recommendation and page benchmarks measure on."""

import io

from django.core.management import call_command


def simulated_shop(products: int, customers: int, **seed_options) -> None:
    """``seed_demo`` with ``products`` products and its 50 demo accounts, then ``simulate_shoppers`` with
    ``customers`` shoppers over 60 days, quietly, in the current database. ``seed_options``: more of
    ``seed_demo``'s options (``no_search_index=True``)."""
    call_command("seed_demo", products=products, customers=50, verbosity=0, stdout=io.StringIO(), **seed_options)
    call_command("simulate_shoppers", customers=customers, days=60, verbosity=0, stdout=io.StringIO())
