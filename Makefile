# Everyday commands; `make` alone lists them.
.DEFAULT_GOAL := help
UV := python3 -m uv

.PHONY: help setup example test test-fast lint format types ci bench screenshots mutate

help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## install the locked environment with the test tools
	$(UV) sync --frozen --extra test

example: ## publish the example quarter to out/published (README's first command)
	$(UV) run --frozen kvartal run

# What the quick tier starts besides pytest (`pytest -m "not slow" --list-started` lists it):
# Prefect's test API (`prefect_test_harness`: one local uvicorn process on SQLite), a moto
# S3 server process for the S3 storage tests, an SMTP server on loopback in a thread, and
# short processes: `kvartal` commands whose exit status is the test, a `python` that ends
# at once (a dead process's id), `git` for a manifest's revision, a tmpfs mount. Browsers,
# office programs, PostgreSQL, s3rver, fault proxies and killed runs are in the slow tier.
test-fast: ## the quick tests: Prefect's test API, moto S3, loopback mail, short commands
	$(UV) run --frozen --extra test pytest -m "not slow" -q

.PHONY: coverage
coverage: ## the quick tests, with how much of flows/ they run (fails under 85 %)
	$(UV) run --frozen --extra test pytest -m "not slow" -q --cov=flows --cov-report=term-missing --cov-fail-under=85

test: ## every test (what CI runs after lint and types)
	$(UV) run --frozen --extra test pytest

lint: ## ruff's lint and format check
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: ## format the code with ruff
	.venv/bin/ruff format .

types: ## mypy over the packages
	.venv/bin/mypy

ci: ## CI from nothing, as it runs on a fresh machine
	bash .ci/run

bench: ## the benchmarks behind docs/benchmarks.md
	$(UV) run --frozen python bench/bench.py

screenshots: ## the operator's guide's screenshots, taken afresh into docs/images/
	rm -rf out/screenshots
	SCREENSHOTS_TO=out/screenshots $(UV) run --frozen --extra test pytest -q tests/test_operator_guide.py tests/test_collection_screenshots.py tests/test_history_page.py
	cp out/screenshots/*.png docs/images/

mutate: ## mutants of numbers, fulfilment and publish; every survivor is listed (docs/mutation.md)
	nice -n 10 $(UV) run --frozen --extra test mutmut run --max-children 2
	$(UV) run --frozen --extra test mutmut results
	nice -n 10 $(UV) run --frozen --extra test python -m tests.support.constant_mutants
