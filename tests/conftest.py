import pytest
import redis.connection
from django.core.cache import cache

from ai.common import stop_side_threads
from ai.experiments import serving as experiments
from ai.recommendations import rules as recommendation_rules
from tests.factories import CategoryFactory, CustomerFactory, ProductFactory, stored_event
from tests.spare_servers import kill, redis_pid, spare_servers
from vitrine import embedded
from vitrine.celery import app as celery_app


@pytest.fixture(autouse=True)
def clean_redis():
    """Each test starts and ends with an empty Redis database (cache, sessions, broker queues), and
    without the process's own copies of which experiments run and of the recommendation rules (they would
    outlive the test's database)."""
    for forget in (cache.clear, experiments.forget_running, recommendation_rules.forget_local):
        forget()
    yield
    for forget in (cache.clear, experiments.forget_running, recommendation_rules.forget_local):
        forget()


@pytest.fixture(scope="session", autouse=True)
def side_threads_stopped(django_db_setup):
    """The side threads' connections (``ai.common.beside``) closed before the test database is dropped."""
    yield
    stop_side_threads()


@pytest.fixture(scope="session")
def dead_broker_url():
    """The socket of a Redis that was killed: connecting to it is refused, as during a broker outage."""
    with spare_servers() as (root, _):
        kill(redis_pid(root))
        yield f"redis+socket://{embedded.redis_socket_path(root)}"


@pytest.fixture
def broker_down(dead_broker_url, monkeypatch):
    """Celery publishes to the dead broker during the test; the cache and sessions keep the suite's Redis."""
    monkeypatch.setattr(celery_app.conf, "broker_url", dead_broker_url)


@pytest.fixture
def broker_connection_attempts(broker_down, dead_broker_url, monkeypatch) -> list[str]:
    """One entry per connection tried to the dead broker (``broker_down``): publishing that gives up at
    the first refusal tries once a task, where kombu's retries would try several times."""
    attempts, connect = [], redis.connection.UnixDomainSocketConnection._connect
    path = dead_broker_url.removeprefix("redis+socket://")

    def counted(connection):
        if connection.path == path:
            attempts.append(connection.path)
        return connect(connection)

    monkeypatch.setattr(redis.connection.UnixDomainSocketConnection, "_connect", counted)
    return attempts


@pytest.fixture
def shopper_client(client):
    """A browser-like client: VisitorMiddleware gives it a visitor cookie on its first request."""
    client.get("/cart/")
    return client


@pytest.fixture
def wagtail_site(django_db_blocker):
    """The page tree migrations create (root → HomePage, default Site, root collection), rebuilt if a
    transactional test before this one flushed it."""
    from django.conf import settings
    from wagtail.coreutils import get_supported_content_language_variant
    from wagtail.models import Collection, Locale, Page, Site

    from home.models import HomePage

    with django_db_blocker.unblock():
        if Collection.get_first_root_node() is None:  # images and permissions hang off the root collection
            Collection.add_root(name="Root")
        home = HomePage.objects.first()
        if home is None:
            Locale.objects.get_or_create(language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE))
            root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
            home = root.add_child(instance=HomePage(title="Vitrine", slug="home"))
        Site.objects.update_or_create(is_default_site=True, defaults={
            "hostname": "localhost", "port": 80, "root_page": home, "site_name": "Vitrine"})
    return home


@pytest.fixture
def small_recommender(settings):
    """Two tastes need few factors; more, with little regularisation, would fit a tiny shop's noise."""
    settings.VITRINE_RECOMMENDATIONS = {"factors": 4, "iterations": 15, "neighbours": 10, "regularization": 5.0}


@pytest.fixture
def shop(small_recommender):
    """Coffee lovers and gardeners: each buys most of their department; one coffee mug is sold out and
    one coffee grinder is discontinued, so neither may be recommended. A newcomer bought one coffee
    product and viewed another."""
    coffee, garden = CategoryFactory(name="Coffee"), CategoryFactory(name="Garden")
    products = {f"coffee{i}": ProductFactory(title=f"Coffee thing {i}", category=coffee) for i in range(5)}
    products |= {f"garden{i}": ProductFactory(title=f"Garden thing {i}", category=garden) for i in range(5)}
    products["sold_out"] = ProductFactory(title="Sold-out coffee mug", category=coffee, stock=0)
    products["retired"] = ProductFactory(title="Retired coffee grinder", category=coffee, active=False)
    customers = {}
    for taste in ("coffee", "garden"):
        for n in range(15):
            customer = customers[f"{taste}{n}"] = CustomerFactory()
            for i in range(5):
                if (n + i) % 5 != 0:
                    stored_event("purchase", products[f"{taste}{i}"], customer=customer)
                    stored_event("view", products[f"{taste}{i}"], customer=customer)
            if taste == "coffee":
                stored_event("purchase", products["sold_out"], customer=customer)
                stored_event("purchase", products["retired"], customer=customer)
    newcomer = customers["newcomer"] = CustomerFactory()
    stored_event("purchase", products["coffee0"], customer=newcomer)
    stored_event("view", products["coffee1"], customer=newcomer)
    return products, customers
