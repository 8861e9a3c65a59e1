# The two commands a newcomer needs:  `make up`  and  `make test`.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install up test tools services lint

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

up: install
	$(BIN)/covenant up

tools:
	bash scripts/ensure-tools.sh

services:
	bash scripts/ensure-services.sh

test: install tools services lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
