from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from commerce.catalogue.models import Category, Product, ProductVariant
from commerce.customers.models import Address, Customer


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    title = factory.Sequence(lambda n: f"Stoneware mug {n}")
    description = "A hand-thrown stoneware mug with a speckled glaze."
    category = factory.SubFactory(CategoryFactory)
    attributes = factory.LazyFunction(lambda: {"colour": "sand", "material": "stoneware"})
    base_price = Decimal("12.50")
    stock = 10
    active = True


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductVariant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    options = factory.LazyFunction(lambda: {"size": "M"})
    stock = 5


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"shopper{n}@example.com")
    email = factory.LazyAttribute(lambda u: u.username)
    first_name = "Sam"
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    user = factory.SubFactory(UserFactory)


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    customer = factory.SubFactory(CustomerFactory)
    full_name = "Sam Shopper"
    line1 = "1 High Street"
    city = "Bristol"
    postcode = "BS1 1AA"
    country = "GB"
    is_default = True
