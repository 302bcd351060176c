# Two commands for a newcomer: `make demo` and `make test`. Everything else is a helper
# (`make help` lists them).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup unit integration e2e quick lint format typecheck check help kafka-up kafka-down bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) ## Create the virtualenv and install the package with its dev tools

demo: $(STAMP) ## Simulate one month for Đồng Nai into the embedded store and print KPIs vs plan targets
	$(BIN)/motcua demo

test: $(STAMP) ## Run all tests: unit, integration (Kafka ones included), e2e; what CI runs
	bash devtools/test_lanes.sh $(BIN)

unit: $(STAMP) ## Run the unit tests
	$(BIN)/pytest -q tests/unit

integration: $(STAMP) ## Run the integration tests (embedded ClickHouse)
	$(BIN)/pytest -q tests/integration

e2e: $(STAMP) ## Run the end-to-end tests
	$(BIN)/pytest -q tests/e2e

# The fast lane: unit tests not marked slow, each property test at a few examples (the
# hypothesis `dev` profile, tests/conftest.py). Bytecode is written even under
# PYTHONDONTWRITEBYTECODE: pytest then keeps its rewritten test modules, which halves collection.
quick: $(STAMP) ## Run the fast unit tests (under 30 s): no slow tests, few hypothesis examples
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -m "not slow" -p no:cacheprovider --hypothesis-profile=dev tests/unit

lint: $(STAMP) ## Check lint rules and formatting (ruff), changing nothing
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Fix what ruff can fix, then format the tree
	$(BIN)/ruff check --fix --exit-zero .
	$(BIN)/ruff format .

typecheck: $(STAMP) ## Type-check the package (mypy; files and options in pyproject.toml)
	$(BIN)/mypy

check: lint typecheck quick ## Lint, type-check and run the fast tests: before every commit

help: ## List the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

# prints only the bootstrap address on stdout: export MOTCUA_KAFKA_BOOTSTRAP=$$(make -s kafka-up)
kafka-up: $(STAMP) ## Start a local Kafka broker (prints its bootstrap address)
	@$(BIN)/python -m devtools.kafka_broker up

kafka-down: $(STAMP) ## Stop the local Kafka broker
	$(BIN)/python -m devtools.kafka_broker down

bench: $(STAMP) ## Replay throughput benchmark (1,000,000 events)
	$(BIN)/python benchmarks/replay_throughput.py --events 1000000

clean: ## Remove local state and caches
	rm -rf .motcua .pytest_cache .mypy_cache .ruff_cache
