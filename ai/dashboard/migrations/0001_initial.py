from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="StorefrontDashboard",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ],
            options={
                "verbose_name": "Storefront AI dashboard",
                "permissions": [
                    ("view_dashboard", "Can view the Storefront AI dashboard"),
                    ("queue_ai_tasks", "Can queue AI training and re-indexing from the Storefront AI dashboard"),
                ],
                "managed": False,
                "default_permissions": (),
            },
        ),
    ]
