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
PIP_CACHE := $(HOME)/.ansible/test/cache
# ansible-core 2.19 bootstraps venvs with pip 24.2, 2.21 with pip 25.2.
GET_PIP_VERSIONS := 24.2 25.2
APT_PACKAGES := shellcheck openssh-server openssh-client iproute2
MATRIX_PYTHON := $(HOME)/.pyenv/versions/3.12.1/bin/python3.12
MATRIX_VENV := .venv-matrix
# Two workers: integration tests mostly wait on ansible processes and the emulator.
PYTEST_ARGS ?= -n 2 --durations=20
export ANSIBLE_LOCAL_TEMP := $(BUILD)/ansible-tmp
export ANSIBLE_REMOTE_TMP := $(BUILD)/ansible-tmp
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_NOCOLOR := 1
# Tools (ansible-lint, antsibull-docs) spawn `ansible` export ANSIBLE_NOCOLOR := 1 co by name: find the venv's first.
export PATH := $(BIN):$(PATH)

.PHONY: help demo test test-matrix venv system-deps tree sanity units pytest integration lint changelog-lint \
	docs-lint galaxy ee-check emulator bench clean

help:
	@echo "make demo         run the demo against the local KPS emulator (installs what it needs)"
	@echo "make test         run every check: sanity, lint, unit + integration tests, build + docs"
	@echo "make test-matrix  sanity + unit tests on ansible-core 2.21 / Python 3.12 (when pyenv has it)"
	@echo "make emulator     start the KPS emulator in the foreground (Ctrl-C stops it)"
	@echo "make bench        API-call counts, per-task cost and scaling figures (not part of make test)"

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

# ansible-test needs the collection under ansible_collections/NS/NAME and refuses symlinks: copy it.
tree: venv
	rm -rf $(TREE) && mkdir -p $(TREE) $(ANSIBLE_LOCAL_TEMP)
	git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C $(TREE)
	# A repo of its own: inside our work tree the copy would be git-ignored and ansible-test would see no files.
	git -C $(TREE) init -q
	@for v in $(GET_PIP_VERSIONS); do \
	  f=$(PIP_CACHE)/get_pip_$${v//./_}.py; \
	  if [ ! -f $$f ]; then mkdir -p $(PIP_CACHE)/pip-$$v && \
	    $(BIN)/pip download --quiet --disable-pip-version-check --no-deps pip==$$v -d $(PIP_CACHE)/pip-$$v && \
	    sed "s|os.path.dirname(os.path.abspath(__file__))|'$(PIP_CACHE)/pip-$$v'|" hack/get_pip_standin.py > $$f; fi; done

sanity: tree system-deps
	cd $(TREE) && $(BIN)/ansible-test sanity --python 3.11 --local --color no

lint: tree
	cd $(TREE) && $(BIN)/ansible-lint --offline --profile production

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

docs-lint: tree
	cd $(TREE) && $(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

# Build the tarball, install it like a user would and render every module and role from the installed copy.
galaxy: tree
	rm -rf $(BUILD)/dist $(INSTALLED) && mkdir -p $(BUILD)/dist
	$(BIN)/ansible-galaxy collection build $(CURDIR) --output-path $(BUILD)/dist --force
	$(BIN)/ansible-galaxy collection install $(BUILD)/dist/huaweicloud-kps-*.tar.gz -p $(INSTALLED) --force
	$(BIN)/python hack/check_build.py $(BUILD)/dist/huaweicloud-kps-*.tar.gz $(INSTALLED)

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

test: sanity lint changelog-lint docs-lint galaxy ee-check pytest

test-matrix: tree
	@if [ ! -x $(MATRIX_PYTHON) ]; then echo "test-matrix: $(MATRIX_PYTHON) not found, skipping ansible-core 2.21 / Python 3.12"; exit 0; fi; \
	if [ ! -f $(MATRIX_VENV)/.stamp ]; then $(MATRIX_PYTHON) -m venv $(MATRIX_VENV) && \
	  $(MATRIX_VENV)/bin/pip install --quiet --disable-pip-version-check 'ansible-core>=2.21,<2.22' pytest pytest-xdist hypothesis requests cryptography pyyaml \
	    huaweicloudsdkcore==3.1.219 huaweicloudsdkkps==3.1.219 && touch $(MATRIX_VENV)/.stamp; fi; \
	cd $(TREE) && $(CURDIR)/$(MATRIX_VENV)/bin/ansible-test sanity --python 3.12 --local --color no && \
	cd $(CURDIR) && $(MATRIX_VENV)/bin/pytest tests/unit -p no:cacheprovider -q -n 2

demo: venv
	$(BIN)/python demo/run_demo.py

emulator: venv
	$(BIN)/python tests/kps_emulator --port 8443 --state $(BUILD)/emulator-state.json

# matplotlib draws the chart; it is not part of the test tool chain. BENCH_ARGS: e.g. --only per-task --runs 7.
bench: venv system-deps
	$(BIN)/pip install --quiet --disable-pip-version-check -r tests/bench/requirements.txt
	$(BIN)/python tests/bench/run_bench.py $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) tests/output
