from django import forms
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.snippets.widgets import AdminSnippetChooser

from ai.recommendations.models import placement_choices
from ai.recommendations.rows import PRODUCT_SURFACES
from commerce.catalogue.models import Product
from commerce.customers.models import Customer


class RecommendationRuleForm(WagtailAdminModelForm):
    """Placements as tick boxes, and ``RecommendationRule.clean()`` checking the products and categories
    being edited, not the stored ones: a form puts many-to-many values on the instance only when it saves."""

    placements = forms.MultipleChoiceField(choices=placement_choices, widget=forms.CheckboxSelectMultiple,
                                           help_text="The recommendation rows the rule changes.")

    def _post_clean(self):
        for name in ("hidden_products", "hidden_categories"):
            if name in self.cleaned_data:
                setattr(self.instance, name, self.cleaned_data[name])
        super()._post_clean()


class PreviewForm(forms.Form):
    """What the admin's preview shows: a placement's row for a customer (else an anonymous shopper), on a
    product's page for the rows that need a product."""

    placement = forms.ChoiceField(choices=placement_choices, help_text="The row to preview.")
    customer = forms.ModelChoiceField(Customer.objects.all(), required=False, widget=forms.NumberInput,
                                      help_text="A customer's number: their own row. Empty: an anonymous shopper.")
    product = forms.ModelChoiceField(Product.objects.all(), required=False, widget=AdminSnippetChooser(Product),
                                     help_text="The product whose page shows the row (similar, bought together).")

    def clean(self):
        data = super().clean()
        if data.get("placement") in PRODUCT_SURFACES and not data.get("product"):
            self.add_error("product", "This row is on a product's page: choose the product.")
        return data
