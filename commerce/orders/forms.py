import uuid

from django import forms

from commerce.orders.models import Return

ADDRESS_FIELDS = ["full_name", "line1", "line2", "city", "postcode", "country"]


class AddToCartForm(forms.Form):
    product = forms.IntegerField(min_value=1)
    variant = forms.IntegerField(min_value=1, required=False)
    quantity = forms.IntegerField(min_value=1, max_value=99, initial=1)


class CartLineForm(forms.Form):
    quantity = forms.IntegerField(min_value=0, max_value=99)


class CheckoutForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=120, label="Full name")
    line1 = forms.CharField(max_length=200, label="Address")
    line2 = forms.CharField(max_length=200, required=False, label="Address line 2")
    city = forms.CharField(max_length=100)
    postcode = forms.CharField(max_length=20)
    country = forms.RegexField(regex=r"^[A-Za-z]{2}$", initial="GB", max_length=2,
                               help_text="Two-letter country code, e.g. GB.",
                               error_messages={"invalid": "Use a two-letter country code such as GB."})
    # New with every rendered form: a repeated submission of it finds the order the first one placed.
    checkout_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4, required=False, error_messages={
        "invalid": "This form could not be read. Please reload the page and place your order again."})

    def clean_country(self):
        return self.cleaned_data["country"].upper()

    def address(self) -> dict:
        return {field: self.cleaned_data[field] for field in ADDRESS_FIELDS}


class ReturnForm(forms.Form):
    quantity = forms.IntegerField(min_value=1)
    reason = forms.ChoiceField(choices=Return.Reason.choices)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)
