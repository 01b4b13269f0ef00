"""RejectNulInUrlMiddleware: a NUL anywhere in the URL is answered 400 with the reason, before a view or a
query sees it."""

import pytest

from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

REASON = "A URL cannot contain a NUL character (%00)."


@pytest.mark.parametrize("url", [
    "/checkout/done/a%00b/",  # these two reached PostgreSQL, which refused the NUL: a 500
    "/account/orders/a%00b/",
    "/account/orders/a%00b/returns/1/",
    "/a%00b/",  # Wagtail's page tree
    "/search/?q=lamp%00",
    "/shop/?sort=featured&page=%00",
])
def test_a_nul_in_the_path_or_the_query_string_is_a_400_with_the_reason(client, wagtail_site, url):
    client.force_login(CustomerFactory().user)

    response = client.get(url)

    assert response.status_code == 400
    assert response.content.decode() == REASON


@pytest.mark.parametrize("url", ["/api/v1/search?q=%00lamp", "/api/v1/prices/1%00"])
def test_the_api_answers_a_nul_in_the_url_in_json_as_its_other_errors(client, url):
    response = client.get(url)

    assert response.status_code == 400
    assert response.json() == {"detail": REASON}


def test_an_encoded_percent_sign_followed_by_00_is_not_a_nul(client, wagtail_site):
    response = client.get("/search/", {"q": "100%00"})  # sent as q=100%2500

    assert response.status_code == 200
    assert response.context["query"] == "100%00"
