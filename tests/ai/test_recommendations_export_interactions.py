import uuid

import pytest
from django.core.management import call_command

from ai.recommendations.evaluation import read_interactions
from tests.factories import CustomerFactory, ProductFactory, stored_event

pytestmark = pytest.mark.django_db


def test_export_writes_customers_product_events_of_the_window_as_an_evaluation_log(tmp_path):
    customer, mug = CustomerFactory(), ProductFactory()
    stored_event("view", mug, customer=customer, hours_ago=3)
    stored_event("purchase", mug, customer=customer, hours_ago=2, quantity=2)
    stored_event("view", mug, customer=customer, hours_ago=24 * 40)  # before --days 30
    stored_event("search", mug, customer=customer)
    stored_event("view", mug, visitor=uuid.uuid4())  # anonymous
    path = tmp_path / "log.csv"

    call_command("export_interactions", str(path), "--days", "30")

    rows = read_interactions(path)
    assert [(user, item, event) for user, item, _, event in rows] == [
        (str(customer.pk), str(mug.pk), "view"), (str(customer.pk), str(mug.pk), "purchase")]
    assert path.read_text().splitlines()[0] == "user_id,item_id,timestamp,event_type,quantity,price"
