"""The API does what its published OpenAPI schema says. Schemathesis reads the schema the live server
serves at /api/v1/schema/, sends requests generated from it (valid ones and deliberately invalid ones) and
runs all its checks on every answer: no server error, every status code and body as documented, invalid
input refused, valid input accepted. Valid requests name products, categories and departments that exist. The tests
after it pin what the schema promises beyond that run: its operations and answers, money as a decimal
string, JSON-only beacon fields, a JSON 404 for any other API URL."""

from collections import Counter
from decimal import Decimal

import jsonschema_rs
import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig

from ai.pricing.models import PriceHistory
from ai.recommendations.rows import PRODUCT_SURFACES
from ai.search import indexing
from tests.factories import CategoryFactory, ProductFactory, stored_event

pytestmark = pytest.mark.django_db

OPERATIONS = {"POST /api/v1/events", "GET /api/v1/search", "GET /api/v1/recommendations",
              "GET /api/v1/prices/{product_id}"}


@pytest.fixture
def catalogue():
    """A small shop: a department with a subcategory, products in stock and sold out, one with a price change,
    and purchases, so that recommendations have popular products to show."""
    kitchen = CategoryFactory(name="Kitchen")
    tableware = CategoryFactory(name="Tableware", parent=kitchen)
    products = [
        ProductFactory(title="Speckled stoneware mug", category=tableware),
        ProductFactory(title="Oat linen napkin", category=tableware, base_price=Decimal("8.00"), stock=0),
        ProductFactory(title="Cast-iron skillet", category=kitchen, base_price=Decimal("48.00")),
        ProductFactory(title="Brass reading lamp", base_price=Decimal("120.00")),
    ]
    PriceHistory.objects.create(product=products[0], previous_price=Decimal("12.50"), price=Decimal("11.90"),
                                source=PriceHistory.Source.MANUAL, reason="Spring offer")
    for product in products:
        stored_event("purchase", product)
    indexing.index_products([product.pk for product in products])
    indexing.refresh_term_statistics()
    return {"products": [product.pk for product in products], "categories": [kitchen.pk, tableware.pk],
            "departments": [kitchen.slug]}


@pytest.fixture
def api_schema(live_server, catalogue, settings):
    """The served schema, loaded by schemathesis: the beacon gets the CSRF token a page of the shop sets,
    and valid requests name the catalogue's products and categories (ids the schema cannot list)."""
    # The throttles have tests of their own; here they would only refuse valid requests.
    settings.VITRINE_EVENT_BEACON_RATE = settings.VITRINE_EVENT_BEACON_RATE_PER_ADDRESS = "10000/min"
    csrf_token = requests.get(f"{live_server.url}/cart/", timeout=10).cookies["csrftoken"]
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/", config=SchemathesisConfig.from_dict({
        "generation": {"max-examples": 100},
        # Stricter than schemathesis's default, which also counts 403, 404 and 409 as accepting valid data.
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx"]}},
        "auth": {"openapi": {"csrfCookie": {"api_key": csrf_token}, "csrfHeader": {"api_key": csrf_token}}},
    }))

    @schema.hook("map_case")
    def valid_requests_name_the_catalogue(context, case):
        if not case.meta.generation.mode.is_positive:
            return case
        product, category = known(catalogue["products"]), known(catalogue["categories"])
        if case.operation.path == "/api/v1/events":
            for event in case.body["events"]:
                event["product"] = product(event["product"])
        elif case.operation.path == "/api/v1/prices/{product_id}":
            case.path_parameters["product_id"] = product(case.path_parameters["product_id"])
        elif case.operation.path == "/api/v1/recommendations":
            if "product" in case.query or case.query["surface"] in PRODUCT_SURFACES:
                case.query["product"] = product(case.query.get("product", 0))
        elif case.operation.path == "/api/v1/search":
            if "category" in case.query:
                case.query["category"] = category(case.query["category"])
            if "cat" in case.query:  # department slugs: the facet's values
                case.query["cat"] = catalogue["departments"]
            if case.query.get("min_price") and case.query.get("max_price"):
                low, high = sorted([case.query["min_price"], case.query["max_price"]], key=Decimal)
                case.query.update(min_price=low, max_price=high)
        return case

    return schema


def known(ids: list[int]):
    """Maps any generated id (an int, its string in a URL, or an empty parameter) onto one of ``ids``."""
    return lambda value: ids[int(value or 0) % len(ids)]


@pytest.fixture
def answers():
    """Every operation's status classes, checked once the run is over: a run that only ever got 4xx (a
    CSRF refusal, unknown ids) or never reached an operation would pass its checks and prove nothing."""
    answers = Counter()
    yield answers
    reached = {(operation, status_class) for operation, status_class in answers}
    assert reached == {(operation, status_class) for operation in OPERATIONS for status_class in (2, 4)}, answers


contract = schemathesis.pytest.from_fixture("api_schema")


@contract.parametrize()
@pytest.mark.django_db(transaction=True)  # the live server's thread reads what the fixtures wrote
def test_the_api_keeps_its_published_contract(case, answers):
    response = case.call()
    answers[case.operation.label, response.status_code // 100] += 1
    case.validate_response(response)


def test_the_schema_gives_every_operation_a_summary_a_description_and_all_its_answers(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    operations = {f"{method.upper()} {path}": operation
                  for path, methods in schema["paths"].items() for method, operation in methods.items()}

    assert {label: set(operation["responses"]) for label, operation in operations.items()} == {
        "POST /api/v1/events": {"202", "400", "403", "415", "429"},
        "GET /api/v1/search": {"200", "400"},
        "GET /api/v1/recommendations": {"200", "400", "404"},
        "GET /api/v1/prices/{product_id}": {"200", "400", "404"},
    }
    assert all(operation["summary"] and operation["description"] for operation in operations.values())
    assert list(operations["POST /api/v1/events"]["requestBody"]["content"]) == ["application/json"]


def test_the_query_pattern_refuses_exactly_the_one_character_queries_the_search_api_refuses(client):
    # Given the search query's published pattern, read as a schema validator reads it (ECMA-262's \s)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    query = next(p for p in schema["paths"]["/api/v1/search"]["get"]["parameters"] if p["name"] == "q")
    validator = jsonschema_rs.validator_for(query["schema"])
    # every character Python or ECMA-262 counts as space, and a few that are not
    candidates = [chr(code) for code in range(1, 0x3001) if chr(code).isspace()] + ["\ufeff", "a", "é", "\x1b"]

    # When each is sent alone as the query
    refused = {c for c in candidates if client.get("/api/v1/search", {"q": c}).status_code == 400}

    # Then the schema refuses exactly those
    assert {c for c in candidates if not validator.is_valid(c)} == refused


def test_every_api_writes_a_price_as_the_same_decimal_string(client):
    lamp = ProductFactory(title="Brass reading lamp", base_price=Decimal("120.50"))
    stored_event("purchase", lamp)
    indexing.index_products([lamp.pk])
    indexing.refresh_term_statistics()

    found = client.get("/api/v1/search", {"q": "reading lamp"}).json()["results"][0]
    recommended = client.get("/api/v1/recommendations", {"surface": "home"}).json()["results"][0]
    priced = client.get(f"/api/v1/prices/{lamp.pk}").json()

    assert found["price"] == recommended["price"] == priced["price"] == "120.50"


@pytest.mark.parametrize(("url", "status", "reason"), [
    ("/api/v1/search?q=lamp&category=99999999999999999999", 400, "Unknown category"),
    ("/api/v1/search?q=lamp&limit=99999999999999999999", 400, "less than or equal to 50"),
    ("/api/v1/search?q=lamp&min_price=99999999999999999999", 400, "Enter an amount"),
    ("/api/v1/recommendations?surface=product&product=99999999999999999999", 404, "No product"),
    ("/api/v1/prices/99999999999999999999", 404, "No product"),
])
def test_numbers_beyond_any_id_or_limit_get_a_4xx_with_the_reason(client, url, status, reason):
    response = client.get(url)  # past PostgreSQL's bigint

    assert response.status_code == status
    assert reason in str(response.json())


@pytest.mark.parametrize(("method", "url"), [
    ("get", "/api/v1/nowhere"),
    ("get", "/api/v1/prices/lamp"),
    ("get", "/api/v1/prices/1/2"),
    ("post", "/api/v1/events/"),
])
def test_any_other_api_url_is_a_json_404(client, method, url):
    response = getattr(client, method)(url)

    assert response.status_code == 404
    assert response.json() == {"detail": "No such API endpoint."}


def test_the_beacon_takes_json_only(client):
    product = ProductFactory()

    response = client.post("/api/v1/events", {"event_type": "recommendation_click", "product": product.pk,
                                               "surface": "x"})  # a form, as the schema no longer offers

    assert response.status_code == 415
    assert "Unsupported media type" in response.json()["detail"]


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("product", "1", "A valid integer is required."),
    ("query", 5, "Not a valid string."),
    ("surface", 5, "This value does not match the required pattern."),
    ("surface", " x", "This value does not match the required pattern."),  # not trimmed into a match
    ("surface", "x\n", "This value does not match the required pattern."),
])
def test_beacon_fields_take_only_what_their_schema_allows(client, field, value, reason):
    ProductFactory(pk=1)
    event = {"event_type": "recommendation_click", "product": 1, "surface": "x", field: value}

    response = client.post("/api/v1/events", {"events": [event]}, content_type="application/json")

    assert response.status_code == 400
    assert reason in str(response.json())
