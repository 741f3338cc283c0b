# vitsim: run `make help` for the list of targets.
#
# Every target that needs Python first builds .venv (once) from the pinned
# requirements; torch/torchvision install from the wheels on this machine's disk.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

MODEL ?= swin-b
IMG ?= 224
HW ?=
BATCH ?= 1
METHOD ?= allspark
TRACE ?= 0
SET ?=
TARGET_DELAY_MS ?=
REUSE ?=
PROGRAM ?=
OUT ?=

PIPE_ARGS = --model $(MODEL) --img $(IMG) --batch $(BATCH) --method $(METHOD) \
	$(if $(HW),--hw $(HW)) $(if $(filter 1 yes true,$(TRACE)),--trace) \
	$(foreach s,$(SET),--set $(s)) \
	$(if $(TARGET_DELAY_MS),--target-delay-ms $(TARGET_DELAY_MS)) \
	$(if $(REUSE),--reuse $(REUSE)) $(if $(OUT),--out $(OUT))

.DEFAULT_GOAL := help
.PHONY: help venv sim trace schedule replay noc study trex-demo test test-all fuzz bench clean clean-runs

help: ## List every target with one line each
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-12s %s\n", $$1, $$2}'
	@echo "  variables: MODEL=$(MODEL) IMG=$(IMG) HW=<config> BATCH=1 METHOD=allspark|B|P|AH TRACE=1 SET='a.b=x ...'"
	@echo "             TARGET_DELAY_MS=7 REUSE=strided:sl=2,start=3,n=5 PROGRAM=runs/.../program.json"

$(STAMP): requirements.txt requirements-dev.txt setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing pinned requirements into $(VENV) (torch/torchvision from the wheels on disk; about a minute and a half)"
	@{ $(PY) -m pip install --upgrade pip && \
	   $(PY) -m pip install -r requirements-dev.txt && \
	   $(PY) -m pip install --no-deps --no-build-isolation -e . ; } > $(VENV)/install.log 2>&1 \
	  || { tail -n 30 $(VENV)/install.log; echo "error: installation into $(VENV) failed (full log: $(VENV)/install.log)"; exit 1; }
	@$(PY) -c "import torch, timm, simpy, ortools, networkx, pydantic, pytest" || { echo "error: installation into $(VENV) is incomplete"; exit 1; }
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install the pinned requirements (other targets do this for you)

sim: $(STAMP) ## Trace, schedule and simulate MODEL on HW into runs/<model>-<img>-<hw>/
	@$(PY) -m pipeline sim $(PIPE_ARGS)

trace: $(STAMP) ## Trace MODEL at IMG into a WorkloadGraph (runs/<model>-<img>/workload.json)
	@$(PY) -m pipeline trace $(PIPE_ARGS)

schedule: $(STAMP) ## Trace and schedule MODEL on HW, print the schedule summary (no simulation)
	@$(PY) -m pipeline schedule $(PIPE_ARGS)

replay: $(STAMP) ## Re-run a recorded PROGRAM on another HW config (SET='a.b=x ...' overrides)
	@test -n "$(PROGRAM)" || { echo "error: give PROGRAM=runs/.../program.json"; exit 2; }
	@$(PY) -m pipeline replay --program $(PROGRAM) $(if $(HW),--hw $(HW)) $(foreach s,$(SET),--set $(s)) $(if $(TRACE:0=),--trace) $(if $(OUT),--out $(OUT))

noc: $(STAMP) ## Synthetic NoC latency-load sweep on a 16x16 mesh (uniform traffic), PNG into runs/noc/
	@$(PY) -m simulator noc --k 16 --traffic uniform --sweep --out runs/noc

study: $(STAMP) ## Replay one Swin-B program over link bandwidth and DRAM timing (CSV + PNG in runs/study/)
	@$(PY) studies/replay_sweep.py --out runs/study

trex-demo: $(STAMP) ## TReX on a small ViT (digits): train, search reuse patterns, noise-aware tuning, table
	@$(PY) -m workloads.reuse demo --out runs/trex-demo

test: $(STAMP) ## Run the test suite (fast: whole-model runs excluded)
	@$(PY) -m pytest -q

test-all: $(STAMP) ## Run every test, including the slow whole-model ones
	@$(PY) -m pytest -q -m "slow or not slow"

fuzz: $(STAMP) ## Deep fuzzing of every input file and string (HYPOTHESIS_PROFILE=deep; `make test` runs a bounded count)
	@HYPOTHESIS_PROFILE=deep $(PY) -m pytest -q tests/test_fuzz_inputs.py tests/test_deadlock.py --hypothesis-show-statistics

bench: $(STAMP) ## Speed benchmarks (tracing, scheduling, simulation); results in runs/bench/
	@$(PY) benchmarks/run_all.py --out runs/bench

clean: ## Remove caches and build leftovers (never inputs, never runs/)
	@find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
	@rm -rf build *.egg-info .pytest_cache .hypothesis

clean-runs: ## Remove every run folder under runs/ (keeps runs/README.md)
	@find runs -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
