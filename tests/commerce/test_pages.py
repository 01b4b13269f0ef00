"""Every storefront page renders with the content a shopper needs, and the forms on it work."""

import re
import uuid
from decimal import Decimal

import pytest
from django.template.loader import render_to_string

from commerce.catalogue.models import Product
from commerce.catalogue.templatetags.catalogue_tags import (
    attribute_label,
    attribute_value,
    money,
    prettify_key,
    sort_label,
)
from commerce.orders.models import CartLine, Order, Return
from commerce.orders.services import Shopper, add_to_cart, place_order
from home.models import ContentPage, HomePage
from tests.factories import (
    AddressFactory,
    CategoryFactory,
    CustomerFactory,
    ProductFactory,
    VariantFactory,
    publish_home,
)

pytestmark = pytest.mark.django_db

ADDRESS = {"full_name": "Sam Shopper", "line1": "1 High Street", "line2": "", "city": "Bristol",
           "postcode": "BS1 1AA", "country": "GB"}


def order_for(customer, product, quantity=2) -> Order:
    shopper = Shopper(customer, uuid.uuid4())
    add_to_cart(shopper, product, quantity=quantity)
    return place_order(shopper, email=customer.email, address=ADDRESS)


# --- template helpers -----------------------------------------------------------------------------


def test_money_formats_amounts_with_the_currency_symbol():
    assert money(Decimal("12.5"), "GBP") == "£12.50"
    assert money(Decimal("1234.5"), "gbp") == "£1,234.50"
    assert money(Decimal("3"), "EUR") == "€3.00"
    assert money(Decimal("7.25"), "SEK") == "7.25 SEK"
    assert money(None, "GBP") == ""


def test_attribute_keys_and_sorts_read_nicely():
    assert prettify_key("capacity_ml") == "Capacity ml"
    assert prettify_key("country-of-origin") == "Country of origin"
    assert sort_label("-price") == "Price: high to low"
    assert sort_label("newest") == "Newest first"


def test_an_attribute_unit_moves_from_its_name_to_its_value():
    assert (attribute_label("capacity_ml"), attribute_value(1000, "capacity_ml")) == ("Capacity", "1,000 ml")
    assert (attribute_label("oven_safe_c"), attribute_value(220, "oven_safe_c")) == ("Oven safe", "220 °C")
    assert (attribute_label("capacity_l"), attribute_value(1.5, "capacity_l")) == ("Capacity", "1.5 litres")
    assert attribute_value("100 x 150", "dimensions_cm") == "100 × 150 cm"
    assert attribute_value("1500", "pieces") == "1,500"


def test_attributes_without_a_unit_read_as_they_are():
    assert (attribute_label("country-of-origin"), attribute_value("Portugal", "country-of-origin")) == (
        "Country of origin", "Portugal")
    assert attribute_label("set_of") == "Set of"
    assert attribute_value(True, "dishwasher_safe") == "Yes"
    assert attribute_value(["oak", "ash"], "wood") == "oak, ash"


# --- Wagtail pages --------------------------------------------------------------------------------


def test_home_page_renders_its_blocks(client):
    product = ProductFactory(title="Oat linen napkin")
    publish_home(HomePage.objects.first(), product)

    response = client.get("/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "Autumn at home" in content
    assert "New this week" in content
    assert "Oat linen napkin" in content and product.get_absolute_url() in content
    assert "£12.50" in content


def test_home_page_without_blocks_still_invites_to_shop(client):
    CategoryFactory(name="Kitchen")
    response = client.get("/")
    assert response.status_code == 200
    assert b'href="/shop/"' in response.content
    assert b"Kitchen" in response.content  # header navigation


def test_content_page_shows_title_intro_and_body(client):
    home = HomePage.objects.first()
    page = home.add_child(instance=ContentPage(
        title="Caring for linen", slug="caring-for-linen", intro="Wash cool, dry flat, iron damp.",
        body=[("paragraph", "<p>Linen softens with every wash.</p>")],
    ))
    page.save_revision().publish()

    response = client.get(page.url)

    assert response.status_code == 200
    content = response.content.decode()
    assert "<h1" in content and "Caring for linen" in content
    assert "Wash cool, dry flat, iron damp." in content
    assert "Linen softens with every wash." in content


# --- catalogue ------------------------------------------------------------------------------------


def test_shop_lists_departments_and_active_products(client):
    kitchen = CategoryFactory(name="Kitchen")
    CategoryFactory(name="Tableware", parent=kitchen)
    ProductFactory(title="Speckled mug", category=kitchen)
    ProductFactory(title="Retired jug", category=kitchen, active=False)

    response = client.get("/shop/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "Kitchen" in content and "Tableware" in content
    assert "Speckled mug" in content and "£12.50" in content
    assert "Retired jug" not in content
    assert "1 product" in content


def test_the_shop_facets_the_whole_catalogue_by_department_and_narrows_the_listing(client):
    # given
    kitchen, garden = CategoryFactory(name="Kitchen"), CategoryFactory(name="Garden")
    ProductFactory(title="Navy mug", category=kitchen, attributes={"colour": "navy"})
    ProductFactory(title="Sage bowl", category=kitchen, attributes={"colour": "sage"})
    ProductFactory(title="Navy planter", category=garden, attributes={"colour": "navy"})

    # when
    content = client.get("/shop/", {"colour": "navy"}).content.decode()

    # then
    assert "2 products" in content and "Navy mug" in content and "Navy planter" in content
    assert "Sage bowl" not in content
    facets = content[content.index('<nav class="facets"'):content.index("</nav>", content.index('<nav class="facets"'))]
    assert "Department" in facets and "Kitchen <span class=\"facet__count\">(1)</span>" in facets
    assert "sage <span class=\"facet__count\">(1)</span>" in facets  # the bowl, were sage added
    assert "Clear all filters" in facets


def test_product_cards_show_discounts_and_sold_out(client):
    ProductFactory(title="Sale bowl", base_price=Decimal("20.00"), price=Decimal("15.00"),
                   prior_price=Decimal("20.00"))
    ProductFactory(title="Gone vase", stock=0)
    VariantFactory(product=ProductFactory(title="Throw with colours", stock=0), stock=4)

    content = client.get("/shop/").content.decode()

    assert '<s class="price__was">£20.00</s>' in content
    assert "£15.00" in content
    assert content.count("Sold out") == 1  # the vase; the throw is sold through its variants


def test_category_page_has_breadcrumbs_subcategories_sort_and_count(client):
    kitchen = CategoryFactory(name="Kitchen")
    tableware = CategoryFactory(name="Tableware", parent=kitchen)
    ProductFactory(title="Cheap plate", category=tableware, base_price=Decimal("5.00"))
    ProductFactory(title="Dear pan", category=kitchen, base_price=Decimal("50.00"))

    response = client.get("/shop/kitchen/", {"sort": "-price"})

    assert response.status_code == 200
    content = response.content.decode()
    assert 'href="/shop/"' in content  # breadcrumb to the shop
    assert 'href="/shop/tableware/"' in content  # subcategory chip
    assert "2 products" in content
    assert content.index("Dear pan") < content.index("Cheap plate")  # price high to low
    assert '<option value="-price" selected>Price: high to low</option>' in content
    assert "Price: low to high" in content and "Newest first" in content


def test_subcategory_breadcrumbs_lead_back_to_the_department(client):
    kitchen = CategoryFactory(name="Kitchen")
    CategoryFactory(name="Tableware", parent=kitchen)
    content = client.get("/shop/tableware/").content.decode()
    assert 'href="/shop/kitchen/"' in content
    assert "Nothing in tableware right now" in content


def test_category_pagination_keeps_the_sort(client, settings):
    settings.VITRINE_PRODUCTS_PER_PAGE = 2
    category = CategoryFactory(name="Bath")
    for n in range(5):
        ProductFactory(title=f"Towel {n}", category=category)

    response = client.get("/shop/bath/", {"sort": "price"})

    content = response.content.decode()
    assert "5 products" in content
    assert 'href="?sort=price&amp;page=2"' in content
    assert 'href="?sort=price&amp;page=3"' in content
    assert client.get("/shop/bath/", {"sort": "price", "page": 3}).status_code == 200


def test_unknown_category_is_404(client):
    assert client.get("/shop/no-such-thing/").status_code == 404


def test_product_page_shows_everything_needed_to_buy(client):
    kitchen = CategoryFactory(name="Kitchen")
    product = ProductFactory(
        title="Speckled mug", category=CategoryFactory(name="Tableware", parent=kitchen),
        attributes={"capacity_ml": 350, "dishwasher_safe": True}, description="Hand-thrown in Devon.",
    )

    response = client.get(f"/products/{product.slug}/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "Speckled mug" in content and "£12.50" in content
    assert 'href="/shop/kitchen/"' in content and 'href="/shop/tableware/"' in content
    assert "Hand-thrown in Devon." in content
    assert re.search(r'<th scope="row">Capacity</th><td>350 ml</td>', content)
    assert "Dishwasher safe" in content
    assert 'action="/cart/add/"' in content and "csrfmiddlewaretoken" in content
    assert f'name="product" value="{product.pk}"' in content
    assert 'name="quantity"' in content
    assert "In stock" in content


def test_product_page_stock_states(client):
    low = ProductFactory(stock=3)
    sold_out = ProductFactory(stock=0)

    assert "Only 3 left" in client.get(low.get_absolute_url()).content.decode()
    content = client.get(sold_out.get_absolute_url()).content.decode()
    assert "Sold out" in content
    assert 'type="submit" disabled' in content


def test_product_page_offers_variants(client):
    product = ProductFactory(title="Wool throw", stock=0)
    oat = VariantFactory(product=product, options={"colour": "Oat"}, stock=2, price=Decimal("80.00"))
    VariantFactory(product=product, options={"colour": "Moss"}, stock=0)

    content = client.get(product.get_absolute_url()).content.decode()

    assert 'name="variant"' in content
    assert f'value="{oat.pk}"' in content and "Colour: Oat" in content and "£80.00" in content
    assert "(sold out)" in content  # Moss
    assert "In stock" in content  # the product is sellable through Oat


def test_product_page_shows_the_discount(client):
    product = ProductFactory(base_price=Decimal("20.00"), price=Decimal("15.00"), prior_price=Decimal("20.00"))
    content = client.get(product.get_absolute_url()).content.decode()
    assert '<s class="price__was">£20.00</s>' in content
    assert "Save 25%" in content


def test_unknown_or_inactive_products_are_404(client):
    assert client.get("/products/no-such-product/").status_code == 404
    hidden = ProductFactory(active=False)
    response = client.get(f"/products/{hidden.slug}/")
    assert response.status_code == 404
    assert b"We couldn" in response.content  # the shop's own 404 page


def test_500_page_renders_without_a_request_or_database():
    html = render_to_string("500.html")
    assert "Something went wrong" in html and "/static/css/vitrine.css" in html


# --- cart and checkout ----------------------------------------------------------------------------


def test_empty_cart(client):
    response = client.get("/cart/")
    assert response.status_code == 200
    assert b"Your cart is empty" in response.content
    assert b'href="/shop/"' in response.content


def test_cart_with_a_line_can_be_updated_and_emptied(client):
    product = ProductFactory(title="Linen towel", base_price=Decimal("12.50"), stock=5)
    client.post("/cart/add/", {"product": product.pk, "quantity": 2})
    line = CartLine.objects.get()

    response = client.get("/cart/")

    content = response.content.decode()
    assert response.status_code == 200
    assert "Linen towel" in content
    assert "£25.00" in content  # line total and cart total
    assert f'action="/cart/lines/{line.pk}/"' in content
    assert 'href="/checkout/"' in content
    assert '<span class="cart-badge" data-cart-count>2</span>' in content

    client.post(f"/cart/lines/{line.pk}/", {"quantity": 3})
    line.refresh_from_db()
    assert line.quantity == 3

    client.post(f"/cart/lines/{line.pk}/", {"quantity": 0})
    assert not CartLine.objects.exists()
    assert b"Your cart is empty" in client.get("/cart/").content


def test_adding_too_many_shows_the_error_on_the_product_page(client):
    product = ProductFactory(stock=1)
    response = client.post("/cart/add/", {"product": product.pk, "quantity": 2}, follow=True)
    assert response.redirect_chain[-1][0] == product.get_absolute_url()
    assert b"Only 1 of" in response.content


def test_checkout_page_shows_the_form_and_summary(client):
    product = ProductFactory(title="Oak board")
    client.post("/cart/add/", {"product": product.pk, "quantity": 1})

    response = client.get("/checkout/")

    assert response.status_code == 200
    content = response.content.decode()
    for field in ("email", "full_name", "line1", "line2", "city", "postcode", "country"):
        assert f'name="{field}"' in content
    assert "Oak board" in content and "£12.50" in content


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(client):
    response = client.get("/checkout/")
    assert response.status_code == 302 and response.url == "/cart/"


def test_checkout_shows_errors(client):
    client.post("/cart/add/", {"product": ProductFactory().pk, "quantity": 1})
    response = client.post("/checkout/", {"email": "not-an-email", "country": "Britain"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Enter a valid email address." in content
    assert "“Britain” is not a country code we know. Choose a country from the list." in content
    assert "This field is required." in content
    assert not Order.objects.exists()


def test_checkout_places_the_order_and_confirms_it(client):
    product = ProductFactory(title="Oak board", stock=4)
    client.post("/cart/add/", {"product": product.pk, "quantity": 2})

    response = client.post("/checkout/", {"email": "guest@example.com", **ADDRESS})

    order = Order.objects.get()
    assert response.status_code == 302
    assert response.url == f"/checkout/done/{order.number}/"
    assert order.email == "guest@example.com" and order.total == Decimal("25.00")

    confirmation = client.get(response.url)
    assert confirmation.status_code == 200
    content = confirmation.content.decode()
    assert order.number in content
    assert "Oak board" in content and "£25.00" in content
    assert "1 High Street" in content
    product.refresh_from_db()
    assert product.stock == 2


def test_a_repeated_checkout_submission_lands_on_the_first_orders_confirmation(client):
    product = ProductFactory(stock=4)
    client.post("/cart/add/", {"product": product.pk, "quantity": 1})
    form = client.get("/checkout/").content.decode()
    [key] = re.findall(r'name="checkout_key" value="([0-9a-f-]{36})"', form)
    submission = {"email": "guest@example.com", **ADDRESS, "checkout_key": key}

    first = client.post("/checkout/", submission)
    again = client.post("/checkout/", submission)  # a double click, or a retry after a lost response

    order = Order.objects.get()
    assert first.url == again.url == f"/checkout/done/{order.number}/"
    assert client.get(again.url).status_code == 200
    assert Product.objects.get(pk=product.pk).stock == 3


def test_a_tampered_checkout_key_is_explained_and_places_nothing(client):
    client.post("/cart/add/", {"product": ProductFactory().pk, "quantity": 1})

    response = client.post("/checkout/", {"email": "guest@example.com", **ADDRESS, "checkout_key": "1' OR 1=1"})

    assert response.status_code == 200
    assert "Please reload the page and place your order again." in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_a_signed_in_add_to_cart_adds_once_and_says_so(client, broker_down, caplog):
    customer, product = CustomerFactory(), ProductFactory(stock=5)
    client.force_login(customer.user)

    response = client.post("/cart/add/", {"product": product.pk, "quantity": 1})

    assert response.status_code == 302 and response.url == "/cart/"
    assert CartLine.objects.get().quantity == 1
    assert "ai.recommendations.tasks.refresh_customer_recommendations not queued: the broker is unreachable" in [
        record.getMessage().split(" (")[0] for record in caplog.records if record.name == "core.queueing"]


def test_a_changed_price_is_shown_in_the_cart_and_checkout_waits_until_it_is_accepted(client):
    product = ProductFactory(title="Oak board", base_price=Decimal("12.50"), stock=4)
    client.post("/cart/add/", {"product": product.pk, "quantity": 2})
    page = client.get("/checkout/")  # the shopper is on the checkout page…
    assert "£25.00" in page.content.decode()
    Product.objects.filter(pk=product.pk).update(price=Decimal("13.00"))  # …when the price moves

    refused = client.post("/checkout/", {"email": "guest@example.com", **ADDRESS}, follow=True)

    assert not Order.objects.exists()
    content = refused.content.decode()
    assert refused.redirect_chain[-1][0] == "/cart/"
    assert "Some prices changed since you added them" in content
    assert "was £12.50, now <strong>£13.00</strong> each" in content
    assert 'action="/cart/accept-prices/"' in content and 'href="/checkout/"' not in content
    assert client.get("/checkout/").url == "/cart/"

    accepted = client.post("/cart/accept-prices/", follow=True)
    assert 'href="/checkout/"' in accepted.content.decode()
    client.post("/checkout/", {"email": "guest@example.com", **ADDRESS})
    assert Order.objects.get().total == Decimal("26.00")  # the price the shopper accepted


HUGE = "99999999999999999999"  # beyond PostgreSQL's bigint


@pytest.mark.parametrize(("method", "url", "status"), [
    ("get", f"/shop/?page={HUGE}", 200),  # the last page
    ("get", f"/search/?q=lamp&page={HUGE}", 200),
    ("get", "/search/?q=lamp%01%1f", 200),  # control characters are searched for like any other
    ("get", f"/search/?q=lamp&category={HUGE}", 400),
    ("get", f"/search/click/{HUGE}/1/", 404),
    ("get", f"/fragments/{HUGE}/block/", 404),
    ("post", f"/cart/lines/{HUGE}/", 302),  # back to the cart: "That item is no longer in your cart."
    ("get", f"/account/orders/{HUGE}/", 404),
    ("post", f"/account/orders/{HUGE}/returns/{HUGE}/", 404),
])
def test_out_of_range_numbers_in_paths_and_queries_are_answered_without_a_500(client, wagtail_site, method, url,
                                                                             status):
    client.force_login(CustomerFactory().user)
    assert getattr(client, method)(url).status_code == status


def test_someone_elses_confirmation_is_not_shown(client):
    order = order_for(CustomerFactory(), ProductFactory())
    response = client.get(f"/checkout/done/{order.number}/")
    assert response.status_code == 302 and response.url.startswith("/account/login/")


# --- account --------------------------------------------------------------------------------------


def test_login_page(client):
    response = client.get("/account/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="password"' in response.content
    assert b'href="/account/signup/"' in response.content


def test_signup_creates_an_account_and_logs_in(client):
    response = client.get("/account/signup/")
    assert response.status_code == 200
    assert b'name="first_name"' in response.content

    response = client.post("/account/signup/", {"first_name": "Robin", "email": "Robin@Example.com",
                                                 "password": "a-long-passphrase"})
    assert response.status_code == 302 and response.url == "/account/"

    overview = client.get("/account/")
    assert overview.status_code == 200
    assert overview.wsgi_request.user.is_authenticated
    assert b"Hello, Robin" in overview.content
    assert b"No orders yet" in overview.content
    assert b'action="/account/logout/"' in overview.content


def test_signup_errors_are_shown(client):
    response = client.post("/account/signup/", {"first_name": "Robin", "email": "nope", "password": "123"})
    assert response.status_code == 200
    assert b"Enter a valid email address." in response.content


def test_account_requires_login(client):
    response = client.get("/account/")
    assert response.status_code == 302 and response.url.startswith("/account/login/")


def test_account_lists_the_customers_orders_and_addresses(client):
    customer = CustomerFactory()
    AddressFactory(customer=customer, line1="7 Quay Street")
    mine = order_for(customer, ProductFactory())
    theirs = order_for(CustomerFactory(), ProductFactory())
    client.force_login(customer.user)

    response = client.get("/account/")

    content = response.content.decode()
    assert response.status_code == 200
    assert mine.number in content and f'href="/account/orders/{mine.number}/"' in content
    assert theirs.number not in content
    assert "7 Quay Street" in content
    assert "£25.00" in content


def test_order_detail_shows_lines_and_a_return_form(client):
    customer = CustomerFactory()
    order = order_for(customer, ProductFactory(title="Oak board"))
    line = order.lines.get()
    client.force_login(customer.user)

    response = client.get(f"/account/orders/{order.number}/")

    content = response.content.decode()
    assert response.status_code == 200
    assert order.number in content and "Oak board" in content
    assert f'action="/account/orders/{order.number}/returns/{line.pk}/"' in content
    assert 'name="reason"' in content and "Arrived damaged" in content
    assert 'max="2"' in content


def test_other_customers_orders_are_404(client):
    order = order_for(CustomerFactory(), ProductFactory())
    client.force_login(CustomerFactory().user)
    assert client.get(f"/account/orders/{order.number}/").status_code == 404


def test_requesting_a_return(client):
    customer = CustomerFactory()
    order = order_for(customer, ProductFactory(title="Oak board"))
    line = order.lines.get()
    client.force_login(customer.user)

    response = client.post(f"/account/orders/{order.number}/returns/{line.pk}/",
                           {"quantity": 1, "reason": "damaged", "note": "Chipped"}, follow=True)

    assert response.status_code == 200
    return_ = Return.objects.get()
    assert (return_.line, return_.quantity, return_.reason) == (line, 1, "damaged")
    content = response.content.decode()
    assert "Return of Oak board requested" in content
    assert "Requested" in content and "Return of 1" in content


def test_header_shows_account_links_and_cart_count(client):
    customer = CustomerFactory()
    client.force_login(customer.user)
    client.post("/cart/add/", {"product": ProductFactory().pk, "quantity": 3})

    content = client.get("/shop/").content.decode()

    assert 'href="/account/"' in content and 'action="/account/logout/"' in content
    assert '<span class="cart-badge" data-cart-count>3</span>' in content


# --- Wagtail admin --------------------------------------------------------------------------------


def test_admin_product_snippets_list_and_filter(admin_client):
    kitchen, bath = CategoryFactory(name="Kitchen"), CategoryFactory(name="Bath")
    ProductFactory(title="Speckled mug", category=kitchen)
    ProductFactory(title="Waffle towel", category=bath)

    response = admin_client.get("/admin/snippets/catalogue/product/")
    assert response.status_code == 200
    assert b"Speckled mug" in response.content and b"Waffle towel" in response.content

    filtered = admin_client.get("/admin/snippets/catalogue/product/", {"category": kitchen.pk})
    assert filtered.status_code == 200
    assert b"Speckled mug" in filtered.content
    assert b"Waffle towel" not in filtered.content


def test_admin_product_edit_page_renders(admin_client):
    product = ProductFactory(title="Speckled mug")
    VariantFactory(product=product)
    response = admin_client.get(f"/admin/snippets/catalogue/product/edit/{product.pk}/")
    assert response.status_code == 200
    assert b"Speckled mug" in response.content
