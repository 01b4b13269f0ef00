"""Thin Celery wrappers over the experiments' services (batch queue); each is safe to repeat."""

from celery import shared_task

from ai.experiments import guardrails


@shared_task(ignore_result=True)
def enforce_guardrails():
    """Beat, every 15 minutes: pause running experiments whose variant is significantly worse than the
    control on a guardrail metric. A repeat finds them paused and changes nothing."""
    guardrails.enforce_all()
