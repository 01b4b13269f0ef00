from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_countries.fields import CountryField

# Compared ignoring case when telling whether a customer already saved an address (the postcode is
# upper-cased by Address.clean, the country is a code).
CASE_INSENSITIVE_ADDRESS_FIELDS = ("full_name", "line1", "line2", "city")


def shop_country() -> str:
    """The shop's own country (``VITRINE_COUNTRY``): where a new address starts."""
    return settings.VITRINE_COUNTRY


class Customer(models.Model):
    """The shop's view of a user: one per auth user, created at signup or first login."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer")
    created_at = models.DateTimeField(auto_now_add=True)
    accepts_marketing = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.user.get_full_name() or self.user.email or self.user.get_username()

    @property
    def email(self) -> str:
        return self.user.email


class AddressQuerySet(models.QuerySet):
    def matching(self, address: "Address") -> "AddressQuerySet":
        """The customer's saved copy of ``address`` (a cleaned one), as the uniqueness constraint compares."""
        return self.filter(customer=address.customer_id, postcode=address.postcode, country=address.country,
                           **{f"{name}__iexact": getattr(address, name) for name in CASE_INSENSITIVE_ADDRESS_FIELDS})


class Address(models.Model):
    """A delivery address a customer checked out with: saved at checkout, offered at the next one."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    full_name = models.CharField(max_length=120)
    line1 = models.CharField("address line 1", max_length=200)
    line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postcode = models.CharField(max_length=20)
    country = CountryField(default=shop_country)
    # The default is the address of the customer's latest order: the next checkout starts from it.
    is_default = models.BooleanField(default=False)
    last_used_at = models.DateTimeField(default=timezone.now)

    objects = AddressQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "addresses"
        ordering = ["-is_default", "-last_used_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=models.Q(is_default=True), name="one_default_address_per_customer"
            ),
            models.UniqueConstraint(
                "customer", *(Lower(name) for name in CASE_INSENSITIVE_ADDRESS_FIELDS), "postcode", "country",
                name="address_saved_once_per_customer",
                violation_error_message="This address is already saved.",
            ),
            models.CheckConstraint(condition=models.Q(country__regex=r"^[A-Z]{2}$"), name="address_country_iso"),
        ]

    def __str__(self):
        return f"{self.full_name}, {self.line1}, {self.city} {self.postcode}"

    def clean(self):
        # Spacing and a postcode's case are how people type, not part of the address.
        for name in (*CASE_INSENSITIVE_ADDRESS_FIELDS, "postcode"):
            setattr(self, name, " ".join(getattr(self, name).split()))
        self.postcode = self.postcode.upper()
        self.country = str(self.country or "").upper()
