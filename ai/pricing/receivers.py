"""A saved pricing rule takes effect at once for prices outside its new bounds."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from ai.pricing import tasks
from ai.pricing.models import PricingRule


@receiver(post_save, sender=PricingRule, dispatch_uid="pricing_enforce_rule_bounds_on_save")
def rule_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        transaction.on_commit(lambda: tasks.enforce_rule_bounds.delay(instance.pk))
