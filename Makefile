# The two commands of the README, plus a few conveniences. Each runs the idempotent setup first.
PY := .venv/bin/python

.PHONY: setup run test bench demo-data lint format

setup:
	@python3 devstack/setup.py

run: setup                ## the whole backend on the emulators, with demo data
	@$(PY) -m devstack.run

test: setup               ## ruff, unit tests, stack lifecycle tests, then every emulator tier
	@$(PY) -m devstack.testrun

bench: setup              ## benchmarks on a fresh emulator stack; prints figures
	@$(PY) -m devstack.benchrun

demo-data: setup          ## regenerate emulator-data/ from the demo seed
	@$(PY) -m devstack.run --export

lint: setup
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: setup
	@.venv/bin/ruff check --fix . && .venv/bin/ruff format .
