"""The Pricing menu: rules (snippets), the approval queue with bulk approve / reject, the price history
ledger, the kill switch; and a "Price history" tab on every product's edit page."""

from django.urls import reverse
from django.utils.http import urlencode
from wagtail import hooks
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.tables import BooleanColumn, Column
from wagtail.admin.widgets.button import Button
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from ai.pricing import serving
from ai.pricing.models import PriceChange, PriceHistory, PricingRule
from ai.pricing.views import (
    ApproveBulkAction,
    KillSwitchViewSet,
    PriceHistoryPanel,
    RejectBulkAction,
)


class WrittenByPricingPolicy(ModelPermissionPolicy):
    """Price changes and history are written by the engine and by approvals, never through a form:
    the only action is "view", which approvers have too."""

    def user_has_permission(self, user, action):
        return action == "view" and (super().user_has_permission(user, "view")
                                     or user.has_perm(serving.APPROVE_PERMISSION))

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)


register_permission_policy(PriceChange, WrittenByPricingPolicy(PriceChange))
register_permission_policy(PriceHistory, WrittenByPricingPolicy(PriceHistory))


def _percent(value) -> str:
    return f"{value.normalize():f}%"


def price_bounds(rule: PricingRule) -> str:
    """Lower to upper bound, each the price and/or the % from the base price the rule sets."""
    lower = [f"{value}" for value in [rule.min_price] if value is not None] \
        + [f"−{_percent(value)}" for value in [rule.max_discount_percent] if value is not None]
    upper = [f"{value}" for value in [rule.max_price] if value is not None] \
        + [f"+{_percent(value)}" for value in [rule.max_markup_percent] if value is not None]
    return f"{' / '.join(lower)} to {' / '.join(upper)}"


def pace(rule: PricingRule) -> str:
    return f"±{_percent(rule.max_change_percent)} per {rule.interval_hours}\N{NO-BREAK SPACE}h"


def auto_approval(rule: PricingRule) -> str:
    return f"up to {_percent(rule.auto_approve_percent)}" if rule.auto_approve_percent else "none"


def strategy_name(rule_or_change: PricingRule | PriceChange) -> str:
    return rule_or_change.get_strategy_display().split(" (")[0]  # the explanation is the form's, not the list's


class EnabledColumn(BooleanColumn):
    """A tick or a cross that screen readers read as "Enabled" / "Disabled" rather than "True" / "False"."""

    cell_template_name = "pricing/admin/enabled_cell.html"


class PricingRuleViewSet(SnippetViewSet):
    model = PricingRule
    icon = "sliders"
    menu_label = "Rules"
    # Few, summarised columns: eleven raw fields squeezed the names to a letter per line at 1440 px.
    list_display = [
        "name",
        Column("scope", width="18%"),
        Column("bounds", label="Price bounds", accessor=price_bounds),
        Column("pace", label="Max change", accessor=pace),
        Column("auto_approval", label="Auto-approves", accessor=auto_approval),
        Column("strategy", accessor=strategy_name, sort_key="strategy"),
        EnabledColumn("enabled", sort_key="enabled"),
    ]
    list_filter = {"strategy": ["exact"], "enabled": ["exact"]}
    search_fields = ["name"]
    search_backend_name = None  # plain ORM lookups: rules are few and not in the search index
    list_per_page = 50
    ordering = ["name"]
    panels = [
        FieldPanel("name"),
        MultiFieldPanel([FieldPanel("product"), FieldPanel("category")], heading="Applies to",
                        help_text="A product, else a category (and below), else leave both empty for the "
                                  "global default. The most specific rule wins."),
        MultiFieldPanel([
            FieldRowPanel([FieldPanel("min_price"), FieldPanel("max_price")]),
            FieldRowPanel([FieldPanel("max_discount_percent"), FieldPanel("max_markup_percent")]),
        ], heading="Bounds", help_text="At least one lower and one upper bound; where both kinds are set, the "
                                       "tighter one applies."),
        MultiFieldPanel([
            FieldRowPanel([FieldPanel("max_change_percent"), FieldPanel("interval_hours")]),
            FieldPanel("min_hours_between_changes"),
            FieldPanel("auto_approve_percent"),
        ], heading="Pace"),
        FieldPanel("strategy"),
        FieldPanel("enabled"),
    ]

    def get_queryset(self, request):
        # "scope" shows the product or the category path (three levels deep in the demo tree).
        return PricingRule.objects.select_related("product", "category__parent__parent")


class PriceChangeViewSet(SnippetViewSet):
    model = PriceChange
    icon = "pick"
    menu_label = "Approvals"
    index_template_name = "pricing/admin/price_change_index.html"  # the bulk bar without Delete
    list_display = ["product", "previous_price", "new_price", "change_percent",
                    Column("strategy", accessor=strategy_name, sort_key="strategy"), "reason", "status",
                    "created_at", "decided_by"]
    list_filter = {"status": ["exact"], "strategy": ["exact"], "bound_by": ["exact"], "created_at": ["gte", "lte"]}
    search_fields = ["product__title"]
    search_backend_name = None
    list_per_page = 50
    ordering = ["-created_at", "-pk"]
    inspect_view_enabled = True
    inspect_view_fields = ["product", "rule", "signal_at", "strategy", "previous_price", "proposed_price",
                           "new_price", "bound_by", "reason", "status", "created_at", "decided_at", "decided_by"]

    @property
    def menu_url(self):
        return reverse(self.get_url_name("list")) + "?status=pending"

    def get_queryset(self, request):
        return PriceChange.objects.select_related("product", "decided_by")


class PriceHistoryViewSet(SnippetViewSet):
    model = PriceHistory
    icon = "history"
    menu_label = "Price history"
    list_display = ["product", "previous_price", "price", "source", "reason", "changed_at", "changed_by"]
    list_filter = {"source": ["exact"], "changed_at": ["gte", "lte"]}
    search_fields = ["product__title"]
    search_backend_name = None
    list_per_page = 50
    ordering = ["-changed_at", "-pk"]
    inspect_view_enabled = True

    def get_queryset(self, request):
        return PriceHistory.objects.select_related("product", "changed_by")


class PricingGroup(SnippetViewSetGroup):
    items = (PricingRuleViewSet, PriceChangeViewSet, PriceHistoryViewSet)
    menu_icon = "sliders"
    menu_label = "Pricing"
    menu_name = "pricing"
    menu_order = 220
    submenu_hook = "register_pricing_menu_item"


register_snippet(PricingGroup)
hooks.register("register_admin_viewset", KillSwitchViewSet)
hooks.register("register_bulk_action", ApproveBulkAction)
hooks.register("register_bulk_action", RejectBulkAction)


@hooks.register("register_pricing_menu_item")
def kill_switch_menu_item():
    return KillSwitchViewSet().get_menu_item(order=10)


@hooks.register("register_snippet_listing_buttons")
def price_change_decision_buttons(snippet, user, next_url=None):
    """Approve / Reject on each pending row: the bulk actions with that one change selected."""
    if not isinstance(snippet, PriceChange) or snippet.status != PriceChange.Status.PENDING \
            or not user.has_perm(serving.APPROVE_PERMISSION):
        return []
    return [
        Button(label, reverse("wagtail_bulk_action", args=("pricing", "pricechange", action))
               + "?" + urlencode({"id": snippet.pk, "next": next_url or ""}), icon_name=icon, priority=priority)
        for label, action, icon, priority in (("Approve", "approve", "check", 10), ("Reject", "reject", "cross", 20))
    ]


@hooks.register("register_product_admin_tabs")
def price_history_tab():
    return [ObjectList([PriceHistoryPanel(heading="Price over time")], heading="Price history")]


@hooks.register("after_edit_snippet")
def credit_manual_price_to_the_editor(request, instance):
    entry = getattr(instance, "_manual_price_entry", None)
    if entry is not None:
        PriceHistory.objects.filter(pk=entry.pk).update(changed_by=request.user)
