from django import forms
from wagtail.admin.forms import WagtailAdminModelForm

from ai.experiments.models import Experiment, Metric, default_guardrails


class ExperimentForm(WagtailAdminModelForm):
    """Lets ``Experiment.clean()`` check the variants being edited, not the stored ones: the parent form
    is cleaned before its inline formsets, so they are validated first and put on the instance. Guardrails
    are ticked, not typed as a comma-separated list (the array field's default widget)."""

    guardrail_metrics = forms.MultipleChoiceField(
        choices=Metric.choices, required=False, initial=default_guardrails, widget=forms.CheckboxSelectMultiple,
        help_text=Experiment._meta.get_field("guardrail_metrics").help_text)

    def clean_guardrail_metrics(self):
        chosen = set(self.cleaned_data["guardrail_metrics"])
        return [metric for metric in Metric.values if metric in chosen]  # in the results page's order

    def _post_clean(self):
        formset = self.formsets.get("variants")
        if formset is not None:
            formset.is_valid()  # cleans each variant form once (cached), so form.instance holds its edits
            self.instance.variants = [form.instance for form in formset.forms
                                      if getattr(form, "cleaned_data", None) and not form.cleaned_data.get("DELETE")]
        super()._post_clean()
