import datetime as dt
import uuid
from decimal import Decimal

import factory
import numpy as np
from django.contrib.auth import get_user_model
from django.utils import timezone

from ai.pricing.models import DemandSignal, PriceChange, PricingRule, Strategy
from ai.search.models import ProductEmbedding
from commerce.catalogue.models import Category, Product, ProductVariant
from commerce.customers.models import Address, Customer
from commerce.events.services import store_events
from commerce.orders.models import LineItem, Order


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    title = factory.Sequence(lambda n: f"Stoneware mug {n}")
    description = "A hand-thrown stoneware mug with a speckled glaze."
    category = factory.SubFactory(CategoryFactory)
    attributes = factory.LazyFunction(lambda: {"colour": "sand", "material": "stoneware"})
    base_price = Decimal("12.50")
    stock = 10
    active = True


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductVariant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    options = factory.LazyFunction(lambda: {"size": "M"})
    stock = 5


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"shopper{n}@example.com")
    email = factory.LazyAttribute(lambda u: u.username)
    first_name = "Sam"
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    user = factory.SubFactory(UserFactory)


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    customer = factory.SubFactory(CustomerFactory)
    full_name = "Sam Shopper"
    line1 = factory.Sequence(lambda n: f"{n + 1} High Street")  # a customer's addresses differ
    city = "Bristol"
    postcode = "BS1 1AA"
    country = "GB"
    is_default = True


class PricingRuleFactory(factory.django.DjangoModelFactory):
    """A global default rule unless given a product or category: ±20 % of base, 10 % per day, 2 % auto."""

    class Meta:
        model = PricingRule

    name = factory.Sequence(lambda n: f"Pricing rule {n}")
    max_discount_percent = Decimal("20")
    max_markup_percent = Decimal("20")
    max_change_percent = Decimal("10")
    interval_hours = 24
    auto_approve_percent = Decimal("2")
    strategy = Strategy.RULES
    enabled = True


class PriceChangeFactory(factory.django.DjangoModelFactory):
    """A pending 8 % rise of a 12.50 product."""

    class Meta:
        model = PriceChange

    product = factory.SubFactory(ProductFactory)
    signal_at = factory.Sequence(lambda n: dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=30 * n))
    strategy = Strategy.RULES
    previous_price = factory.LazyAttribute(lambda change: change.product.price)
    proposed_price = factory.LazyAttribute(lambda change: (change.previous_price * Decimal("1.08")).quantize(
        Decimal("0.01")))
    new_price = factory.LazyAttribute(lambda change: change.proposed_price)
    reason = "raise 8%: test"
    status = PriceChange.Status.PENDING


class DemandSignalFactory(factory.django.DjangoModelFactory):
    """A product's demand as the engine stores it, as of 12:00 on 10 March 2026: nothing viewed or sold, the
    product's stock. A product has one signal: a later one replaces it, as the next run's does."""

    class Meta:
        model = DemandSignal

    product = factory.SubFactory(ProductFactory)
    as_of = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    views_per_hour = 0.0
    add_to_cart_rate = None
    units_last_day = 0.0
    units_daily_average = 0.0
    stock = factory.LazyAttribute(lambda signal: signal.product.stock)
    # Days the stock lasts at the faster of the two paces; none while nothing sells.
    stock_cover_days = factory.LazyAttribute(
        lambda signal: signal.stock / pace if (pace := max(signal.units_last_day, signal.units_daily_average))
        else None)

    @classmethod
    def _create(cls, model_class, product, **fields):
        return model_class.objects.update_or_create(product=product, defaults=fields)[0]


def stored_event(event_type: str, product: Product, *, customer: Customer | None = None, visitor=None,
                 hours_ago: float = 1.0, quantity: int = 1) -> None:
    """A behavioural event already drained into PostgreSQL, ``hours_ago`` before now."""
    store_events([{
        "id": str(uuid.uuid4()), "created_at": (timezone.now() - dt.timedelta(hours=hours_ago)).isoformat(),
        "event_type": event_type, "customer_id": customer.pk if customer else None,
        "anonymous_id": str(visitor) if visitor else None, "product_id": product.pk, "quantity": quantity,
    }])


def embedding(product: Product, *hot: tuple[int, float]) -> None:
    """A hand-made text embedding: 0.01 everywhere but the (dimension, weight) pairs given, normalised."""
    values = np.full(384, 0.01, dtype=np.float32)
    for index, weight in hot:
        values[index] = weight
    ProductEmbedding.objects.create(product=product, embedding=values / np.linalg.norm(values), text_hash="test",
                                    model_version="test")


def indexed_catalogue() -> dict[str, Product]:
    """Four products in two departments, embedded and keyword-indexed with fresh term statistics: a
    dripper and a kettle (Coffee & Tea), a sold-out spade and a trowel (Garden Tools)."""
    from ai.search import indexing

    coffee = CategoryFactory(name="Coffee & Tea")
    garden = CategoryFactory(name="Garden Tools")
    products = {
        "dripper": ProductFactory(title="Ceramic Pour-Over Coffee Dripper", category=coffee,
                                  description="Brew a clean, bright cup by hand with a paper filter.",
                                  attributes={"material": "ceramic"}, base_price=Decimal("24.00")),
        "kettle": ProductFactory(title="Gooseneck Kettle", category=coffee,
                                 description="A slow, steady pour for filter coffee.",
                                 attributes={"material": "steel"}, base_price=Decimal("45.00")),
        "spade": ProductFactory(title="Stainless Steel Border Spade", category=garden,
                                description="Digs clean edges in heavy clay soil.",
                                attributes={"material": "steel"}, base_price=Decimal("39.00"), stock=0),
        "trowel": ProductFactory(title="Hand Trowel with Ash Handle", category=garden,
                                 description="For planting bulbs and seedlings.", base_price=Decimal("12.00")),
    }
    indexing.index_products([p.pk for p in products.values()])
    indexing.refresh_term_statistics()
    return products


def spelling_catalogue() -> dict[str, Product]:
    """Products whose words are one or two edits from a misspelling ("lether") and from real words the
    shop does not sell ("boots" → book, "lovers" → cover, "toaster" → roaster, "plorth" → north), indexed
    with fresh term statistics. The best "leather wallet" match is sold out."""
    from ai.search import indexing

    accessories, home = CategoryFactory(name="Accessories"), CategoryFactory(name="Home")
    products = {
        "wallet": ProductFactory(title="Leather Wallet", category=accessories, stock=0,
                                 description="Slim.", attributes={"material": "leather"}),
        "bifold": ProductFactory(title="Leather Bifold Wallet", category=accessories,
                                 description="Eight card slots and a coin pocket, in vegetable-tanned hide.",
                                 attributes={"material": "leather"}),
        "canvas": ProductFactory(title="Canvas Zip Wallet", category=accessories,
                                 description="Waxed cotton with a brass zip.", attributes={"material": "canvas"}),
        "book": ProductFactory(title="Cookery Book", category=home, description="Recipes for every season.",
                               attributes={}),
        "cover": ProductFactory(title="Linen Cushion Cover", category=home, description="Stonewashed linen.",
                                attributes={"material": "linen"}),
        "roaster": ProductFactory(title="Stovetop Coffee Roaster", category=home,
                                  description="Roast green beans at home.", attributes={"material": "steel"}),
        "north": ProductFactory(title="North Coast Print", category=home, description="A giclée print of the "
                                "Northumberland coast.", attributes={}),
    }
    indexing.index_products([p.pk for p in products.values()])
    indexing.refresh_term_statistics()
    return products


class SynonymFactory(factory.django.DjangoModelFactory):
    """An enabled two-way group, "sofa, couch, settee" (terms as ``Synonym.clean`` stores them)."""

    class Meta:
        model = "search.Synonym"

    kind = "two_way"
    terms = "sofa, couch, settee"
    targets = ""


class QueryRuleFactory(factory.django.DjangoModelFactory):
    """An enabled, always-live rule for the exact query "coffee" that pins nothing yet: give it an
    ``action`` and what the action needs (``products=[…]`` for pins, hides and buries)."""

    class Meta:
        model = "search.QueryRule"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Rule {n}")
    query = "coffee"
    action = "pin"
    position = 1

    @factory.post_generation
    def products(self, create, extracted, **kwargs):
        if extracted:
            self.products = extracted
            self.save()


class RecommendationRuleFactory(factory.django.DjangoModelFactory):
    """An enabled, always-live rule for the home row that does nothing yet: give it what it should do
    (``hidden_products=[…]``, ``hidden_categories=[…]``, ``pin_product=…, pin_position=…``, a boost…)."""

    class Meta:
        model = "recommendations.RecommendationRule"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Recommendation rule {n}")
    placements = factory.LazyFunction(lambda: ["home"])

    @factory.post_generation
    def hidden_products(self, create, extracted, **kwargs):
        if extracted:
            self.hidden_products = extracted
            self.save()

    @factory.post_generation
    def hidden_categories(self, create, extracted, **kwargs):
        if extracted:
            self.hidden_categories = extracted
            self.save()


class ExperimentFactory(factory.django.DjangoModelFactory):
    """A running 50/50 carousel experiment: control "a" trending, "b" personalised."""

    class Meta:
        model = "experiments.Experiment"
        skip_postgeneration_save = True

    key = factory.Sequence(lambda n: f"experiment-{n}")
    name = factory.Sequence(lambda n: f"Experiment {n}")
    hypothesis = "Personalised carousels earn more clicks than trending ones."
    surface = "recommendation_block"
    primary_metric = "recommendation_ctr"
    status = "running"
    starts_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=60))
    minimum_sample_size = 100

    @factory.post_generation
    def variants(experiment, create, extracted, **kwargs):
        """``variants=[(key, weight, strategy, is_control), ...]``; default a/b 50/50."""
        from ai.experiments.models import Variant

        specs = extracted or [("a", 50, "trending", True), ("b", 50, "personalised", False)]
        for order, (key, weight, strategy, is_control) in enumerate(specs):
            Variant.objects.create(experiment=experiment, key=key, name=key.upper(), weight=weight,
                                   strategy=strategy, is_control=is_control, sort_order=order)


def visitor_in(experiment, variant: str) -> uuid.UUID:
    """A visitor id the running ``experiment`` hashes into ``variant``."""
    from ai.experiments import serving

    definition = serving.definition(experiment.key)
    return next(v for v in iter(uuid.uuid4, None) if serving.hashed_variant(definition, v).key == variant)


BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15"


def browse_as(client, visitor: uuid.UUID, **headers):
    """The test client as the shopper with this visitor cookie (signed as VisitorMiddleware signs it),
    with a browser's user agent (experiments leave bots out)."""
    from django.http import HttpResponse

    from commerce.customers.middleware import VisitorMiddleware
    from commerce.customers.services import VISITOR_COOKIE

    signed = HttpResponse()
    signed.set_signed_cookie(VISITOR_COOKIE, str(visitor), salt=VisitorMiddleware.salt)
    client.cookies[VISITOR_COOKIE] = signed.cookies[VISITOR_COOKIE].value
    client.defaults.update({"HTTP_USER_AGENT": BROWSER, **headers})
    return client


def user_with(*codenames):
    """A user with exactly these permissions, read back from the database (a user caches its permissions)."""
    from django.contrib.auth.models import Permission

    user = UserFactory()
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)


def shopper_request(visitor=None, customer=None, user_agent=BROWSER, **headers):
    """A GET request of a shopper as the middleware leaves it: their visitor id (a new one if not given),
    the customer's user or an anonymous one, a browser's user agent (experiments leave bots out)."""
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    made = RequestFactory().get("/", HTTP_USER_AGENT=user_agent, **headers)
    made.visitor_id = visitor or uuid.uuid4()
    made.user = customer.user if customer else AnonymousUser()
    return made


def editor(client, *codenames):
    """A Wagtail editor with exactly these permissions (besides admin access), logged in on ``client``."""
    from django.contrib.auth.models import Permission

    user = UserFactory()
    user.user_permissions.add(*Permission.objects.filter(codename__in=["access_admin", *codenames]))
    client.force_login(user)
    return user


def transition(experiment, action: str):
    """Start, pause or finish ``experiment`` as the admin does, committed: the cached definitions are
    dropped on commit, so the next request sees the change."""
    from django.test import TestCase

    from ai.experiments import serving

    with TestCase.captureOnCommitCallbacks(execute=True):
        return serving.transition(experiment, action)


def ranked_ids(ranking: list[tuple[int, float]]) -> list[int]:
    """The product ids of a ranking of (product id, score) pairs, in its order."""
    return [product_id for product_id, _ in ranking]


def publish_home(home, product: Product) -> None:
    """The home page's body: a hero ("Autumn at home") and a product grid ("New this week") of ``product``."""
    home.body = [
        ("hero", {"headline": "Autumn at home", "text": "Warm throws and soft light.",
                  "link_text": "Shop the edit", "link_url": "/shop/", "link_page": None, "image": None}),
        ("product_grid", {"title": "New this week", "products": [product]}),
    ]
    home.save_revision().publish()


def placed_order(*products: Product, customer: Customer | None = None, days_ago: float = 0,
                 status: str = Order.Status.PLACED) -> Order:
    """An order of one of each of ``products``, placed ``days_ago`` days ago (by a new customer unless given)."""
    order = Order.objects.create(customer=customer or CustomerFactory(), email="a@example.com", full_name="A",
                                 line1="1 High St", city="Bath", postcode="BA1", currency="GBP", total=10,
                                 status=status)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - dt.timedelta(days=days_ago))
    LineItem.objects.bulk_create([LineItem(order=order, product=product, title=product.title, quantity=1,
                                           unit_price=5) for product in products])
    return order
