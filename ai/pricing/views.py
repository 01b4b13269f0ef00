"""Pricing in the Wagtail admin: the kill switch page, bulk approve / reject, the product's price history chart."""

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.shortcuts import get_list_or_404, redirect
from django.urls import path
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.generic import TemplateView
from wagtail.admin.auth import permission_denied
from wagtail.admin.panels import Panel
from wagtail.admin.viewsets.base import ViewSet
from wagtail.snippets.bulk_actions.snippet_bulk_action import SnippetBulkAction

from ai.pricing import review, serving
from ai.pricing.models import KillSwitch, PriceChange
from core.admin_menu import PermittedMenuItem

# --- the kill switch --------------------------------------------------------------------------------


class KillSwitchView(TemplateView):
    template_name = "pricing/admin/kill_switch.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(serving.KILL_SWITCH_PERMISSION):
            return permission_denied(request)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        switch = KillSwitch.objects.select_related("changed_by").filter(pk=1).first()
        return {**super().get_context_data(**kwargs), "switch": switch, "page_title": "Dynamic pricing",
                "engaged": bool(switch and switch.engaged),
                "pending": PriceChange.objects.filter(status=PriceChange.Status.PENDING).count()}

    def post(self, request):
        if request.POST.get("action") == "stop":
            moved = review.engage_kill_switch(request.user)
            messages.warning(request, f"Dynamic pricing stopped: {moved} products are back at their base price "
                                      "(or the nearest bound their rule allows).")
        elif request.POST.get("action") == "resume":
            review.release_kill_switch(request.user)
            messages.success(request, "Dynamic pricing resumed: prices move again from the next run (≤ 30 min).")
        return redirect(request.path)


class KillSwitchMenuItem(PermittedMenuItem):  # the viewset builds its menu item from the class
    permission = serving.KILL_SWITCH_PERMISSION


class KillSwitchViewSet(ViewSet):
    name = "pricing_kill_switch"
    url_prefix = "pricing/kill-switch"
    menu_label = "Kill switch"
    menu_icon = "warning"
    menu_item_class = KillSwitchMenuItem

    def get_urlpatterns(self):
        return [path("", KillSwitchView.as_view(), name="index")]


# --- approvals ----------------------------------------------------------------------------------------


class PriceChangeBulkAction(SnippetBulkAction):
    """Approve or reject pending changes; only users with the approval permission, only pending ones."""

    models = [PriceChange]
    template_name = "pricing/admin/confirm_bulk_decision.html"

    @classmethod
    def get_queryset(cls, model, object_ids):
        # The confirmation page names each change's product.
        return get_list_or_404(model.objects.select_related("product"), pk__in=object_ids)

    def check_perm(self, change):
        return (change.status == PriceChange.Status.PENDING
                and self.request.user.has_perm(serving.APPROVE_PERMISSION))

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "verb": self.display_name}

    def object_context(self, change):
        return {"item": change}

    def get_execution_context(self):
        return {**super().get_execution_context(), "user": self.request.user}


class ApproveBulkAction(PriceChangeBulkAction):
    display_name = "Approve"
    action_type = "approve"
    aria_label = "Approve the selected price changes"
    action_priority = 10

    def prepare_action(self, objects, objects_without_access):
        if serving.kill_switch_engaged():
            messages.error(self.request, "Dynamic pricing is stopped: resume it before approving changes.")
            return redirect(self.next_url)
        return None

    @classmethod
    def execute_action(cls, objects, user=None, **kwargs):
        outcome = review.approve_changes([change.pk for change in objects], user)
        kwargs["self"].expired = outcome.expired
        return outcome.applied, 0

    def get_success_message(self, applied, _):
        expired = getattr(self, "expired", 0)
        note = (f" {expired} no longer fit the guardrails or the current price and expired; the next run "
                "proposes afresh.") if expired else ""
        return f"{applied} price change{'s' if applied != 1 else ''} applied.{note}"


class RejectBulkAction(PriceChangeBulkAction):
    display_name = "Reject"
    action_type = "reject"
    aria_label = "Reject the selected price changes"
    action_priority = 20
    classes = {"serious"}

    @classmethod
    def execute_action(cls, objects, user=None, **kwargs):
        return review.reject_changes([change.pk for change in objects], user), 0

    def get_success_message(self, rejected, _):
        return f"{rejected} price change{'s' if rejected != 1 else ''} rejected."


# --- the product's price history ------------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 640, 220, 36


def history_chart(changes, current: Decimal, base: Decimal, bounds: tuple[Decimal, Decimal] | None,
                  now: dt.datetime) -> dict | None:
    """A step chart of the price over time as SVG geometry (no JavaScript, nothing downloaded)."""
    if not changes:
        return None
    start = changes[0].changed_at - dt.timedelta(hours=1)
    span = max((now - start).total_seconds(), 1.0)
    levels = [c.previous_price for c in changes] + [c.price for c in changes] + [current, base]
    if bounds:
        levels += list(bounds)
    low, high = float(min(levels)), float(max(levels))
    margin = (high - low) * 0.1 or 1.0
    low, high = low - margin, high + margin
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD

    def x(moment):
        return round(CHART_PAD + (moment - start).total_seconds() / span * inner_w, 1)

    def y(price):
        return round(CHART_PAD + (high - float(price)) / (high - low) * inner_h, 1)

    path = [f"M{x(start)},{y(changes[0].previous_price)}"]
    for change in changes:
        path.append(f"H{x(change.changed_at)}V{y(change.price)}")
    path.append(f"H{x(now)}")
    lines = [{"label": f"base {base:.2f}", "y": y(base), "kind": "base"}]
    if bounds:
        lines += [{"label": f"min {bounds[0]:.2f}", "y": y(bounds[0]), "kind": "bound"},
                  {"label": f"max {bounds[1]:.2f}", "y": y(bounds[1]), "kind": "bound"}]
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "left": CHART_PAD, "right": CHART_WIDTH - CHART_PAD,
            "path": "".join(path), "lines": lines,
            "dots": [{"x": x(c.changed_at), "y": y(c.price), "title": f"{c.changed_at:%Y-%m-%d %H:%M} "
                      f"{c.previous_price:.2f} → {c.price:.2f}: {c.get_source_display()}"} for c in changes],
            "first": start, "last": now}


class PriceHistoryPanel(Panel):
    """Read-only: the price over time, the governing rule's bounds, the latest changes and what is pending."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "pricing/admin/price_history_panel.html"

        @cached_property
        def context(self):
            product = self.instance
            if product is None or product.pk is None:
                return {"unsaved": True}
            changes = serving.price_history(product.pk)
            rule = serving.rule_for(product)
            bounds = rule.bounds_for(product.base_price) if rule is not None else None
            return {
                "chart": history_chart(changes, product.price, product.base_price, bounds, timezone.now()),
                "changes": list(reversed(changes))[:20], "rule": rule, "bounds": bounds,
                "pending": PriceChange.objects.filter(product=product, status=PriceChange.Status.PENDING).first(),
            }

        def get_context_data(self, parent_context=None):
            return {**super().get_context_data(parent_context), **self.context}
