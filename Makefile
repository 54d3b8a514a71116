# huaweicloud.kps: the two commands users run are `make demo` and `make test`.
# Everything installs itself: a venv in .venv with the pinned tool chain, and (as root) the Debian
# packages the tests need. Nothing here writes into the source tree except ignored output dirs.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
BUILD := $(CURDIR)/build
COLLECTIONS := $(BUILD)/collections
TREE := $(COLLECTIONS)/ansible_collections/huaweicloud/kps
INSTALLED := $(BUILD)/installed
IMPORTER_VENV := .venv-importer
IMPORTER_PROGRESS := ^(Importing with galaxy-importer|Getting doc strings|Finding content|Loading |Linting collection|\.\.\.ansible-lint run complete$$|Collection loading complete$$|Importer processing completed successfully$$)
PIP_CACHE := $(HOME)/.ansible/test/cache
# ansible-test bootstraps its venvs with get-pip for one pip version (python_requirements.py, get_venv_packages):
# 23.1.2 on ansible-core 2.17, 24.2 on 2.18 and 2.19, 25.2 on 2.20 and 2.21.
GET_PIP_VERSIONS := 23.1.2 24.2 25.2
# The SSH test hosts' Python (/usr/bin/python3) needs cryptography and bcrypt for private_key.passphrase.
APT_PACKAGES := shellcheck openssh-server openssh-client iproute2 python3-cryptography python3-bcrypt
# The ansible-core versions tested besides the main tool chain's 2.19 (.venv, Python 3.11, which runs every
# check): VERSION:PYTHON:PIN, each in .venv-VERSION made from pyenv's PYTHON. All get sanity + unit tests.
MATRIX := 2.17:3.10.13:2.17.14 2.18:3.13.0:2.18.19 2.20:3.12.1:2.20.10 2.21:3.13.0:2.21.5
# The oldest and the newest also run the integration targets (ansible-test integration) and the role test.
MATRIX_INTEGRATION := 2.17 2.21
MATRIX_VERSIONS := $(foreach entry,$(MATRIX),$(firstword $(subst :, ,$(entry))))
PYENV_ROOT ?= $(HOME)/.pyenv
matrix_field = $(word $(2),$(subst :, ,$(filter $(1):%,$(MATRIX))))
matrix_python = $(PYENV_ROOT)/versions/$(call matrix_field,$(1),2)/bin/python3
matrix_tree = $(BUILD)/matrix/$(1)/ansible_collections/huaweicloud/kps
# `make test` sends the output of each step but pytest to a log here; unset, the output stays on the terminal.
LOGS ?=
step_log = $(if $(LOGS),$(LOGS)/$(1).log,-)
STEP = $(CURDIR)/hack/step.sh
STEP_TIMES ?= $(BUILD)/step-times.tsv
export STEP_TIMES
# Two workers: integration tests mostly wait on ansible processes and the emulator. worksteal: a worker that
# runs dry takes queued tests from the other, so a few long tests at the end do not run one after another.
PYTEST_ARGS ?= -n 2 --dist worksteal --durations=20
export ANSIBLE_LOCAL_TEMP := $(BUILD)/ansible-tmp
export ANSIBLE_REMOTE_TMP := $(BUILD)/ansible-tmp
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_NOCOLOR := 1
# Tools (ansible-lint, antsibull-docs) spawn `ansible` commands by name: find the venv's first.
export PATH := $(BIN):$(PATH)

.PHONY: help demo test test-checks test-matrix venv system-deps get-pip tree sanity units pytest integration lint lint-ansible \
	changelog-lint docs-lint galaxy ee-check emulator bench mutation clean integration-ansible-test \
	$(addprefix matrix-,$(MATRIX_VERSIONS))

help:
	@echo "make demo         run the demo against the local KPS emulator (installs what it needs)"
	@echo "make test         run every check: sanity, lint, unit + integration tests, build + docs on ansible-core"
	@echo "                  2.19, and the version matrix (make test-matrix); step logs in build/logs/"
	@echo "make test-matrix  sanity + unit tests on ansible-core $(MATRIX_VERSIONS); integration on $(MATRIX_INTEGRATION)"
	@echo "make matrix-2.17  the same for one version (any of $(MATRIX_VERSIONS))"
	@echo "make integration-ansible-test   the integration targets through ansible-test (2.19)"
	@echo "make emulator     start the KPS emulator in the foreground (Ctrl-C stops it)"
	@echo "make bench        API-call counts, per-task cost and scaling figures (not part of make test)"
	@echo "make mutation     apply each deliberate bug of hack/mutations.yml to a copy, run its tests, print caught/survived"

$(VENV)/.stamp: tests/requirements-dev.txt requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r tests/requirements-dev.txt
	touch $@

venv: $(VENV)/.stamp

# Debian packages: shellcheck for sanity, sshd/ssh/ip for the role's real SSH hosts.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (run as root or install them)"; exit 1; fi; fi

# ansible-test needs the collection under ansible_collections/NS/NAME and refuses symlinks: copy it
# ($(1): the destination). A repo of its own: inside our work tree the copy would be git-ignored and
# ansible-test would see no files.
define copy_tree
	rm -rf $(1) && mkdir -p $(1) $(ANSIBLE_LOCAL_TEMP)
	git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C $(1)
	git -C $(1) init -q
endef

tree: venv get-pip
	$(call copy_tree,$(TREE))

# Offline stand-ins for the get-pip.py that ansible-test downloads (hack/get_pip_standin.py).
get-pip: venv
	@for v in $(GET_PIP_VERSIONS); do \
	  f=$(PIP_CACHE)/get_pip_$${v//./_}.py; \
	  if [ ! -f $$f ]; then mkdir -p $(PIP_CACHE)/pip-$$v && \
	    $(BIN)/pip download --quiet --disable-pip-version-check --no-deps pip==$$v -d $(PIP_CACHE)/pip-$$v && \
	    sed "s|os.path.dirname(os.path.abspath(__file__))|'$(PIP_CACHE)/pip-$$v'|" hack/get_pip_standin.py > $$f; fi; done

sanity: tree system-deps
	cd $(TREE) && $(BIN)/ansible-test sanity --python 3.11 --local --color no

# ruff (ruff.toml) and yamllint (.yamllint) on the work tree; antsibull-nox's extra checks (antsibull-nox.toml:
# action group, unwanted files) and ansible-lint on the collection copy. .pre-commit-config.yaml runs the same.
lint: tree
	$(BIN)/ruff check --no-cache .
	$(BIN)/yamllint --strict roles tests/integration/targets
	cd $(TREE) && $(BIN)/nox --no-color -e extra-checks
	cd $(TREE) && $(BIN)/ansible-lint --offline --profile production

lint-ansible: tree
	cd $(TREE) && $(BIN)/ansible-lint --offline --profile production

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

docs-lint: tree
	cd $(TREE) && $(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

# Build the tarball, install it like a user would and render every module and role from the installed copy;
# then run the Galaxy importer on the tarball (what Galaxy runs on upload: it loads every plugin and role and
# runs ansible-lint), offline and without its ansible-test container (hack/galaxy-importer.cfg). The importer
# reports lint findings as log lines and still exits 0: any line besides its progress lines fails the step.
galaxy: tree $(IMPORTER_VENV)/.stamp
	rm -rf $(BUILD)/dist $(INSTALLED) $(BUILD)/importer && mkdir -p $(BUILD)/dist $(BUILD)/importer
	$(BIN)/ansible-galaxy collection build $(CURDIR) --output-path $(BUILD)/dist --force
	$(BIN)/ansible-galaxy collection install $(BUILD)/dist/huaweicloud-kps-*.tar.gz -p $(INSTALLED) --force
	$(BIN)/python hack/check_build.py $(BUILD)/dist/huaweicloud-kps-*.tar.gz $(INSTALLED)
	cd $(BUILD)/importer && PATH=$(CURDIR)/$(IMPORTER_VENV)/bin:$$PATH GALAXY_IMPORTER_CONFIG=$(CURDIR)/hack/galaxy-importer.cfg \
	  $(CURDIR)/$(IMPORTER_VENV)/bin/python -m galaxy_importer.main $(BUILD)/dist/huaweicloud-kps-*.tar.gz 2>&1 | tee importer.log
	@if grep -v -E '$(IMPORTER_PROGRESS)' $(BUILD)/importer/importer.log; then \
	  echo "FAILED: the Galaxy importer reported the lines above"; exit 1; fi

# The Galaxy importer's own venv: it needs attrs < 24, which nox (antsibull-nox, in .venv) cannot use.
$(IMPORTER_VENV)/.stamp: tests/requirements-importer.txt
	rm -rf $(IMPORTER_VENV) && $(PYTHON) -m venv $(IMPORTER_VENV)
	$(IMPORTER_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-importer.txt
	touch $@

# Execution environment: introspect the installed collection and write the top-level EE's build context
# (building the image needs podman or docker: see docs/execution-environment.md).
ee-check: galaxy
	$(BIN)/python hack/check_ee.py $(INSTALLED) $(BUILD)/ee-context

# Unit and integration tests in one pytest run, so that its summary line counts everything.
pytest: venv system-deps
	$(BIN)/pytest tests -p no:cacheprovider $(PYTEST_ARGS)

units: venv
	$(BIN)/pytest tests/unit -p no:cacheprovider $(PYTEST_ARGS)

integration: venv system-deps
	$(BIN)/pytest tests/integration -p no:cacheprovider $(PYTEST_ARGS)

# The integration targets through ansible-test, each against an emulator of its own (hack/ansible_test_integration.py).
integration-ansible-test: tree
	$(BIN)/python hack/ansible_test_integration.py $(TREE) --python 3.11 --local --color no

CHECK_STEPS := sanity lint changelog-lint docs-lint galaxy ee-check

# The pytest run (unit + integration tests on 2.19), the longest step, starts at once and shows its output.
# Beside it, one after another, the other checks and then the version matrix, each logging to build/logs/ and
# printing one line. They share no files, venvs or ports: the checks use build/collections, each matrix
# version its own venv, Python and copy under build/matrix/, pytest private temp dirs and free ports.
# .ci/run prints every step's time from $(STEP_TIMES).
test: venv system-deps get-pip
	@rm -f $(STEP_TIMES); mkdir -p $(BUILD)/logs; \
	$(MAKE) --no-print-directory -k test-checks test-matrix LOGS=$(BUILD)/logs & checks=$$!; \
	rc=0; $(STEP) pytest - $(MAKE) --no-print-directory pytest || rc=1; \
	wait $$checks || rc=1; \
	if [ $$rc != 0 ]; then echo "make test FAILED: see the steps marked FAILED above (logs in $(BUILD)/logs/)"; fi; \
	exit $$rc

# Every check runs even when one fails; the target fails if any did.
test-checks:
	@failed=""; for step in $(CHECK_STEPS); do \
	  $(STEP) $$step $(call step_log,$$step) $(MAKE) --no-print-directory $$step || failed="$$failed $$step"; done; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi

# The venvs are made at once (mostly downloads and unpacking); then the versions run one after another.
# Every version runs even when one fails; the target fails if any did.
test-matrix:
	@$(STEP) matrix-venvs $(call step_log,matrix-venvs) \
	  $(MAKE) --no-print-directory -k -j4 $(foreach v,$(MATRIX_VERSIONS),.venv-$(v)/.stamp) || true
	@failed=""; for v in $(MATRIX_VERSIONS); do $(MAKE) --no-print-directory matrix-$$v || failed="$$failed $$v"; done; \
	if [ -n "$$failed" ]; then echo "FAILED: ansible-core$$failed"; exit 1; fi

# One matrix version: its venv, a copy of the collection, sanity, unit tests (ansible-test units) and, for
# MATRIX_INTEGRATION, the integration targets (ansible-test integration) and the role test on real SSH hosts.
# A missing interpreter fails: install it with `pyenv install`.
$(addprefix matrix-,$(MATRIX_VERSIONS)): matrix-%: get-pip system-deps
	@$(STEP) $*-venv $(call step_log,$*-venv) $(MAKE) --no-print-directory .venv-$*/.stamp
	@$(STEP) $*-tree - $(MAKE) --no-print-directory -s matrix-tree-$*
	@$(STEP) $*-sanity $(call step_log,$*-sanity) \
	  sh -c 'cd $(call matrix_tree,$*) && $(CURDIR)/.venv-$*/bin/ansible-test sanity --python $(basename $(call matrix_field,$*,2)) --local --color no'
	@$(STEP) $*-units $(call step_log,$*-units) \
	  sh -c 'cd $(call matrix_tree,$*) && $(CURDIR)/.venv-$*/bin/ansible-test units --python $(basename $(call matrix_field,$*,2)) --local --color no'
	@if [ -n "$(filter $*,$(MATRIX_INTEGRATION))" ]; then \
	  $(STEP) $*-integration $(call step_log,$*-integration) \
	    .venv-$*/bin/python hack/ansible_test_integration.py $(call matrix_tree,$*) --python $(basename $(call matrix_field,$*,2)) --local --color no && \
	  $(STEP) $*-role $(call step_log,$*-role) \
	    .venv-$*/bin/pytest tests/integration/test_role_kps_key_distribution.py -p no:cacheprovider -n 2 -rs; fi

matrix-tree-%:
	$(call copy_tree,$(call matrix_tree,$*))

.venv-%/.stamp: tests/requirements-matrix.txt
	@py=$(call matrix_python,$*); pin=$(call matrix_field,$*,3); \
	if [ -z "$$pin" ]; then echo "ansible-core $* is not in MATRIX (Makefile)" >&2; exit 1; fi; \
	if [ ! -x $$py ]; then echo "FAILED: ansible-core $* is tested on $$py, which is missing (pyenv install $(call matrix_field,$*,2))" >&2; exit 1; fi; \
	rm -rf .venv-$* && $$py -m venv .venv-$* && \
	.venv-$*/bin/pip install --quiet --disable-pip-version-check ansible-core==$$pin -r tests/requirements-matrix.txt
	touch $@

demo: venv
	$(BIN)/python demo/run_demo.py

emulator: venv
	$(BIN)/python tests/kps_emulator --port 8443 --state $(BUILD)/emulator-state.json

# matplotlib draws the chart; it is not part of the test tool chain. BENCH_ARGS: e.g. --only per-task --runs 7.
bench: venv system-deps
	$(BIN)/pip install --quiet --disable-pip-version-check -r tests/bench/requirements.txt
	$(BIN)/python tests/bench/run_bench.py $(BENCH_ARGS)

# Each deliberate bug of hack/mutations.yml, alone, in a copy of the tree, against the tests that must catch it
# (not part of make test). MUTATION_ARGS: e.g. --only redirects-followed, or --list.
mutation: venv system-deps
	$(BIN)/python hack/mutation.py $(MUTATION_ARGS)

clean:
	rm -rf $(BUILD) tests/output
