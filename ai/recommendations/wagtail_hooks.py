"""Recommendations in the Wagtail admin: the model's health on the dashboard, the merchandising rules
(snippets) and their preview."""

import django_filters
from django.urls import path, reverse
from django.views.generic import FormView
from wagtail import hooks
from wagtail.admin.auth import permission_denied
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.components import Component
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from ai.recommendations.forms import PreviewForm, RecommendationRuleForm
from ai.recommendations.models import RecommendationRule, placement_choices
from ai.recommendations.rule_preview import preview
from ai.recommendations.serving import model_health
from core.admin_menu import MERCHANDISING_MENU_HOOK, PermittedMenuItem


class RecommendationHealthPanel(Component):
    """Dashboard panel: the recommendation model's age, coverage and last training, with a warning when
    serving has fallen back to popularity (no model, or one older than twice the training cadence)."""

    name = "recommendation_health"
    template_name = "recommendations/admin/health_panel.html"
    order = 90  # above Wagtail's own panels: a stale model costs sales

    def get_context_data(self, parent_context):
        return {**super().get_context_data(parent_context), "health": model_health()}


@hooks.register("construct_homepage_panels")
def add_recommendation_health_panel(request, panels):
    if request.user.has_perm("recommendations.view_recommendationmodel"):
        panels.append(RecommendationHealthPanel())


class RecommendationRuleFilterSet(WagtailFilterSet):
    placement = django_filters.ChoiceFilter(choices=placement_choices, method="of_placement", label="Placement")

    class Meta:
        model = RecommendationRule
        fields = ["enabled"]

    def of_placement(self, queryset, name, value):
        return queryset.filter(placements__contains=[value])


class RecommendationRuleViewSet(SnippetViewSet):
    """Rules apply from the next request after a save (``receivers.recommendation_rules_changed``); the
    preview shows a row without and with them. Model permissions decide who may view, add, change or
    delete them."""

    model = RecommendationRule
    icon = "pick"
    menu_label = "Recommendation rules"
    menu_name = "recommendation-rules"
    menu_order = 3
    menu_hook = MERCHANDISING_MENU_HOOK
    list_display = ["name", "placement_names", "enabled", "starts_at", "ends_at", "updated_at"]
    filterset_class = RecommendationRuleFilterSet
    search_fields = ["name"]
    search_backend_name = None  # plain ORM lookups: rules are few and not in the search index
    list_per_page = 50
    ordering = ["name"]
    edit_handler = ObjectList([
        FieldPanel("name"),
        FieldPanel("placements"),
        FieldRowPanel([FieldPanel("pin_product"), FieldPanel("pin_position")], heading="Pin a product"),
        MultiFieldPanel([FieldPanel("hidden_products"), FieldPanel("hidden_categories")], heading="Hide"),
        MultiFieldPanel([FieldPanel("boost_category"), FieldRowPanel([FieldPanel("boost_attribute_name"),
                                                                      FieldPanel("boost_attribute_value")]),
                         FieldPanel("boost_min_margin_percent"), FieldPanel("boost_percent")], heading="Boost or bury",
                        help_text="A category, an attribute and its value (colour = red), or products with a "
                                  "margin of at least a percentage, moved up or down."),
        MultiFieldPanel([FieldPanel("exclude_zero_price"), FieldPanel("exclude_in_cart"),
                         FieldPanel("exclude_bought_within_days")], heading="Leave out",
                        help_text="Inactive and sold-out products are never recommended, pinned or not."),
        MultiFieldPanel([FieldRowPanel([FieldPanel("starts_at"), FieldPanel("ends_at")]), FieldPanel("enabled")],
                        heading="When the rule applies"),
    ], base_form_class=RecommendationRuleForm)


register_snippet(RecommendationRuleViewSet)


class RulePreviewView(FormView):
    """The rows a placement shows a customer (or an anonymous shopper) without and with the live rules."""

    template_name = "recommendations/admin/rule_preview.html"
    form_class = PreviewForm

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm("recommendations.view_recommendationrule"):
            return permission_denied(request)
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):  # a GET form: the preview's address can be shared
        return {"data": self.request.GET or None, "initial": self.get_initial(), "prefix": None}

    def get(self, request, *args, **kwargs):
        form = self.get_form()
        if form.is_valid():
            data = form.cleaned_data
            shown = preview(data["placement"], customer_id=data["customer"].pk if data["customer"] else None,
                            product_id=data["product"].pk if data["product"] else None)
            return self.render_to_response(self.get_context_data(form=form, **shown))
        return self.render_to_response(self.get_context_data(form=form), status=400 if form.is_bound else 200)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "page_title": "Recommendation preview"}


@hooks.register("register_admin_urls")
def recommendation_rule_urls():
    return [path("recommendations/preview/", RulePreviewView.as_view(), name="recommendation_rule_preview")]


@hooks.register(MERCHANDISING_MENU_HOOK)
def recommendation_preview_menu_item():
    return PermittedMenuItem("Recommendation preview", reverse("recommendation_rule_preview"),
                             permission="recommendations.view_recommendationrule", icon_name="view", order=4)
