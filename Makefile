# The README's two commands: `make demo` and `make test`. Everything else is a step of theirs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install lint

install:
	bash scripts/install.sh

demo: install
	bash scripts/demo.sh

test: install
	bash scripts/test.sh

lint:
	$(BIN)/ruff check .
	$(BIN)/mypy
