# Vitrine: `make demo` serves the shop on http://127.0.0.1:8000, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo serve test bench lint stop clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py simulate_shoppers --customers 500 --days 60
	$(BIN)/python manage.py embed_products
	$(BIN)/python manage.py train_recommendations
	$(BIN)/python manage.py seed_pricing --run
	$(BIN)/python manage.py seed_experiments
	$(MAKE) serve

# Web, Celery worker and beat in one process group; Ctrl-C stops all three.
serve: install
	VITRINE_SERVE_MEDIA=1 $(BIN)/honcho start --no-prefix -f Procfile

test: install
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .

# Stop the embedded PostgreSQL and Redis (their data stays in var/).
stop: install
	$(BIN)/python -m vitrine.embedded stop

clean: stop
	rm -rf var
