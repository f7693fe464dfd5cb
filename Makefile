# Test entry points of the reportops.grafana collection; `make help` lists the targets.
# The sessions are nox's (noxfile.py, antsibull-nox.toml); this file installs nox and antsibull-nox
# into .venv/nox from PyPI and calls them, so a fresh machine needs only Python 3 and make.

.DEFAULT_GOAL := help

# Which ansible-core to test with: 2.16 (oldest supported, Python 3.11), latest (newest, Python 3.12) or all.
CORE ?= all
# Integration targets to run (space-separated names or patterns); empty runs them all.
TARGETS ?=
# How many nox sessions run at the same time (2 saves minutes on 2 cores: integration mostly waits on the simulator).
JOBS ?= 2
# Interpreter for the bootstrap venv .venv/nox (Python 3.10+; the sessions get their own).
PYTHON ?= python3
# Extra arguments for one step, e.g. SANITY_ARGS='--test pep8', UNITS_ARGS='tests/unit/plugins/modules',
# INTEGRATION_ARGS='--allow-destructive', PYTEST_ARGS='-x'.
SANITY_ARGS ?=
UNITS_ARGS ?=
INTEGRATION_ARGS ?=
PYTEST_ARGS ?=

NOX_VENV = .venv/nox
NOX = $(NOX_VENV)/bin/nox --reuse-venv=yes
CORES = $(if $(filter all,$(CORE)),2.16 latest,$(CORE))
# The checks that do not depend on the ansible-core version under test.
COLLECTION_SESSIONS = ansible-lint docs-check extra-checks build-import-check changelog-lint ee-create demo
# The event source through a real ansible-rulebook (needs Java 17; with CI=true a missing Java fails the session).
EDA_SESSIONS = eda

# pyenv's shims (pythonX.Y on PATH) run only the versions named in PYENV_VERSION, and ansible-test
# drops that variable from the environment of the commands it runs (common_environment()), so it
# could not start python3.8 or python3.13 through a shim. The bin directories of pyenv's installed
# CPython 3.8+ versions go on PATH instead (the global version first, so python3 stays the same):
# nox and ansible-test then find each pythonX.Y by name. Without pyenv, PATH is left as it is.
ifneq ($(shell command -v pyenv 2>/dev/null),)
PYENV_BINS := $(shell root="$$(pyenv root)"; { pyenv global; pyenv versions --bare --skip-aliases; } 2>/dev/null \
	| grep -E '^3\.([89]|[1-9][0-9])\.[0-9]+$$' | awk '!seen[$$0]++' | sed "s|^|$$root/versions/|; s|$$|/bin|" | paste -sd: -)
export PATH := $(if $(PYENV_BINS),$(PYENV_BINS):)$(PATH)
endif

.PHONY: help demo test collection-checks eda bench simulator-tests sanity units integration venv clean distclean

help:
	@echo 'Targets:'
	@echo '  demo             build and install the collection, start the simulator, run the main job, show the mail'
	@echo '  test             every nox session: for each ansible-core version simulator tests, sanity (+ compile/import'
	@echo '                   on Python 3.8 for 2.16, 3.13 for latest), units, integration, and the collection checks'
	@echo '  collection-checks  ansible-lint (production), antsibull-docs lint, action groups, build + galaxy-importer,'
	@echo '                   antsibull-changelog lint, ansible-builder create, and the demo from the installed tarball'
	@echo '  eda              the Event-Driven Ansible source through a real ansible-rulebook (Java 17), from the installed tarball'
	@echo '  bench            benchmarks against ansible.builtin.uri; writes docs/benchmarks.md (not part of test)'
	@echo '  simulator-tests  pytest tests/simulator tests/utils'
	@echo '  sanity           ansible-test sanity --venv (all default tests, no ignore files) + compile/import'
	@echo '  units            ansible-test units --local'
	@echo '  integration      ansible-test integration --local -v [TARGETS]'
	@echo '  venv             create .venv/nox and the simulator session venvs, linked as .venv/core-<CORE>'
	@echo '  clean            remove build/ and tests/output/'
	@echo '  distclean        clean, and remove .venv/ and .nox/'
	@echo 'Variables:'
	@echo '  CORE=2.16|latest|all (default all)   TARGETS="grafana_report_send ..."   JOBS=2   PYTHON=python3'
	@echo '  TARGETS, SANITY_ARGS, UNITS_ARGS, INTEGRATION_ARGS, PYTEST_ARGS: for the single-step targets'
	@echo '                   (integration, sanity, units, simulator-tests); make test always runs everything'
	@echo 'nox prints a summary of every session and exits non-zero if one failed; `$(NOX_VENV)/bin/nox -l` lists them.'
	@echo 'With CI=true, a session whose Python is missing fails instead of being skipped.'

$(NOX_VENV)/.installed: tests/utils/requirements-nox.txt
	rm -rf $(NOX_VENV)
	$(PYTHON) -m venv $(NOX_VENV)
	$(NOX_VENV)/bin/pip install --disable-pip-version-check -q -r tests/utils/requirements-nox.txt
	touch $@

# Every session; nox keeps going after a failure and ends with one summary, then one count line.
# Integration first: it is the longest.
test: $(NOX_VENV)/.installed
	@mkdir -p build; rm -f build/nox-report.json; status=0; set -x; $(NOX) -j $(JOBS) --report build/nox-report.json \
		-s $(foreach c,$(CORES),integration-$(c)) $(foreach c,$(CORES),sanity-$(c)) \
		$(foreach c,$(CORES),units-$(c)) $(foreach c,$(CORES),simulator-$(c)) \
		$(if $(filter 2.16,$(CORES)),sanity-2.16-py3.8) $(if $(filter latest,$(CORES)),sanity-latest-py3.13) \
		$(COLLECTION_SESSIONS) $(EDA_SESSIONS) || status=$$?; { set +x; } 2>/dev/null; \
	$(NOX_VENV)/bin/python -c 'import json, sys; r = [s["result"] for s in json.load(open(sys.argv[1]))["sessions"]]; \
		ok, skip = r.count("success"), r.count("skipped"); \
		print("sessions: %d passed, %d failed, %d skipped" % (ok, len(r) - ok - skip, skip))' \
		build/nox-report.json; exit $$status

collection-checks: $(NOX_VENV)/.installed
	$(NOX) -j $(JOBS) -s $(COLLECTION_SESSIONS)

demo: $(NOX_VENV)/.installed
	$(NOX) -s demo

eda: $(NOX_VENV)/.installed
	$(NOX) -s eda -- $(PYTEST_ARGS)

simulator-tests: $(NOX_VENV)/.installed
	$(NOX) -j $(JOBS) -s $(foreach c,$(CORES),simulator-$(c)) -- $(PYTEST_ARGS)

# Extra arguments select tests, so the compile/import session runs only without them.
sanity: $(NOX_VENV)/.installed
	$(NOX) -j $(JOBS) -s $(foreach c,$(CORES),sanity-$(c)) \
		$(if $(SANITY_ARGS),,$(if $(filter 2.16,$(CORES)),sanity-2.16-py3.8) $(if $(filter latest,$(CORES)),sanity-latest-py3.13)) \
		-- $(SANITY_ARGS)

units: $(NOX_VENV)/.installed
	$(NOX) -j $(JOBS) -s $(foreach c,$(CORES),units-$(c)) -- $(UNITS_ARGS)

integration: $(NOX_VENV)/.installed
	$(NOX) -j $(JOBS) -s $(foreach c,$(CORES),integration-$(c)) -- $(INTEGRATION_ARGS) $(TARGETS)

# .venv/core-<CORE> is the simulator session's venv (ansible-core and every test package), for running
# single tests by hand: .venv/core-2.16/bin/python -m pytest tests/simulator/test_x.py
venv: $(NOX_VENV)/.installed
	$(NOX) --install-only -s $(foreach c,$(CORES),simulator-$(c))
	@$(foreach c,$(CORES),rm -rf .venv/core-$(c) && ln -s ../.nox/simulator-$(subst .,-,$(c)) .venv/core-$(c);)

bench: venv
	.venv/core-2.16/bin/python tests/bench/bench.py --venv .venv/core-2.16

clean:
	rm -rf build tests/output

distclean: clean
	rm -rf .venv .nox
