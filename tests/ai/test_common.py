import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from ai.common import copy_text
from ai.recommendations.models import CustomerRecommendations, RecommendationModel
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_copy_text_stores_numbers_nulls_and_times_exactly():
    # given lists as training builds them: ids, float32 scores widened to float, explanations with gaps
    customer, other = CustomerFactory(), CustomerFactory()
    model = RecommendationModel.objects.create(version="copy", trained_at=timezone.now(), settings={}, customers=2,
                                               products=3, interactions=3)
    computed_at = timezone.now()
    scores = [float(np.float32(0.12345)), 1e-05, 0.1 + 0.2]
    table = CustomerRecommendations._meta.db_table
    # when they are copied in as text
    copy_text(f"COPY {table} (customer_id, model_id, product_ids, scores, because, computed_at) FROM STDIN",
              [(customer.pk, model.pk, [3, 1, 2], scores, [None, 7, None], computed_at),
               (other.pk, model.pk, [], [], [], computed_at)])
    # then they read back bit for bit
    stored = CustomerRecommendations.objects.get(customer=customer)
    assert (stored.product_ids, stored.scores, stored.because) == ([3, 1, 2], scores, [None, 7, None])
    assert stored.computed_at == computed_at
    assert CustomerRecommendations.objects.get(customer=other).product_ids == []


def test_copy_text_stores_strings_with_tabs_newlines_and_backslashes_as_given():
    # given strings holding every character COPY's text format gives a meaning to
    notes = ["tab\there", "two\nlines", "back\\slash \\N", "carriage\rreturn", "\\."]
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copied_notes (position int, note text)")
    # when they are copied in as text
    copy_text("COPY copied_notes (position, note) FROM STDIN", list(enumerate(notes)))
    # then each reads back as it was
    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM copied_notes ORDER BY position")
        assert [note for (note,) in cursor.fetchall()] == notes
