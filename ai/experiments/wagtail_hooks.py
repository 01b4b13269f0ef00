"""Experiments in the Wagtail admin: the snippet (with inline variants) and a Results button per row."""

from django.contrib import messages
from django.urls import reverse
from wagtail import hooks
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.tables import Column
from wagtail.admin.widgets.button import ListingButton
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import IndexView, SnippetViewSet

from ai.experiments.forms import ExperimentForm
from ai.experiments.models import Experiment
from ai.experiments.views import ExperimentResultsViewSet, can_view_results


class ExperimentIndexView(IndexView):
    """The listing warns of every experiment the guardrail check paused, until someone acts on it."""

    def get(self, request, *args, **kwargs):
        paused = Experiment.objects.filter(status=Experiment.Status.PAUSED).exclude(guardrail_note="")
        for experiment in [] if self.results_only else paused:  # not on the listing's filter refreshes
            messages.warning(request, f"“{experiment.name}” was paused by its guardrail check: open its results.")
        return super().get(request, *args, **kwargs)


def guardrail_state(experiment: Experiment) -> str:
    return "Paused by guardrail" if experiment.guardrail_note else ""


class ExperimentViewSet(SnippetViewSet):
    model = Experiment
    icon = "tasks"
    menu_label = "Experiments"
    menu_name = "experiments"
    menu_order = 230
    add_to_admin_menu = True
    index_view_class = ExperimentIndexView
    list_display = ["name", "key", "surface", "primary_metric", "status",
                    Column("guardrail", label="Guardrail", accessor=guardrail_state), "starts_at", "ends_at"]
    list_filter = {"status": ["exact"], "surface": ["exact"]}
    search_fields = ["name", "key"]
    search_backend_name = None  # plain ORM lookups: experiments are few and not in the search index
    list_per_page = 50
    ordering = ["-created_at"]
    edit_handler = ObjectList([
        FieldRowPanel([FieldPanel("name"), FieldPanel("key")]),
        FieldPanel("hypothesis"),
        FieldRowPanel([FieldPanel("surface"), FieldPanel("primary_metric")]),
        FieldPanel("guardrail_metrics"),
        MultiFieldPanel([FieldRowPanel([FieldPanel("starts_at"), FieldPanel("ends_at")]),
                         FieldPanel("minimum_sample_size")], heading="Schedule and size"),
        InlinePanel("variants", heading="Variants", min_num=2,
                    help_text="One control (today's behaviour) and at least one alternative. Weights are "
                              "relative shares of traffic. Do not change variants or weights once running: "
                              "shoppers would move between variants."),
    ], base_form_class=ExperimentForm)


register_snippet(ExperimentViewSet)
hooks.register("register_admin_viewset", ExperimentResultsViewSet)


@hooks.register("register_snippet_listing_buttons")
def results_button(snippet, user, next_url=None):
    if not isinstance(snippet, Experiment) or not can_view_results(user):
        return []
    # A ListingButton stays beside the title rather than in the "…" menu: results are what the listing is for.
    return [ListingButton("Results", reverse("experiments:results", args=[snippet.pk]), icon_name="view",
                          priority=5, attrs={"aria-label": f"Results of “{snippet.name}”"})]
