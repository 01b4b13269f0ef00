# Vitrine: `make demo` serves the shop on http://127.0.0.1:8000, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo serve test bench topology lint docs stop clean

$(INSTALLED): pyproject.toml
	@echo "==> Installing Python packages into $(VENV) (first run: about 3–5 minutes)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

demo: install
	@echo "==> Starting the embedded PostgreSQL and Redis (under ./var) and migrating the database"
	$(BIN)/python manage.py migrate --noinput
	@echo "==> Collecting static files"
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo "==> Seeding the demo catalogue, pages, shoppers and staff accounts (once)"
	$(BIN)/python manage.py seed_demo --if-empty
	@echo "==> Simulating 60 days of shoppers' behaviour"
	$(BIN)/python manage.py simulate_shoppers --customers 500 --days 60
	@echo "==> Embedding products for semantic search"
	$(BIN)/python manage.py embed_products
	@echo "==> Training recommendations"
	$(BIN)/python manage.py train_recommendations
	@echo "==> Seeding pricing rules and computing prices"
	$(BIN)/python manage.py seed_pricing --run
	@echo "==> Seeding A/B experiments"
	$(BIN)/python manage.py seed_experiments
	@echo "==> Demo logins: $(BIN)/python manage.py demo_credentials (--reset sets new passwords)"
	@echo "==> Serving on http://127.0.0.1:8000 (Ctrl-C stops web, worker and beat)"
	$(MAKE) serve

# Web, Celery worker and beat in one process group; Ctrl-C stops all three. Worker and beat restart
# themselves if they exit (Procfile), so one crash does not stop the shop.
serve: install
	VITRINE_SERVE_MEDIA=1 $(BIN)/honcho start --no-prefix -f Procfile

test: install
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

# The scale-out topology on loopback (docs/operations.md, "Scale-out topology"): its own PostgreSQL and
# Redis on TCP ports, web, Celery workers per queue and beat as separate processes, a minute of mixed load
# with a realtime worker SIGKILLed; reports throughput, latencies and lost events, then stops everything.
topology: install
	$(BIN)/python -m bench topology

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python docs/import_graph.py --check

# Redraw docs/architecture.md's import picture from the code.
docs: install
	$(BIN)/python docs/import_graph.py

# Stop the embedded PostgreSQL and Redis (their data stays in var/).
stop: install
	$(BIN)/python -m vitrine.embedded stop

clean: stop
	rm -rf var
