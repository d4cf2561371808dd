# Two commands on a fresh machine: `make demo` (environment + whole workflow on the simulated cohort) and
# `make test`. Everything installs into .venv from requirements.lock (exact versions, CPU build of torch).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
CORES ?= 2
# Where pip finds torch. Default: PyPI (plus the machine's own pip configuration). For a CPU-only machine
# elsewhere, e.g.: make demo TORCH_INDEX=--extra-index-url=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=

# Debian packages the test suite needs, as command:package pairs: a real one-node SLURM (tests/test_slurm.py) and
# headless Chromium (tests/test_report_browser.py). `make test` installs the missing ones with apt as root.
SYSTEM_DEPS := slurmctld:slurm-wlm slurmd:slurm-wlm sbatch:slurm-wlm munged:munge chromium:chromium

.PHONY: env system-deps demo test test-fast lint bench lock clean

env: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || $(call apt_install,python3-venv)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The lock is a complete freeze: no resolution needed (--no-deps). Byte-compiling on both cores afterwards
	# is about twice as fast as pip's serial compile; files that do not compile (test data) are skipped.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-compile $(TORCH_INDEX) \
	  -r requirements.lock
	$(BIN)/python -m compileall -q -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
	  >/dev/null || true
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

demo: env
	$(BIN)/snakemake --cores $(CORES)
	@echo
	@echo "Report: $(abspath results/simulated/report.html)"

# Checking takes a few milliseconds when everything is there; apt runs only for what is missing.
system-deps:
	@missing=""; \
	for pair in $(SYSTEM_DEPS); do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/$${pair%%:*}" ] || missing="$$missing $${pair#*:}"; \
	done; \
	missing=$$(printf '%s\n' $$missing | sort -u | xargs); \
	if [ -n "$$missing" ]; then $(call apt_install,$$missing); fi

# Two pytest-xdist workers, one per core: a tiny workflow run is mostly serial steps, so one worker alone leaves a
# core idle most of the time. The work units are modules (tests/conftest.py); TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= 2

test: env system-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# Unit tests only: no snakemake run, no cluster, no browser (for development; `make test` is the real check).
test-fast: env
	$(BIN)/python -m pytest -m "not workflow"

lint: env
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint

bench: env
	$(BIN)/python -m benchmarks.run

lock: env
	{ head -n 2 requirements.lock; $(BIN)/python -m pip freeze --exclude-editable | grep -v '^oncoae' \
	  | sed 's/^torch==\([0-9.]*\)+cpu$$/torch==\1/'; } > requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf results .snakemake

# apt-get install $(1) as root on Debian; anywhere else, stop with the command that would install them.
define apt_install
if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
  echo "Installing Debian packages: $(1)"; \
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); \
else \
  echo "make: missing Debian packages: $(1); install them with: sudo apt-get install $(1)" >&2; exit 1; \
fi
endef
