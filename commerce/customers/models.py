from django.conf import settings
from django.db import models


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


class Address(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    full_name = models.CharField(max_length=120)
    line1 = models.CharField("address line 1", max_length=200)
    line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postcode = models.CharField(max_length=20)
    country = models.CharField(max_length=2, default="GB", help_text="ISO 3166 two-letter code.")
    is_default = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=models.Q(is_default=True), name="one_default_address_per_customer"
            ),
            models.CheckConstraint(condition=models.Q(country__regex=r"^[A-Z]{2}$"), name="address_country_iso"),
        ]

    def __str__(self):
        return f"{self.full_name}, {self.line1}, {self.city} {self.postcode}"

    def clean(self):
        self.country = (self.country or "").upper()
