# scoredyn: `make run` sets everything up and runs the default workflow (config.yaml);
# `make test` sets everything up and runs the tests. Both work on a fresh Debian
# machine as root. CONFIG=config/tiny.yaml picks another config; CORES=N the cores.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= $(shell nproc)
CONFIG ?=

.PHONY: run test setup gromacs compiler slurm lint dry-run clean

run: setup
	$(BIN)/scoredyn check-config $(CONFIG)
	$(BIN)/snakemake --cores $(CORES) $(if $(CONFIG),--configfile $(CONFIG))

test: setup slurm
	$(BIN)/pytest -q -ra

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint

dry-run: setup
	$(BIN)/snakemake -n $(if $(CONFIG),--configfile $(CONFIG))

setup: gromacs compiler $(VENV)/.installed

# GROMACS: use gmx or gmx_mpi from PATH, else Debian's package, else explain.
gromacs:
	@if command -v gmx >/dev/null 2>&1 || command -v gmx_mpi >/dev/null 2>&1; then \
		echo "GROMACS: $$(command -v gmx || command -v gmx_mpi)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "GROMACS not found: installing Debian's gromacs package"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gromacs >/dev/null; \
	else \
		echo "GROMACS (gmx or gmx_mpi) is not on PATH. Install it with one of:" >&2; \
		echo "  apt-get install gromacs               (Debian/Ubuntu, as root)" >&2; \
		echo "  conda install -c conda-forge gromacs  (conda, any Linux or macOS)" >&2; \
		echo "  module load gromacs                   (HPC clusters with environment modules)" >&2; \
		echo "then set gromacs.command in the config if the driver is not called gmx." >&2; \
		exit 1; \
	fi

# A C++ compiler (and Python's headers) let torch.compile speed up SD rollouts on a CPU
# (rollout.compile); without them rollouts run uncompiled, about half as fast.
PYINCLUDE = $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_paths()['include'])")
compiler:
	@if command -v g++ >/dev/null 2>&1 && [ -f "$(PYINCLUDE)/Python.h" ]; then \
		echo "C++ compiler: $$(command -v g++)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's g++ and python3-dev (for torch.compile)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ python3-dev >/dev/null; \
	else \
		echo "note: no g++ or no Python headers; SD rollouts will run uncompiled, about half as fast" >&2; \
	fi

# Slurm for tests/integration/test_slurm.py, which starts its own one-node cluster on 127.0.0.1
# (daemons, client, munge, and slurmdbd with MariaDB for sacct). The packages' own services are
# not started: a policy-rc.d that refuses them is in place during the install unless one exists.
# Without apt or root the Slurm test skips itself.
SLURM_PACKAGES := slurmctld slurmd slurm-client munge slurmdbd mariadb-server
SLURM_PROGRAMS := slurmctld slurmd sbatch sacct munged slurmdbd mariadbd mariadb-install-db
slurm:
	@missing=""; for p in $(SLURM_PROGRAMS); do \
		command -v $$p >/dev/null 2>&1 || [ -x /usr/sbin/$$p ] || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then \
		echo "Slurm: $$(PATH=$$PATH:/usr/sbin slurmd -V)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "Slurm not found ($$missing): installing Debian's $(SLURM_PACKAGES)"; \
		policy=""; if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy=1; \
		fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$(SLURM_PACKAGES) >/dev/null; rc=$$?; \
		if [ -n "$$policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
		exit $$rc; \
	else \
		echo "note: no Slurm ($$missing missing) and no apt-get as root; the Slurm test will be skipped" >&2; \
	fi

# The virtual environment: torch 2.13.0 first when no torch is installed (a newer torch
# is accepted), then the package with its test extras.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

clean:
	rm -rf .snakemake results
