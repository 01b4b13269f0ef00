"""Signals orders send once the change is committed (commerce.events records them; AI refreshes on them).
They are sent robustly: a failing receiver is logged and never fails the shopper's request, whose change
is committed already (a retry would add to the cart twice)."""

from django.dispatch import Signal

# (cart, customer, visitor_id, product, variant, quantity, price): quantity > 0 added, < 0 removed; price is
# the unit price the shopper was shown.
cart_changed = Signal()
# (order): sent once per order after commit; the order's lines are saved.
order_placed = Signal()
# (return_): a return was requested for an order line.
return_requested = Signal()
