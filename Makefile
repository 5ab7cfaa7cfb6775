# Two commands on a fresh machine: `make repro` (the whole pipeline on the embedded default) and
# `make test`. Both create .venv/ and install what they need first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export DVC_NO_ANALYTICS := 1
export NO_ALBUMENTATIONS_UPDATE := 1
export MLFLOW_TRACKING_URI ?= sqlite:///mlflow.db
export OMP_NUM_THREADS ?= 1
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install mlflow-server browser slurm server repro test test-slow test-reference test-all bench tables ui info clean

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, from its CPU wheel, so nothing later resolves a CUDA build
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e ".[all,dev]"
	# xtcocotools (CrowdPose / WholeBody evaluation): its wheel was built against numpy 1, so build it here
	$(PY) -c "import xtcocotools.cocoeval" 2>/dev/null || { $(PY) -m pip install -q -c constraints.txt cython && \
	  $(PY) -m pip install -q -c constraints.txt --no-build-isolation --no-binary xtcocotools xtcocotools; }
	touch $@

install: $(VENV)/.installed

repro: install
	$(BIN)/dvc repro

# the default tier (under 10 minutes), then the cluster tier: the grid on a real one-node Slurm, logging to a
# real MLflow server, and two torchrun nodes (about 3 minutes; Debian's Slurm and munge installed first)
test: install mlflow-server slurm
	$(BIN)/pytest -q --durations=15
	$(BIN)/pytest -q -m cluster

# The slow tier (kill -9 resume, the real-AP training target, MLflow records and the UI server, the DVC queue,
# OpenVINO int8/bf16) and the GPU tests (skipped without CUDA): `make test-all`.
test-slow: install mlflow-server browser
	$(BIN)/pytest -q -m "slow or gpu"

# Debian's Slurm and munge for the tests that run the grid on a real one-node cluster (tests/slurm_cluster.py).
# Elsewhere the cluster tests skip with the reason; under CI (CI=true) a failed install is an error.
SLURM_PKGS := slurmctld slurmd slurm-client munge
slurm:
	@command -v slurmctld >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SLURM_PKGS) >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SLURM_PKGS) >/dev/null; }; }; } || \
	  { if [ "$${CI:-}" = true ]; then echo "make slurm: could not install $(SLURM_PKGS) with apt-get" >&2; exit 1; fi; \
	    echo "make slurm: no Slurm (the cluster tests will be skipped)"; }

# headless Chromium for the browser test of `make ui` (Debian's package; skipped where apt-get cannot run)
browser:
	@command -v chromium >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } || \
	  echo "make browser: no chromium (the browser test will be skipped)"

# Every tier that runs on this machine kind: what .ci/run runs.
test-all: test test-slow test-reference

# Live parity against mmpose 1.3.2 in a separate environment (docs/reference-environment.md).
REFERENCE_PYTHON ?= .refenv/bin/python
test-reference: install
	test -x $(REFERENCE_PYTHON) || tools/make_reference_env.sh $(dir $(patsubst %/,%,$(dir $(REFERENCE_PYTHON))))
	REFERENCE_PYTHON=$(abspath $(REFERENCE_PYTHON)) $(BIN)/pytest -q -m reference

bench: install
	$(BIN)/pytest -q tests/benchmarks --benchmark-enable -m "not slow"

tables: install
	$(BIN)/dvc repro tables

info: install
	$(BIN)/rtmpose info

# The server comes from constraints.txt (mlflow, mlflow-skinny, mlflow-tracing pinned together), and every
# package already installed is held at its version: if the server needed a different version of anything
# the suite uses (mlflow-skinny above all, whose schema the server must read), pip fails instead of changing it.
mlflow-server: $(VENV)/.mlflow-server
$(VENV)/.mlflow-server: $(VENV)/.installed
	$(PY) -m pip list --format=freeze --exclude-editable > $(VENV)/ui-keep.txt
	$(PY) -m pip install -q -c constraints.txt -c $(VENV)/ui-keep.txt mlflow || { echo "make ui: installing" \
	  "the MLflow server would change a package the suite uses; constraints.txt must pin mlflow, mlflow-skinny" \
	  "and mlflow-tracing to one release the index serves (then make install)" >&2; exit 1; }
	touch $@

# MLflow 3 opens in its GenAI mode; the address below opens the experiments as model training, on their runs
UI_PORT ?= 5000
# An MLflow tracking server for runs from several hosts (the Slurm grid's cells log to it over HTTP: SQLite
# cannot be shared between hosts): a database store and an artifact root it serves. For a cluster, run it
# on a host the nodes reach, with SERVER_HOST=0.0.0.0 and a PostgreSQL/MySQL SERVER_STORE (docs/cluster.md).
SERVER_PORT ?= 5001
SERVER_HOST ?= 127.0.0.1
SERVER_STORE ?= sqlite:///mlflow-server.db
SERVER_ARTIFACTS ?= mlartifacts-server
server: install mlflow-server
	@echo "make server: export MLFLOW_TRACKING_URI=http://$(SERVER_HOST):$(SERVER_PORT) for the runs that log to it"
	$(BIN)/mlflow server --backend-store-uri $(SERVER_STORE) --artifacts-destination $(SERVER_ARTIFACTS) \
	  --host $(SERVER_HOST) --port $(SERVER_PORT) --workers 1

ui: install mlflow-server
	@echo "make ui: open http://127.0.0.1:$(UI_PORT)/#/experiments?workflowType=machine_learning"
	$(BIN)/mlflow ui --backend-store-uri $(MLFLOW_TRACKING_URI) --host 127.0.0.1 --port $(UI_PORT) --workers 1

clean:
	rm -rf $(VENV) .pytest_cache
