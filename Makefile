# The CRM's commands. `make help` lists them.
# Two matter most: `make demo` runs the product with demo data, `make test` runs the whole suite.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help venv demo serve migrate seed test test-fast lint format check messages messages-check bench-seed clean

help: ## List the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

venv: $(VENV)/.installed ## Create the virtual environment and install the pinned dependencies

demo: venv ## Migrate, seed demo data if the database is empty, print the logins and serve on http://127.0.0.1:8000
	$(MANAGE) migrate --no-input
	$(MANAGE) seed_demo --if-empty
	$(MANAGE) runserver $(HOST):$(PORT)

serve: venv ## Serve without seeding
	$(MANAGE) runserver $(HOST):$(PORT)

migrate: venv ## Apply migrations
	$(MANAGE) migrate --no-input

seed: venv ## Re-seed the demo data from scratch (drops what the seed owns)
	$(MANAGE) seed_demo --reset

test: venv ## Run the whole test suite (SQLite by default; set DATABASE_URL for PostgreSQL)
	$(BIN)/pytest

test-fast: venv ## The suite without the headless-browser tests and the worker-killing ones
	$(BIN)/pytest -m "not browser and not kill"

lint: venv ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: venv ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: venv ## Django's system checks, missing migrations, and the production deploy checks
	$(MANAGE) check --fail-level WARNING
	$(MANAGE) makemigrations --check --dry-run
	CRM_ENV=production SECRET_KEY=check-only-$$(date +%s)-a-long-random-enough-value-for-the-deploy-check \
		ALLOWED_HOSTS=crm.example.com $(MANAGE) check --deploy --fail-level WARNING

# References name the file only: line numbers would change the catalogue on every unrelated edit.
MAKEMESSAGES := $(MANAGE) makemessages -l ko --ignore=$(VENV) --ignore=staticfiles --ignore=node_modules \
	--no-obsolete --add-location=file

messages: venv ## Collect translatable strings into locale/ko and compile the catalogue
	$(MAKEMESSAGES)
	$(MANAGE) compilemessages --ignore=$(VENV)

messages-check: venv ## Fail if locale/ko misses a string of the code (what CI runs)
	@$(MAKEMESSAGES) >/dev/null
	@if ! git diff --quiet -I 'POT-Creation-Date' -- locale; then \
		echo "locale/ko is out of date: run 'make messages', translate the new strings, commit." >&2; \
		git diff -I 'POT-Creation-Date' -- locale >&2; exit 1; fi

bench-seed: venv ## Time seed_demo at SIZE customers (PostgreSQL: set DATABASE_URL)
	$(BIN)/python benchmarks/seed.py --customers $${SIZE:-1000000}

clean: ## Remove the virtual environment, the SQLite database and caches
	rm -rf $(VENV) db.sqlite3 staticfiles .mypy_cache .ruff_cache .pytest_cache
