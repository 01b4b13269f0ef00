from wagtail.admin.forms import WagtailAdminModelForm


class QueryRuleForm(WagtailAdminModelForm):
    """Lets ``QueryRule.clean()`` check the products being edited, not the stored ones: a form puts
    many-to-many values on the instance only when it saves."""

    def _post_clean(self):
        if "products" in self.cleaned_data:
            self.instance.products = self.cleaned_data["products"]
        super()._post_clean()
