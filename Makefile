# Two commands for a newcomer: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup unit integration e2e kafka-up kafka-down bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/motcua demo

test: $(STAMP)
	$(BIN)/pytest -q tests/unit tests/integration tests/e2e

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

# prints only the bootstrap address on stdout: export MOTCUA_KAFKA_BOOTSTRAP=$$(make -s kafka-up)
kafka-up: $(STAMP)
	@$(BIN)/python -m devtools.kafka_broker up

kafka-down: $(STAMP)
	$(BIN)/python -m devtools.kafka_broker down

bench: $(STAMP)
	$(BIN)/python benchmarks/replay_throughput.py --events 1000000

clean:
	rm -rf .motcua .pytest_cache
