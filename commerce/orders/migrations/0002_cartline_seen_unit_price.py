from decimal import Decimal

import django.core.validators
from django.db import migrations, models


def seen_is_current(apps, schema_editor):
    """Lines added before this field existed were seen at today's price."""
    CartLine = apps.get_model("orders", "CartLine")
    for line in CartLine.objects.select_related("product", "variant").iterator():
        variant_price = line.variant.price if line.variant_id else None
        line.seen_unit_price = variant_price if variant_price is not None else line.product.price
        line.save(update_fields=["seen_unit_price"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="cartline",
            name="seen_unit_price",
            field=models.DecimalField(decimal_places=2, max_digits=10, null=True),
        ),
        migrations.RunPython(seen_is_current, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="cartline",
            name="seen_unit_price",
            field=models.DecimalField(
                decimal_places=2, max_digits=10,
                validators=[django.core.validators.MinValueValidator(Decimal("0"))],
            ),
        ),
    ]
