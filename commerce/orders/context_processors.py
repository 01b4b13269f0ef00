from django.utils.functional import SimpleLazyObject

from commerce.orders.services import cart_item_count, shopper_for


def cart_summary(request):
    """``cart_count`` for the header, read lazily (only pages that show it pay the Redis GET)."""
    return {"cart_count": SimpleLazyObject(lambda: cart_item_count(shopper_for(request, priced=False)))}
