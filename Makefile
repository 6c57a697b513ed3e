# newsrec command index: `make` lists the targets.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= data/demo
DEMO_MODELS ?= models
DEMO_ARTICLES ?= 3000
DEMO_DAYS ?= 30
#: `make demo PORT=8001` serves elsewhere.
PORT ?= 8000
#: Bearer token of the demo's CMS and rules APIs (the README's write examples), unless
#: NEWSREC_CMS_TOKEN / NEWSREC_RULES_TOKEN are set.
DEMO_TOKEN ?= newsrec-demo-token

.DEFAULT_GOAL := help
.PHONY: help venv demo demo-data demo-train test lint typecheck bench bench-check bench-serve bench-quality browser wordpress-deps wordpress-plugin clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,bench,dask]'
	touch $@

venv: $(BIN)/.installed ## create .venv and install the project with its dev extras

demo-data: venv ## generate sample data ending now into data/demo
	$(BIN)/newsrec generate-sample --articles $(DEMO_ARTICLES) --days $(DEMO_DAYS) --now now --out $(DEMO_DIR)

demo-train: demo-data ## train a bundle on the sample data into models/
	$(BIN)/newsrec train --articles $(DEMO_DIR)/articles.jsonl --views $(DEMO_DIR)/views.csv --out $(DEMO_MODELS)

demo: demo-train ## sample data ending now, train, serve on http://localhost:8000 (PORT=8001: elsewhere; no Redis)
	NEWSREC_CMS_TOKEN="$${NEWSREC_CMS_TOKEN:-$(DEMO_TOKEN)}" NEWSREC_RULES_TOKEN="$${NEWSREC_RULES_TOKEN:-$(DEMO_TOKEN)}" \
	  $(BIN)/newsrec serve --models $(DEMO_MODELS) --port $(PORT) --demo

browser: ## install Debian's chromium for the browser tests (root only; skipped if present)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: install Debian's chromium package (browser tests will skip)"; fi; }

#: Debian packages of the WordPress plugin's tests: PHP, PHPUnit, WordPress 6.1 and a theme.
WORDPRESS_DEPS := php-cli php-mysql phpunit wordpress wordpress-theme-twentytwentyone

wordpress-deps: ## install Debian's PHP, PHPUnit and WordPress for the plugin's tests (root only; skipped if present)
	@missing=$$(for p in $(WORDPRESS_DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian packages: $$missing (the WordPress plugin's tests will skip)"; fi; fi

wordpress-plugin: ## build the WordPress plugin's zip: dist/newsrec-wordpress.zip
	$(PYTHON) wordpress-plugin/build.py dist/newsrec-wordpress.zip

test: venv browser wordpress-deps ## the whole test suite (fails if no test ran)
	@$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

lint: venv ## ruff lint and format check
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: venv ## mypy strict on recommender/ and service/
	$(BIN)/mypy

bench: venv ## training benchmarks (see bench/RESULTS.md)
	$(BIN)/python bench/train.py

#: Redis DB that bench-check's ingestion part flushes.
BENCH_REDIS_DB ?= 10

bench-check: venv ## every headline figure at a reduced size, in under 10 minutes (bench/RESULTS.md)
	$(BIN)/python bench/check.py --redis-db $(BENCH_REDIS_DB)

bench-serve: venv ## serving benchmark against a bare WSGI app (wrk)
	$(BIN)/python bench/serve.py

bench-quality: venv ## offline quality on generated data
	$(BIN)/python bench/quality.py

clean: ## remove the virtual environment and generated data
	rm -rf $(VENV) data bench/out test-artifacts
