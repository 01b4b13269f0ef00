"""The dashboard page and its two buttons. Thin: the numbers come from ai.dashboard.services."""

import logging

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.views.generic import TemplateView, View
from wagtail.admin.auth import permission_denied

from ai.dashboard import services
from ai.experiments.views import can_view_results
from ai.pricing import serving as pricing

logger = logging.getLogger(__name__)


def _url(name: str, query: str = "") -> str | None:
    try:
        return reverse(name) + query
    except NoReverseMatch:  # an app's admin is not installed: no link, the section still shows
        return None


def action_links(user) -> dict:
    """Where each section's "act" link goes, for the links this user may follow (None otherwise)."""
    return {
        "search_report": _url("search_report") if user.has_perm("search.view_searchquery") else None,
        "approvals": _url("wagtailsnippets_pricing_pricechange:list", "?status=pending")
        if user.has_perm("pricing.view_pricechange") or user.has_perm(pricing.APPROVE_PERMISSION) else None,
        "kill_switch": _url("pricing_kill_switch:index") if user.has_perm(pricing.KILL_SWITCH_PERMISSION) else None,
        "experiment_results": can_view_results(user),
    }


class DashboardView(TemplateView):
    template_name = "dashboard/admin/dashboard.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(services.VIEW_PERMISSION):
            return permission_denied(request)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        user = self.request.user
        return {**super().get_context_data(**kwargs), **services.dashboard(), "links": action_links(user),
                "can_act": user.has_perm(services.ACT_PERMISSION), "page_title": "Storefront AI"}


class QueueTaskView(View):
    """POST only (CSRF-checked by the middleware): queue one batch task, then back to the dashboard."""

    http_method_names = ["post"]
    actions = {
        "train": ("queue_training", "Training queued: the model updates when a batch worker has run it."),
        "reembed": ("queue_reembedding", "Re-indexing queued: products without an embedding are "
                                                "embedded by a batch worker."),
    }

    def post(self, request, action):
        user = request.user
        if not (user.has_perm(services.VIEW_PERMISSION) and user.has_perm(services.ACT_PERMISSION)):
            return permission_denied(request)
        if action not in self.actions:
            return redirect("storefront_ai_dashboard")
        queue, message = self.actions[action]
        task_id = getattr(services, queue)()
        if task_id is None:
            messages.error(request, "Could not queue the task: the Celery broker is unreachable. "
                                    "Try again once it is back.")
        else:
            logger.info("storefront AI dashboard: %s queued by %s (task %s)", action, user, task_id)
            messages.success(request, message)
        return redirect("storefront_ai_dashboard")
