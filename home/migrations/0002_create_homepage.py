from django.db import migrations


def create_homepage(apps, schema_editor):
    """Replace Wagtail's placeholder root child with Vitrine's HomePage and point the default site at it."""
    ContentType = apps.get_model("contenttypes.ContentType")
    Page = apps.get_model("wagtailcore.Page")
    Site = apps.get_model("wagtailcore.Site")
    HomePage = apps.get_model("home.HomePage")
    Locale = apps.get_model("wagtailcore.Locale")

    Page.objects.filter(depth=2, slug="home", content_type__model="page").delete()
    homepage_type, _ = ContentType.objects.get_or_create(model="homepage", app_label="home")
    home = HomePage.objects.create(
        title="Vitrine", draft_title="Vitrine", slug="home", content_type=homepage_type,
        path="00010001", depth=2, numchild=0, url_path="/home/", body=[],
        locale=Locale.objects.order_by("pk").first(),  # Wagtail's migrations create the default locale
    )
    Site.objects.update_or_create(is_default_site=True, defaults={
        "hostname": "localhost", "root_page": home, "site_name": "Vitrine", "port": 80,
    })


def remove_homepage(apps, schema_editor):
    apps.get_model("home.HomePage").objects.filter(slug="home", depth=2).delete()


class Migration(migrations.Migration):
    dependencies = [("home", "0001_initial"), ("wagtailcore", "0098_apitoken")]

    operations = [migrations.RunPython(create_homepage, remove_homepage)]
