from django.db import migrations, models


def backfill_departments(apps, schema_editor):
    """Each embedding's department: the top-level ancestor of its product's category (one UPDATE)."""
    Category = apps.get_model("catalogue", "Category")
    Product = apps.get_model("catalogue", "Product")
    ProductEmbedding = apps.get_model("search", "ProductEmbedding")
    parents = dict(Category.objects.values_list("pk", "parent_id"))
    departments = {}
    for pk in parents:
        node, seen = pk, set()
        while parents.get(node) is not None and node not in seen:
            seen.add(node)
            node = parents[node]
        departments[pk] = node
    if not departments:
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {ProductEmbedding._meta.db_table} e SET department_id = d.department
                FROM {Product._meta.db_table} p
                JOIN unnest(%s::bigint[], %s::bigint[]) AS d(category, department) ON d.category = p.category_id
                WHERE p.id = e.product_id""",
            [list(departments), list(departments.values())],
        )


class Migration(migrations.Migration):

    dependencies = [
        ('catalogue', '0005_product_prior_price'),
        ('search', '0006_search_query_visitor_time'),
    ]

    operations = [
        migrations.AddField(
            model_name='productembedding',
            name='department_id',
            field=models.BigIntegerField(help_text="The product's top-level category, denormalised: each large department has its own partial IVFFlat index on it (``vector_index``), which a department filter reads", null=True),
        ),
        migrations.AddField(
            model_name='searchstatistics',
            name='department_indexes',
            field=models.JSONField(default=dict, help_text='The departments with their own partial IVFFlat index: {department id: {lists, rows, built_at, build_s}}'),
        ),
        migrations.RunPython(backfill_departments, migrations.RunPython.noop),
    ]
