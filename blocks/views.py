"""The shopper's own version of a personalised block, fetched by the page's script after it loads."""

from django.http import Http404, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_cookie
from wagtail.models import Page

from blocks import fragments


@require_GET
@cache_control(private=True, max_age=0)
@vary_on_cookie
def block_fragment(request, page_id: int, block_id: str):
    page = Page.objects.live().public().filter(pk=page_id).first()
    page = page.specific if page else None
    body = getattr(page, "body", None)
    # Found in the stored data: only this block's type has its values built (one chooser query at most).
    index = next((i for i, raw in enumerate(body.raw_data) if raw.get("id") == block_id), None) if body else None
    child = body[index] if index is not None else None
    if child is None or not getattr(child.block, "is_per_shopper", lambda raw: False)(body.raw_data[index]["value"]):
        raise Http404("No personalised block with that id on a live page.")
    html = fragments.cached(fragments.personal_key(request, page, block_id), fragments.PERSONAL_FRAGMENT_TTL,
                            lambda: child.block.render(child.value, context={
                                "request": request, "page": page, "block_id": block_id, "personal_fragment": True}))
    return HttpResponse(html)
