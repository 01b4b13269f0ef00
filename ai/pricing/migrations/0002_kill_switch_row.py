from django.db import migrations


def create_switch(apps, schema_editor):
    """The switch's one row exists from the start, so the engine's share lock on it always has a row to hold."""
    apps.get_model("pricing", "KillSwitch").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [
        ("pricing", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_switch, migrations.RunPython.noop)]
