import pytest
from wagtail.test.utils.form_data import nested_form_data, streamfield

pytestmark = pytest.mark.django_db

AUTOSAVE = {"HTTP_ACCEPT": "application/json"}  # how the editor's autosave posts: it expects JSON back


def edit_form(page, *blocks) -> dict:
    return nested_form_data({"title": page.title, "slug": page.slug, "body": streamfield(list(blocks))})


def test_autosave_of_an_unchanged_home_page_is_accepted(admin_client, wagtail_site):
    response = admin_client.post(f"/admin/pages/{wagtail_site.pk}/edit/", edit_form(wagtail_site), **AUTOSAVE)

    assert response.status_code == 200 and response.json()["success"]


def test_autosave_keeps_a_block_just_added_and_not_yet_filled_in(admin_client, wagtail_site):
    just_added = ("semantic_search", {"title": "", "mode": "curated", "query": "", "category": "", "max_price": "",
                                      "in_stock": "on", "count": "8"})

    response = admin_client.post(f"/admin/pages/{wagtail_site.pk}/edit/", edit_form(wagtail_site, just_added),
                                 **AUTOSAVE)

    assert response.status_code == 200 and response.json()["success"]
    wagtail_site.refresh_from_db()
    draft = wagtail_site.get_latest_revision_as_object()
    assert [block.block_type for block in draft.body] == ["semantic_search"]


def test_publishing_still_refuses_a_curated_search_without_its_query(admin_client, wagtail_site):
    just_added = ("semantic_search", {"title": "", "mode": "curated", "query": "", "category": "", "max_price": "",
                                      "in_stock": "on", "count": "8"})

    response = admin_client.post(f"/admin/pages/{wagtail_site.pk}/edit/",
                                 {**edit_form(wagtail_site, just_added), "action-publish": "action-publish"})

    assert response.status_code == 200  # the form again, with the error
    assert "Type the query whose results to show." in response.content.decode()
