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
TRACE_UNITS ?=
SET ?=
TARGET_DELAY_MS ?=
REUSE ?=
PROGRAM ?=
OUT ?=
FAST ?= 0
SPEC ?=
ADDRESS ?=

PIPE_ARGS = --model $(MODEL) --img $(IMG) --batch $(BATCH) --method $(METHOD) \
	$(if $(HW),--hw $(HW)) $(if $(filter 1 yes true,$(TRACE)),--trace) $(if $(TRACE_UNITS),--trace-units '$(TRACE_UNITS)') \
	$(foreach s,$(SET),--set $(s)) \
	$(if $(TARGET_DELAY_MS),--target-delay-ms $(TARGET_DELAY_MS)) \
	$(if $(REUSE),--reuse $(REUSE)) $(if $(OUT),--out $(OUT))

.DEFAULT_GOAL := help
.PHONY: FORCE help venv sim trace schedule replay noc study sweep reproduce reuse-pim trex-demo test test-all fuzz bench bench-engine clean clean-runs

help: ## List every target with one line each
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-12s %s\n", $$1, $$2}'
	@echo "  variables: MODEL=$(MODEL) IMG=$(IMG) HW=<config> BATCH=1 METHOD=allspark|B|P|AH TRACE=1 TRACE_UNITS=pe,link SET='a.b=x ...'"
	@echo "             TARGET_DELAY_MS=7 REUSE=strided:sl=2,start=3,n=5 PROGRAM=runs/.../program.json"
	@echo "             SPEC=studies/specs/smoke.yaml OUT=runs/... ADDRESS=<ray cluster address> (make sweep)"

# The stamp holds a sha256 of the requirement files (tools/venv_stamp.py), not a timestamp:
# reinstall only when their contents changed, so a fresh clone beside an existing venv does not.
ifneq ($(shell $(PYTHON) tools/venv_stamp.py check $(STAMP)),ok)
$(STAMP): FORCE
endif
$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing pinned requirements into $(VENV) (torch/torchvision from the wheels on disk; about a minute and a half)"
	@{ $(PY) -m pip install --upgrade pip && \
	   $(PY) -m pip install -r requirements-dev.txt && \
	   $(PY) -m pip install --no-deps --no-build-isolation -e . ; } > $(VENV)/install.log 2>&1 \
	  || { tail -n 30 $(VENV)/install.log; echo "error: installation into $(VENV) failed (full log: $(VENV)/install.log)"; exit 1; }
	@$(PY) -c "import torch, timm, simpy, ortools, networkx, pydantic, pytest, ray, pandas, pyarrow" || { echo "error: installation into $(VENV) is incomplete"; exit 1; }
	@$(PYTHON) tools/venv_stamp.py write $(STAMP)

FORCE:

venv: $(STAMP) ## Create .venv and install the pinned requirements (other targets do this for you)

sim: $(STAMP) ## Trace, schedule and simulate MODEL on HW into runs/<model>-<img>-<hw>[-...]-<digest>/ (printed)
	@$(PY) -m pipeline sim $(PIPE_ARGS)

trace: $(STAMP) ## Trace MODEL at IMG into a WorkloadGraph (runs/<model>-<img>/workload.json)
	@$(PY) -m pipeline trace $(PIPE_ARGS)

schedule: $(STAMP) ## Trace and schedule MODEL on HW, print the schedule summary (no simulation)
	@$(PY) -m pipeline schedule $(PIPE_ARGS)

replay: $(STAMP) ## Re-run a recorded PROGRAM on another HW config (SET='a.b=x ...' overrides)
	@test -n "$(PROGRAM)" || { echo "error: give PROGRAM=runs/.../program.json"; exit 2; }
	@$(PY) -m pipeline replay --program $(PROGRAM) $(if $(HW),--hw $(HW)) $(foreach s,$(SET),--set $(s)) $(if $(TRACE:0=),--trace) $(if $(TRACE_UNITS),--trace-units '$(TRACE_UNITS)') $(if $(OUT),--out $(OUT))

noc: $(STAMP) ## Synthetic NoC latency-load sweep on a 16x16 mesh (uniform traffic), PNG into runs/noc/
	@$(PY) -m studies noc-synth --k 16 --traffic uniform --sweep --out runs/noc

study: $(STAMP) ## Replay one Swin-B program over link bandwidth and DRAM timing (latency, energy: CSV + PNG in runs/study/)
	@$(PY) studies/replay_sweep.py --out runs/study

sweep: $(STAMP) ## Run a sweep SPEC on Ray (local; ADDRESS=host:port for a cluster): sweep.csv/.parquet in OUT
	@test -n "$(SPEC)" || { echo "error: give SPEC=studies/specs/<name>.yaml"; exit 2; }
	@$(PY) -m studies sweep $(SPEC) $(if $(OUT),--out $(OUT)) $(if $(ADDRESS),--address $(ADDRESS)) $(foreach s,$(SET),--set $(s))

reproduce: $(STAMP) ## Every table/figure of both papers beside the paper's values: runs/reproduce/fidelity.md (FAST=1: a subset)
	@$(PY) -m studies.reproduce --out $(or $(OUT),runs/reproduce) $(if $(filter 1 yes true,$(FAST)),--fast) $(if $(ADDRESS),--address $(ADDRESS))

reuse-pim: $(STAMP) ## Attention reuse on the 16x16 PIM mesh vs N_reuse beside the crossbar chip (CSV, table, PNG in runs/reuse-pim/)
	@$(PY) studies/reuse_pim.py --out runs/reuse-pim

trex-demo: $(STAMP) ## TReX on a small ViT (digits): train, search reuse patterns, noise-aware tuning, table
	@$(PY) -m workloads.reuse demo --out runs/trex-demo

test: $(STAMP) ## Run the test suite (fast: whole-model runs excluded)
	@$(PY) -m pytest -q

test-all: $(STAMP) ## Run every test, including the slow whole-model ones
	@$(PY) -m pytest -q -m "slow or not slow"

fuzz: $(STAMP) ## Deep fuzzing of every input file and string (HYPOTHESIS_PROFILE=deep; `make test` runs a bounded count)
	@HYPOTHESIS_PROFILE=deep $(PY) -m pytest -q tests/pipeline/test_fuzz_inputs.py tests/simulator/test_deadlock.py --hypothesis-show-statistics

bench: $(STAMP) ## Speed benchmarks (tracing, scheduling, simulation); results in runs/bench/
	@$(PY) benchmarks/run_all.py --out runs/bench

bench-engine: $(STAMP) ## Engine speed vs raw SimPy: Swin-B 224/640/960 x modes x networks, RSS, flit mesh; runs/bench/engine/
	@$(PY) benchmarks/bench_engine.py --out runs/bench/engine

clean: ## Remove caches and build leftovers (never inputs, never runs/)
	@find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
	@rm -rf build *.egg-info .pytest_cache .hypothesis

clean-runs: ## Remove every run folder under runs/ (keeps runs/README.md)
	@find runs -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
