"""The house rules that an import graph cannot see (import-linter checks the rest in `make lint`): apps meet
through each other's functions, never each other's tables; modules stay a readable size; and a web process
serving pages, search and the API never loads the training stack."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

from ai import embeddings
from tests.factories import ProductFactory

BASE_DIR = Path(settings.BASE_DIR)
APP_PACKAGES = ("core", "commerce", "ai", "blocks", "home", "demo", "vitrine")
MAX_MODULE_LINES = 600
TRAINING_STACK = ("implicit", "torch", "sklearn", "sentence_transformers")


def project_modules() -> list[Path]:
    return [path for package in APP_PACKAGES if (BASE_DIR / package).is_dir()
            for path in sorted((BASE_DIR / package).rglob("*.py")) if "migrations" not in path.parts]


def owning_app_directory(model) -> Path:
    return Path(model._meta.app_config.path).resolve()


def test_no_module_names_another_apps_table():
    # given every table the project's own models own
    tables = {model._meta.db_table: owning_app_directory(model) for model in apps.get_models()
              if Path(model._meta.app_config.path).resolve().is_relative_to(BASE_DIR)}
    assert {"events_customerevent", "orders_order", "catalogue_product"} <= set(tables)
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, tables), key=len, reverse=True)) + r")\b")
    # when each module is searched for table names
    trespasses = [f"{path.relative_to(BASE_DIR)} names {table}"
                  for path in project_modules()
                  for table in set(pattern.findall(path.read_text(encoding="utf-8")))
                  if not path.resolve().is_relative_to(tables[table])]
    # then only the owner's modules name a table; others call its functions or use Model._meta.db_table
    assert trespasses == []


def test_no_module_is_longer_than_the_limit():
    lengths = {str(path.relative_to(BASE_DIR)): len(path.read_text(encoding="utf-8").splitlines())
               for path in project_modules()}
    assert len(lengths) > 100
    assert {path: lines for path, lines in lengths.items() if lines > MAX_MODULE_LINES} == {}


WEB_PROCESS = """
import json, os, re, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
from django.conf import settings
settings.DATABASES["default"]["NAME"] = sys.argv[1]
import django
django.setup()
from django.test import Client
shopper = Client()
statuses = {}
for url in ["/", "/search/?q=green+tea", "/api/v1/search?q=green+tea", "/api/v1/recommendations?surface=home",
            sys.argv[2], "/cart/"]:
    response = shopper.get(url)
    statuses[url] = response.status_code
    for fragment in re.findall(r'data-fragment-url="([^"]+)"', response.content.decode()):
        statuses[fragment] = shopper.get(fragment).status_code
print(json.dumps({"statuses": statuses, "modules": sorted(m.split(".")[0] for m in sys.modules)}))
"""


@pytest.mark.django_db(transaction=True)
def test_a_web_process_serves_pages_search_and_the_api_without_the_training_stack(wagtail_site):
    # given a shop whose home page shows every AI block, with its products indexed for search
    from ai.search import indexing

    embeddings.ensure_onnx_model()  # exported here once; a web process only ever loads the file
    tea = ProductFactory(title="Sencha green tea")
    others = [ProductFactory(title=f"Teapot {n}") for n in range(3)]
    indexing.index_products([tea.pk, *(p.pk for p in others)])
    wagtail_site.body = [
        ("recommendations", {"title": "Trending", "strategy": "trending", "count": 4, "category": None,
                             "product": None, "fallback": "trending", "experiment": None}),
        ("recommendations", {"title": "For you", "strategy": "personalised", "count": 4, "category": None,
                             "product": None, "fallback": "trending", "experiment": None}),
        ("semantic_search", {"title": "Tea", "mode": "curated", "query": "green tea", "category": None,
                             "max_price": None, "in_stock": True, "count": 4}),
        ("semantic_search", {"title": "Search", "mode": "box", "query": "", "category": None,
                             "max_price": None, "in_stock": True, "count": 4}),
        ("priced_products", {"title": "Prices", "products": [tea]}),
    ]
    wagtail_site.save_revision().publish()

    # when a fresh process serves them as a web worker does
    result = subprocess.run([sys.executable, "-c", WEB_PROCESS, connection.settings_dict["NAME"],
                             f"/products/{tea.slug}/"],
                            capture_output=True, text=True, cwd=BASE_DIR, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])

    # then every page answered, semantic search ran (its encoder loaded) and no training library was imported
    assert served["statuses"] and set(served["statuses"].values()) == {200}, served["statuses"]
    assert len(served["statuses"]) > 6  # the personalised row's fragment was fetched too
    assert "onnxruntime" in served["modules"]
    assert [name for name in TRAINING_STACK if name in served["modules"]] == []
