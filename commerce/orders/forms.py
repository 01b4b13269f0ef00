import uuid
from collections.abc import Iterable

from django import forms
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from commerce.customers.models import Address, shop_country
from commerce.orders.models import Return

ADDRESS_FIELDS = ["full_name", "line1", "line2", "city", "postcode", "country"]
NEW_ADDRESS = "new"


class AddToCartForm(forms.Form):
    product = forms.IntegerField(min_value=1)
    variant = forms.IntegerField(min_value=1, required=False)
    quantity = forms.IntegerField(min_value=1, max_value=99, initial=1)


class CartLineForm(forms.Form):
    quantity = forms.IntegerField(min_value=0, max_value=99)


def _autocomplete(token: str) -> forms.TextInput:
    return forms.TextInput(attrs={"autocomplete": token})


class CheckoutForm(forms.Form):
    """Contact and delivery address. A customer with saved addresses picks one of them (their default
    first) or enters a new address; everyone else enters one."""

    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    full_name = forms.CharField(max_length=120, label="Full name", widget=_autocomplete("shipping name"))
    line1 = forms.CharField(max_length=200, label="Address line 1", widget=_autocomplete("shipping address-line1"))
    line2 = forms.CharField(max_length=200, required=False, label="Address line 2",
                            widget=_autocomplete("shipping address-line2"))
    city = forms.CharField(max_length=100, label="Town or city", widget=_autocomplete("shipping address-level2"))
    postcode = forms.CharField(max_length=20, label="Postcode", widget=_autocomplete("shipping postal-code"))
    country = LazyTypedChoiceField(
        choices=countries, initial=shop_country, widget=forms.Select(attrs={"autocomplete": "shipping country"}),
        error_messages={"invalid_choice": "“%(value)s” is not a country code we know. Choose a country from the list."},
    )
    # New with every rendered form: a repeated submission of it finds the order the first one placed.
    checkout_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4, required=False, error_messages={
        "invalid": "This form could not be read. Please reload the page and place your order again."})

    def __init__(self, *args, addresses: Iterable[Address] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.saved_addresses = {str(address.pk): address for address in addresses}
        if not self.saved_addresses:
            return
        self.fields["saved_address"] = forms.ChoiceField(
            label="Deliver to", widget=forms.RadioSelect, initial=next(iter(self.saved_addresses)),
            choices=[*((pk, address_label(a)) for pk, a in self.saved_addresses.items()),
                     (NEW_ADDRESS, "A new address")],
        )
        # The address fields hide while a saved address is chosen (CSS), so the browser must not insist on
        # them; the server does, when the shopper chose a new address.
        self.use_required_attribute = False
        if self.data.get(self.add_prefix("saved_address")) in self.saved_addresses:
            for name in ADDRESS_FIELDS:
                self.fields[name].required = False

    @property
    def address_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ADDRESS_FIELDS]

    def clean_saved_address(self) -> Address | None:
        """The saved address chosen, None for a new one."""
        return self.saved_addresses.get(self.cleaned_data["saved_address"])

    def address(self) -> dict:
        """The delivery address's fields: the saved address chosen, else those entered."""
        saved = self.cleaned_data.get("saved_address")
        if saved is not None:
            return {name: str(getattr(saved, name)) for name in ADDRESS_FIELDS}
        return {name: self.cleaned_data[name] for name in ADDRESS_FIELDS}


def address_label(address: Address) -> str:
    parts = (address.full_name, address.line1, address.line2, f"{address.city} {address.postcode}",
             address.country.name)
    return ", ".join(part for part in parts if part)


class ReturnForm(forms.Form):
    quantity = forms.IntegerField(min_value=1)
    reason = forms.ChoiceField(choices=Return.Reason.choices)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)
