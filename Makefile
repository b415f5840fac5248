# The two commands of the README: `make reproduce` and `make test`.
# Both create .venv from pyproject.toml on first use (or when the pins change).
SHELL := /bin/bash
VPY := .venv/bin/python
PROFILE ?= cpu

.PHONY: venv test test-fast reproduce bench lint clean-notebooks clean-cache help

help:
	@echo "make reproduce   run every notebook (profile=$(PROFILE)) and regenerate results/"
	@echo "                 e.g. make reproduce ARGS='--param budget_minutes=-1' (train every pending grid run)"
	@echo "make test        unit tests + smoke-profile notebook runs"
	@echo "make bench       benchmarks (print speed ratios)"
	@echo "make lint        ruff on the library, tests and notebooks"

venv:
	@bash .ci/ensure-venv

test: venv
	$(VPY) -m pytest -n 2 --dist loadfile -q

test-fast: venv
	$(VPY) -m pytest -q -m "not slow"

reproduce: venv
	$(VPY) -m vireid_lib.cli reproduce --profile $(PROFILE) $(ARGS)

bench: venv
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(VPY) $$b || exit 1; done

lint: venv
	$(VPY) -m ruff check vireid_lib tests benchmarks notebooks

clean-notebooks: venv
	$(VPY) -m nbstripout notebooks/*.ipynb

clean-cache:
	rm -rf data/cache
