# One command runs the system, one passes the tests. Both install into .venv.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: install run test test-unit test-service test-e2e bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "setuptools<81" wheel
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test,bench]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## migrate and run every service and the gateway (SQLite under var/)
	$(BIN)/crm run

test: $(STAMP)  ## lint, then unit, service and e2e tests against RabbitMQ at $$AMQP_URI
	$(BIN)/ruff check cli crm emulations providers services tests bench
	$(BIN)/pytest

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

test-service: $(STAMP)
	$(BIN)/pytest tests/service

test-e2e: $(STAMP)
	$(BIN)/pytest tests/e2e

bench: $(STAMP)  ## benchmarks; prints tables
	$(BIN)/python -m bench.gateway_me

lint: $(STAMP)
	$(BIN)/ruff check cli crm emulations providers services tests bench
	$(BIN)/ruff format --check cli crm emulations providers services tests bench

clean:
	rm -rf $(VENV) var .pytest_cache
