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

.PHONY: env demo test lint bench lock clean

env: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
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

test: env
	$(BIN)/python -m pytest

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
