"""A saved pricing rule takes effect at once for prices outside its new bounds; a price set outside the
engine (a product saved with a new price, a catalogue import) goes into the price history."""

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from ai.pricing import review, tasks
from ai.pricing.models import PricingRule
from commerce.catalogue.models import Product
from commerce.catalogue.signals import products_bulk_changed
from core.queueing import enqueue


@receiver(post_save, sender=PricingRule, dispatch_uid="pricing_enforce_rule_bounds_on_save")
def rule_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        enqueue(tasks.enforce_rule_bounds, instance.pk)


@receiver(pre_save, sender=Product, dispatch_uid="pricing_remember_stored_price")
def remember_stored_price(sender, instance, raw=False, **kwargs):
    # One indexed read per product save (editors, code); bulk writes send no signal and cost nothing.
    if not raw and instance.pk is not None:
        instance._stored_price = Product.objects.filter(pk=instance.pk).values_list("price", flat=True).first()


@receiver(post_save, sender=Product, dispatch_uid="pricing_record_manual_price")
def record_manual_price(sender, instance, created, raw=False, **kwargs):
    stored = getattr(instance, "_stored_price", None)
    if created or raw or stored is None or stored == instance.price:
        return
    # Kept on the instance: the admin's after-edit hook adds the editor (ai.pricing.wagtail_hooks).
    [instance._manual_price_entry] = review.record_manual_prices([(instance.pk, stored, instance.price)],
                                                                 reason="edited on the product")


@receiver(products_bulk_changed, dispatch_uid="pricing_record_imported_prices")
def record_imported_prices(sender, price_changes=(), **kwargs):
    if price_changes:
        review.record_manual_prices(list(price_changes), reason="catalogue import")
