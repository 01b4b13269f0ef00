from django.db import models


class StorefrontDashboard(models.Model):
    """No table: this model exists only to own the dashboard's permissions.

    Why a model-less permission: the dashboard spans five apps, and borrowing their permissions ("any
    view permission of recommendations, search or pricing") would show a merchandiser who may only view
    search queries the Celery queues and the pricing kill switch state, and could not be granted on its
    own. A dedicated permission can. Django creates permissions (post_migrate) for every model of an
    installed app, managed or not, so an unmanaged model with ``default_permissions = ()`` gives exactly
    the two permissions below and no table, and Wagtail's group editor lists them (``register_permissions``
    in wagtail_hooks):

    - ``dashboard.view_dashboard``: see the page (with ``wagtailadmin.access_admin``);
    - ``dashboard.queue_ai_tasks``: press its buttons (queue ALS training, embed missing products).
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", "Can view the Storefront AI dashboard"),
            ("queue_ai_tasks", "Can queue AI training and re-indexing from the Storefront AI dashboard"),
        ]
        verbose_name = "Storefront AI dashboard"

    def __str__(self):
        return "Storefront AI dashboard"
