"""Record every failed Celery task in a capped Redis list, for the dashboard's "last task failures"."""

from celery.signals import task_failure

from ai.dashboard import services


@task_failure.connect(dispatch_uid="ai.dashboard.record_task_failure")
def record_task_failure(sender=None, task_id=None, exception=None, **kwargs):
    """Runs in the worker after a task raised (and for an eager ``apply()``). Never raises itself."""
    services.record_task_failure(getattr(sender, "name", None) or str(sender), task_id, exception)
