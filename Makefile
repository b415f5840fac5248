# The two commands of the README: `make reproduce` and `make test`; and, for learners, `make lab` (the course in
# JupyterLab) and `make reset-results` (back to the committed study after experiments); `make site` rebuilds the
# course website from the executed notebooks (`make reproduce` builds it too).
# They create .venv from pyproject.toml on first use (or when the pins change).
SHELL := /bin/bash
VPY := .venv/bin/python
PROFILE ?= cpu

.PHONY: venv test test-fast check-reproduce reproduce site lab reset-results bench lint clean-notebooks clean-cache help

help:
	@echo "make reproduce   run every notebook (profile=$(PROFILE)) and regenerate results/"
	@echo "                 e.g. make reproduce ARGS='--param budget_minutes=-1' (train every pending grid run)"
	@echo "make test        unit tests + smoke-profile notebook runs"
	@echo "make check-reproduce  make reproduce on a fresh clone of the last commit rewrites no committed file"
	@echo "make site        rebuild the course website (results/site/) from the executed notebooks, running none"
	@echo "make lab         the course (notebooks/) in JupyterLab with the project's kernel; e.g. make lab ARGS=--port=8890"
	@echo "make reset-results  restore the committed study results (not runs), remove results/scratch/"
	@echo "make bench       benchmarks (print speed ratios)"
	@echo "make lint        ruff on the library, tests, notebooks and the website's conf.py"

venv:
	@bash .ci/ensure-venv

test: venv
	$(VPY) -m pytest -n 2 --dist loadfile -q

test-fast: venv
	$(VPY) -m pytest -q -m "not slow and not reproduce"

# `make reproduce` on a fresh clone of the last commit: trains nothing, rewrites no committed file but measured times
check-reproduce: venv
	$(VPY) -m pytest -q -s -m reproduce tests/test_reproduce_clone.py

reproduce: venv
	$(VPY) -m vireid_lib.cli reproduce --profile $(PROFILE) $(ARGS)

# The course website from what `make reproduce` left (results/ for the cpu profile, results/scratch/<profile>/ for
# another); no notebook is executed.
site: venv
	$(VPY) -m vireid_lib.make_site --profile $(PROFILE)

# A notebook run here writes its figures and tables to the git-ignored results/scratch/<profile>/ (it says so):
# only `make reproduce` writes the study's results/. The variables unset are the runner's, never a learner's.
# The repository is the server's root (the notebooks' links to course/glossary.md open); it opens on notebooks/.
lab: venv
	env -u VIREID_STUDY_RUN -u VIREID_BATCH_RUN -u MPLBACKEND .venv/bin/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks $(ARGS)

# Tracked files under results/ back to the last commit, except results/runs/ (finished runs are kept, committed
# or not); the scratch outputs of runs by hand removed.
reset-results:
	git checkout HEAD -- results ':(exclude)results/runs'
	rm -rf results/scratch
	@git status --short -- results ':(exclude)results/runs' | sed 's/^/still differs from the commit: /'

bench: venv
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(VPY) $$b || exit 1; done

lint: venv
	$(VPY) -m ruff check vireid_lib tests benchmarks notebooks course

clean-notebooks: venv
	$(VPY) -m nbstripout notebooks/*.ipynb

clean-cache:
	rm -rf "$${VIREID_DATA_DIR:-data}/cache"
