from django.contrib.postgres.operations import BtreeGistExtension, TrigramExtension
from pgvector.django import VectorExtension
from django.db import migrations


class Migration(migrations.Migration):
    """The PostgreSQL extensions Vitrine relies on: pgvector (embeddings), pg_trgm (typo-tolerant search)."""

    dependencies = [("catalogue", "0001_initial")]

    operations = [VectorExtension(), TrigramExtension(), BtreeGistExtension()]
