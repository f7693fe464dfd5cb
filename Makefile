# Test harness of the reportops.grafana collection; `make help` lists the targets.
# The work is done by tests/utils/harness.py: it builds the venvs in .venv/, copies the collection to
# build/core-<CORE>/ansible_collections/reportops/grafana and runs ansible-test there (never --docker).

.DEFAULT_GOAL := help

# Which ansible-core to test with: 2.16 (oldest supported, Python 3.11), latest (newest, Python 3.12) or all.
CORE ?= all
# Integration targets to run (space-separated names or patterns); empty runs them all.
TARGETS ?=
# How many ansible-core versions to test at the same time (1 = one after the other, output streamed live;
# 2 = both at once, progress lines live and each version's full output at the end; the default, it saves
# minutes on 2 cores since integration mostly waits on the simulator).
JOBS ?= 2
# Interpreter that runs the harness itself (any Python 3.6+; the venvs get their own).
PYTHON ?= python3
# Extra arguments, e.g. SANITY_ARGS='--test pep8' (also skips the extra compile/import checks),
# UNITS_ARGS='tests/unit/plugins/modules', INTEGRATION_ARGS='--allow-destructive', PYTEST_ARGS='-x'.
SANITY_ARGS ?=
UNITS_ARGS ?=
INTEGRATION_ARGS ?=
PYTEST_ARGS ?=
export SANITY_ARGS UNITS_ARGS INTEGRATION_ARGS PYTEST_ARGS

HARNESS = $(PYTHON) tests/utils/harness.py --core '$(CORE)' --targets '$(TARGETS)' --jobs '$(JOBS)'

.PHONY: help demo test collection-checks bench simulator-tests sanity units integration venv clean distclean

help:
	@echo 'Targets:'
	@echo '  demo             build and install the collection, start the simulator, run the main job, show the mail'
	@echo '  test             simulator-tests + sanity + units + integration, for each ansible-core version,'
	@echo '                   then collection-checks'
	@echo '  collection-checks  ansible-lint (production), antsibull-docs and antsibull-changelog lint,'
	@echo '                   ansible-builder create, and the demo from the installed tarball'
	@echo '  bench            benchmarks against ansible.builtin.uri; writes docs/benchmarks.md (not part of test)'
	@echo '  simulator-tests  pytest tests/simulator -q'
	@echo '  sanity           ansible-test sanity --venv (all default tests, no ignore files),'
	@echo '                   plus compile/import on Python 3.8 (core 2.16) and 3.13 (latest)'
	@echo '  units            ansible-test units --local'
	@echo '  integration      ansible-test integration --local -v [TARGETS]'
	@echo '  venv             only create/refresh the venvs .venv/core-2.16 and .venv/core-latest'
	@echo '  clean            remove build/ and tests/output/'
	@echo '  distclean        clean, and remove the venvs in .venv/'
	@echo 'Variables:'
	@echo '  CORE=2.16|latest|all (default all)   TARGETS="grafana_report_send ..."   PYTHON=python3'
	@echo '  JOBS=1: test the core versions one after the other, output live (default 2: both at once)'
	@echo '  SANITY_ARGS, UNITS_ARGS, INTEGRATION_ARGS, PYTEST_ARGS: extra arguments for that step'
	@echo 'Each run ends with a summary per core version and exits non-zero if anything failed.'
	@echo 'Logs: build/logs/. With CI=true, a check skipped for lack of a Python counts as failed.'

demo:
	bash tests/demo/run.sh

# Both parts run even if the first fails, so that one run reports everything.
test:
	@status=0; $(HARNESS) test || status=1; bash tests/utils/collection_checks.sh || status=1; exit $$status

collection-checks:
	bash tests/utils/collection_checks.sh

bench:
	$(PYTHON) tests/utils/harness.py --core 2.16 venv
	.venv/core-2.16/bin/python tests/bench/bench.py --venv .venv/core-2.16

simulator-tests:
	$(HARNESS) simulator-tests

sanity:
	$(HARNESS) sanity

units:
	$(HARNESS) units

integration:
	$(HARNESS) integration

venv:
	$(HARNESS) venv

clean:
	rm -rf build tests/output

distclean: clean
	rm -rf .venv
