from wagtail.admin.forms import WagtailAdminModelForm


class ExperimentForm(WagtailAdminModelForm):
    """Lets ``Experiment.clean()`` check the variants being edited, not the stored ones: the parent form
    is cleaned before its inline formsets, so they are validated first and put on the instance."""

    def _post_clean(self):
        formset = self.formsets.get("variants")
        if formset is not None:
            formset.is_valid()  # cleans each variant form once (cached), so form.instance holds its edits
            self.instance.variants = [form.instance for form in formset.forms
                                      if getattr(form, "cleaned_data", None) and not form.cleaned_data.get("DELETE")]
        super()._post_clean()
