"""Keep assignments across login and the cached definitions fresh."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ai.experiments import serving
from ai.experiments.models import Experiment
from commerce.customers.signals import visitor_identified


@receiver(visitor_identified, dispatch_uid="experiments_assign_at_login")
def assign_at_login(sender, customer, visitor_id, **kwargs):
    serving.assign_at_login(customer.pk, visitor_id)


@receiver(post_save, sender=Experiment, dispatch_uid="experiments_forget_saved")
@receiver(post_delete, sender=Experiment, dispatch_uid="experiments_forget_deleted")
def forget_definition(sender, instance, **kwargs):
    # After the commit: a snippet edit saves the variants after the experiment (post_save comes first),
    # so forgetting now could let a concurrent request cache the old variants again.
    transaction.on_commit(lambda: serving.forget(instance))
