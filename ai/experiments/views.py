"""Experiments in the Wagtail admin: the results page (per-variant table, daily trend, SRM warning),
its CSV export, and the start / pause / finish actions."""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView
from wagtail.admin.auth import permission_denied
from wagtail.admin.viewsets.base import ViewSet

from ai.experiments import metrics, serving
from ai.experiments.models import Experiment, Metric

VIEW_PERMISSION = "experiments.view_experiment"
MANAGE_PERMISSION = "experiments.manage_experiment"
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 640, 220, 40
CHART_COLOURS = ["#555", "#2e6da4", "#c0392b", "#27ae60", "#8e44ad"]


def trend_chart(trend: dict, *, proportion: bool) -> dict | None:
    """Cumulative primary metric per variant by day, as SVG geometry (nothing downloaded)."""
    days = sorted({day for series in trend.values() for day, _ in series})
    values = [value for series in trend.values() for _, value in series if value is not None]
    if len(days) < 2 or not values:
        return None
    low, high = (0.0, max(values) * 1.1 or 1.0) if proportion else (min(values) * 0.9, max(values) * 1.1 or 1.0)
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD

    def x(index):
        return round(CHART_PAD + index / (len(days) - 1) * inner_w, 1)

    def y(value):
        return round(CHART_PAD + (high - value) / ((high - low) or 1.0) * inner_h, 1)

    lines = []
    for colour, (key, series) in zip(CHART_COLOURS * 4, trend.items(), strict=False):
        points = [f"{x(i)},{y(value)}" for i, (_, value) in enumerate(series) if value is not None]
        if points:
            lines.append({"key": key, "colour": colour, "points": " ".join(points),
                          "legend_y": CHART_PAD + 14 * len(lines)})
    label = (lambda v: f"{v:.1%}") if proportion else (lambda v: f"{v:.2f}")
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "left": CHART_PAD, "right": CHART_WIDTH - CHART_PAD,
            "top": CHART_PAD, "bottom": CHART_HEIGHT - CHART_PAD, "lines": lines, "first": days[0], "last": days[-1],
            "high": label(high), "low": label(low)}


def can_view_results(user) -> bool:
    return user.has_perm(VIEW_PERMISSION) or user.has_perm(MANAGE_PERMISSION)


class ResultsView(TemplateView):
    template_name = "experiments/admin/results.html"

    def dispatch(self, request, *args, **kwargs):
        if not can_view_results(request.user):
            return permission_denied(request)
        self.experiment = get_object_or_404(Experiment.objects.prefetch_related("variants"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        experiment = self.experiment
        result = metrics.results(experiment)
        primary = experiment.primary_metric
        return {**super().get_context_data(**kwargs), "experiment": experiment, "result": result,
                "page_title": f"Results: {experiment.name}", "primary": primary,
                "metric_rows": [(Metric(m).label, m == primary, m in experiment.guardrail_metrics,
                                 m in metrics.PROPORTIONS, metrics.UNITS_OF[m],
                                 [(row, row.metrics[m]) for row in result.variants]) for m in Metric.values],
                "guardrail_labels": [Metric(m).label for m in experiment.guardrail_metrics],
                "covariates": [(Metric(m).label, metrics.COVARIATES[m]) for m in Metric.values],
                "chart": trend_chart(result.trend, proportion=primary in metrics.PROPORTIONS),
                "weights": [row.weight for row in result.variants], "srm_alpha": metrics.SRM_ALPHA,
                "exposed_total": sum(result.sample_ratio.counts),
                "can_manage": self.request.user.has_perm(MANAGE_PERMISSION),
                "actions": [action for action, (allowed, _) in serving.TRANSITIONS.items()
                            if experiment.status in allowed]}


def results_csv(request, pk):
    if not can_view_results(request.user):
        return permission_denied(request)
    experiment = get_object_or_404(Experiment.objects.prefetch_related("variants"), pk=pk)
    result = metrics.results(experiment)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="experiment-{experiment.key}.csv"'
    writer = csv.writer(response)
    writer.writerow(["experiment", "variant", "control", "weight", "units", "metric", "primary", "n", "value",
                     "ci_low", "ci_high", "difference", "difference_low", "difference_high", "p_value",
                     "always_valid_low", "always_valid_high", "always_valid_p_value", "cuped_variance_reduction",
                     "srm_p_value", "as_of"])
    for row in result.variants:
        for metric, value in row.metrics.items():
            estimate, comparison, sequential = value.estimate, value.comparison, value.sequential
            writer.writerow([
                experiment.key, row.key, row.is_control, row.weight, row.units, metric,
                metric == experiment.primary_metric, value.tally.n,
                *([f"{estimate.value:.6g}", f"{estimate.low:.6g}", f"{estimate.high:.6g}"]
                  if estimate else ["", "", ""]),
                *([f"{comparison.difference:.6g}", f"{comparison.low:.6g}", f"{comparison.high:.6g}",
                   f"{comparison.p_value:.6g}"] if comparison else ["", "", "", ""]),
                *([f"{sequential.low:.6g}", f"{sequential.high:.6g}", f"{sequential.p_value:.6g}",
                   "" if sequential.variance_reduction is None else f"{sequential.variance_reduction:.6g}"]
                  if sequential else ["", "", "", ""]),
                f"{result.sample_ratio.p_value:.6g}", result.as_of.isoformat(),
            ])
    return response


@require_POST
def change_status(request, pk, action):
    if not request.user.has_perm(MANAGE_PERMISSION):
        return permission_denied(request)
    if action not in serving.TRANSITIONS:
        raise Http404
    experiment = get_object_or_404(Experiment, pk=pk)
    try:
        experiment = serving.transition(experiment, action)
    except serving.TransitionError as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, "Cannot start: " + " ".join(error.messages))
    else:
        messages.success(request, f"“{experiment.name}” is now {experiment.get_status_display().lower()}.")
    return redirect(reverse("experiments:results", args=[pk]))


class ExperimentResultsViewSet(ViewSet):
    name = "experiments"
    url_prefix = "experiments"

    def get_urlpatterns(self):
        return [
            path("<int:pk>/results/", ResultsView.as_view(), name="results"),
            path("<int:pk>/results.csv", results_csv, name="results_csv"),
            path("<int:pk>/<str:action>/", change_status, name="change_status"),
        ]
