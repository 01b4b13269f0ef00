"""Who the simulated shoppers are: their accounts, and the tastes they shop the catalogue with.

A simulated customer is the user ``simulated-<seed>-<i>@example.com`` (unusable password, one default
address) with latent tastes drawn from a ``random.Random`` seeded with (seed, index): 1–3 favourite
categories with Dirichlet(1) weights, an exploration rate, a price sensitivity and a buying propensity.
Within a category, product popularity is Zipf-like, so a few products are bestsellers.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from commerce.catalogue.models import Product
from commerce.customers.models import Address, Customer
from demo.vocabulary import load_people

ZIPF_EXPONENT = 1.1
NAMES = load_people()["simulated_shoppers"]


class CatalogueEmpty(Exception):
    """There are no active products to simulate shopping for."""


# --- the catalogue as the simulation sees it --------------------------------------------------------


@dataclass
class Catalogue:
    category_ids: list[int]
    # per category: (id, price, price as text, title, currency)
    products: list[list[tuple[int, Decimal, str, str, str]]]
    popularity: list[list[float]]  # Zipf weight of each product within its category
    price_z: list[list[float]]  # standardised log price within the category
    category_cum: list[float]  # cumulative sqrt(size) weights: how likely a category is picked

    def __len__(self) -> int:
        return len(self.category_ids)


def load_catalogue(seed: int) -> Catalogue:
    rows = list(Product.objects.filter(active=True).order_by("pk")
                .values_list("pk", "category_id", "price", "title", "currency"))
    if not rows:
        raise CatalogueEmpty("There are no active products to shop for: run `manage.py seed_demo` first.")
    by_category: dict[int, list] = {}
    for pk, category_id, price, title, currency in rows:
        price = price if price is not None else Decimal("0.00")
        by_category.setdefault(category_id, []).append((pk, price, str(price), title[:250], currency))
    category_ids = sorted(by_category)
    rng = random.Random(f"{seed}:popularity")
    products, popularity, price_z = [], [], []
    for category_id in category_ids:
        items = by_category[category_id]
        ranks = list(range(len(items)))
        rng.shuffle(ranks)  # which products of the category are the bestsellers
        logs = [math.log(float(item[1]) + 1.0) for item in items]
        mean = sum(logs) / len(logs)
        spread = math.sqrt(sum((x - mean) ** 2 for x in logs) / len(logs)) or 1.0
        products.append(items)
        popularity.append([1.0 / (rank + 1) ** ZIPF_EXPONENT for rank in ranks])
        price_z.append([(x - mean) / spread for x in logs])
    category_cum = list(accumulate(math.sqrt(len(items)) for items in products))
    return Catalogue(category_ids, products, popularity, price_z, category_cum)


# --- shoppers ---------------------------------------------------------------------------------------


@dataclass
class Profile:
    favourites: list[int]  # category indexes
    favourite_cum: list[float]
    explore: float
    price_beta: float  # > 0 prefers the dearer products of a category, < 0 the cheaper ones
    buy_probability: float
    product_cum: dict[int, list[float]] = field(default_factory=dict)

    def pick_product(self, rng: random.Random, catalogue: Catalogue) -> tuple[int, int, bool]:
        """A category index and a position in it to view, and whether the category is a favourite."""
        if rng.random() < self.explore:
            category = bisect.bisect(catalogue.category_cum, rng.random() * catalogue.category_cum[-1])
            category = min(category, len(catalogue) - 1)
        else:
            cum = self.favourite_cum
            category = self.favourites[min(bisect.bisect(cum, rng.random() * cum[-1]), len(cum) - 1)]
        cum = self.product_cum.get(category)
        if cum is None:
            beta, weights = self.price_beta, catalogue.popularity[category]
            cum = self.product_cum[category] = list(accumulate(
                w * math.exp(beta * z) for w, z in zip(weights, catalogue.price_z[category], strict=True)))
        position = min(bisect.bisect(cum, rng.random() * cum[-1]), len(cum) - 1)
        return category, position, category in self.favourites


def make_profile(rng: random.Random, catalogue: Catalogue) -> Profile:
    count = min(len(catalogue), rng.choices((1, 2, 3), weights=(0.3, 0.45, 0.25))[0])
    favourites: list[int] = []
    while len(favourites) < count:
        category = min(bisect.bisect(catalogue.category_cum, rng.random() * catalogue.category_cum[-1]),
                       len(catalogue) - 1)
        if category not in favourites:
            favourites.append(category)
    weights = [rng.gammavariate(1.0, 1.0) + 1e-6 for _ in favourites]  # Dirichlet(1, …, 1) after normalising
    return Profile(
        favourites=favourites, favourite_cum=list(accumulate(weights)), explore=rng.uniform(0.05, 0.25),
        price_beta=rng.gauss(0.0, 0.8), buy_probability=rng.uniform(0.25, 0.45),
    )


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def new_uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


# --- identities ---------------------------------------------------------------------------------------


@dataclass
class Shopper:
    index: int
    customer_id: int | None  # None: an anonymous visitor who never logs in
    visitor_id: uuid.UUID
    address: tuple | None = None  # (email, full_name, line1, line2, city, postcode, country)


def username(seed: int, index: int) -> str:
    return f"simulated-{seed}-{index}@example.com"


def ensure_customers(seed: int, count: int, window_start: dt.datetime) -> tuple[list[Shopper], int]:
    """The seed's first ``count`` simulated customers as shoppers, the missing ones created (user, customer,
    address) in bulk and the rest reused. Returns the shoppers and how many customers were created."""
    User = get_user_model()
    wanted = {username(seed, i): i for i in range(count)}
    prefix = f"simulated-{seed}-"
    with transaction.atomic():
        users = dict(User.objects.filter(username__startswith=prefix).values_list("username", "pk"))
        new_users = []
        for name, i in wanted.items():
            if name in users:
                continue
            rng = random.Random(f"{seed}:identity:{i}")
            joined = window_start - dt.timedelta(days=rng.uniform(0, 365))
            new_users.append(User(
                username=name, email=name, first_name=rng.choice(NAMES.first_names),
                last_name=rng.choice(NAMES.last_names), password=make_password(None), date_joined=joined,
            ))
        for user in User.objects.bulk_create(new_users, batch_size=5000):
            users[user.username] = user.pk
        customers = dict(Customer.objects.filter(user__username__startswith=prefix)
                         .values_list("user_id", "pk"))
        new_customers = [Customer(user_id=users[name], accepts_marketing=random.Random(
            f"{seed}:identity:{i}:marketing").random() < 0.4)
            for name, i in wanted.items() if users[name] not in customers]
        created = Customer.objects.bulk_create(new_customers, batch_size=5000)
        for customer in created:
            customers[customer.user_id] = customer.pk
        if created:  # bulk_create overwrites auto_now_add values: sign-up time = date joined
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""UPDATE {Customer._meta.db_table} c SET created_at = u.date_joined
                        FROM {User._meta.db_table} u WHERE u.id = c.user_id AND c.id = ANY(%s)""",
                    [[c.pk for c in created]],
                )
        customer_ids = {name: customers[users[name]] for name in wanted}
        with_address = set(Address.objects.filter(customer_id__in=customer_ids.values(), is_default=True)
                           .values_list("customer_id", flat=True))
        addresses = []
        for name, i in wanted.items():
            if customer_ids[name] in with_address:
                continue
            rng = random.Random(f"{seed}:identity:{i}")
            rng.random()  # the sign-up draw above
            first, last = rng.choice(NAMES.first_names), rng.choice(NAMES.last_names)
            city, area = rng.choice(NAMES.cities)
            addresses.append(Address(
                customer_id=customer_ids[name], full_name=f"{first} {last}",
                line1=f"{rng.randint(1, 180)} {rng.choice(NAMES.streets)}", city=city,
                postcode=f"{area}{rng.randint(1, 28)} {rng.randint(1, 9)}"
                         f"{rng.choice(NAMES.postcode_letters)}{rng.choice(NAMES.postcode_letters)}",
                country="GB", is_default=True,
            ))
        Address.objects.bulk_create(addresses, batch_size=5000)

    address_of = {cid: rest for cid, *rest in Address.objects.filter(
        customer_id__in=customer_ids.values(), is_default=True).values_list(
        "customer_id", "customer__user__email", "full_name", "line1", "line2", "city", "postcode",
        "country")}
    shoppers = []
    for name, i in wanted.items():
        customer_id = customer_ids[name]
        shoppers.append(Shopper(i, customer_id, new_uuid(random.Random(f"{seed}:visitor:{i}")),
                                tuple(address_of[customer_id])))
    return shoppers, len(created)


def anonymous_visitors(seed: int, count: int) -> list[Shopper]:
    """``count`` visitors who never log in (they browse and fill carts but do not buy)."""
    return [Shopper(j, None, new_uuid(random.Random(f"{seed}:anonymous:{j}"))) for j in range(count)]
