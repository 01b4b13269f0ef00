from wagtail import hooks
from wagtail.admin.ui.components import Component

from ai.recommendations.serving import model_health


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
