"""``make trex-demo``: the whole TReX flow on a small ViT and scikit-learn's digits, offline, on a CPU.

What is modelled
----------------
1. Train the baseline ``vit-tiny-digits`` (8 encoders) with cross-entropy.
2. Step 2: enumerate every uniform reuse pattern for N_reuse (default N_encoders / 4).
3. Step 3: partially train each pattern on 20% of the training set with Eq. 3 (the baseline is the
   teacher); the lowest final loss wins.
4. Step 4: fine-tune the winner on the whole training set twice from the same Step-3 weights and
   with the same budget: ideally (the control) and variation-aware with the FeFET chip's noise
   (``hw_configs/fefet-64.yaml``). Step 4 starts from the winner's Step-3 weights rather than
   re-inserting fresh TBs into the baseline (the paper's wording allows both; this is cheaper).
5. Evaluate the baseline, the untuned Step-3 reuse model and both fine-tuned models: ideal accuracy
   and non-ideal accuracy (mean +- std over seeded noise draws) on the
   FeFET, SRAM and hybrid chips; CKA of the baseline's attention outputs (Fig. 17).
6. Local attention: the small Swin ``swin-tiny-digits`` (stages of 4 and 2 blocks, 2x2-token windows,
   shifted every other block) is trained on the same data; the last block of each stage (blocks 4
   and 6) then reuses the attention output of the block before it in the same stage
   (``LOCAL_PATTERN``, see ``transform.py`` for what reuse means in a windowed stage), and the reuse model is fine-tuned with Eq. 3 on pooled features
   (no class token); its ideal accuracy is reported beside the baseline's.
7. Hardware figures of the same model, with and without reuse, from the crossbar simulation
   (``python -m pipeline sim --hw fefet-64``), read from its ``result.json``; when that stage is
   missing or fails, the table says so and shows no number.

Everything lands in ``--out`` (checkpoints, ``search.json``, ``summary.json``, ``table.md``,
``cka.csv``/``cka.png``); a rerun resumes from the checkpoints. Accuracy figures depend only on
the seed (fixed threads, deterministic kernels, per-epoch seeded batches and noise draws).

What is abstracted
------------------
Training budgets are far below the paper's (minutes on a CPU instead of GPU days); the digits
task stands in for ImageNet-1k.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import torch

from contracts.atomic import write_json, write_text
from contracts.hardware import load_hw
from workloads import registry
from workloads.reuse.cka import cka_matrix, write_cka
from workloads.reuse.data import load_digits_data, make_loader
from workloads.reuse.noise import CrossbarNoise
from contracts.reuse_spec import enumerate_patterns
from workloads.reuse.train import (
    Distiller,
    TrainConfig,
    accuracy,
    cross_entropy_objective,
    load_checkpoint,
    nonideal_accuracy,
    pattern_slug,
    search_patterns,
    set_determinism,
    train,
    winner,
)
from workloads.reuse.transform import apply_attention_reuse

log = logging.getLogger(__name__)

MODEL = "vit-tiny-digits"
CHIPS = ("fefet-64", "sram-64", "hybrid-64")
TRAINING_CHIP = "fefet-64"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass(frozen=True)
class DemoConfig:
    seed: int = 0
    threads: int = 1
    n_reuse: int | None = None  # default: N_encoders // 4
    fraction: float = 0.2  # Step 3 trains on 20% of the training set (Section V-B)
    baseline_epochs: int = 60
    baseline_lr: float = 2e-3
    search_epochs: int = 8
    search_lr: float = 1e-3
    finetune_epochs: int = 6
    finetune_lr: float = 5e-4
    draws: int = 5
    hardware: bool = True
    local: bool = True  # step 6: the small Swin with reuse inside its stages
    local_baseline_epochs: int = 30
    local_finetune_epochs: int = 10


def _hardware_figures(reuse_spec: str | None, out_dir: str) -> dict:
    """Run the crossbar pipeline on the demo model; {'available': False, 'reason': ...} if it cannot."""
    cmd = [sys.executable, "-m", "pipeline", "sim", "--model", MODEL, "--img", "8", "--hw", TRAINING_CHIP,
           "--out", out_dir]
    if reuse_spec:
        cmd += ["--reuse", reuse_spec]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    result_path = os.path.join(out_dir, "result.json")
    if proc.returncode != 0 or not os.path.isfile(result_path):
        reason = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no result.json"])[-1]
        return {"available": False, "reason": reason}
    with open(result_path) as f:
        result = json.load(f)
    totals = result.get("totals", {})
    keys = ("energy_mj", "delay_ms", "area_mm2", "edap_mj_ms_mm2", "tops_per_w")
    return {"available": True, **{k: totals[k] for k in keys if k in totals},
            "result": os.path.relpath(result_path, REPO)}


LOCAL_MODEL = "swin-tiny-digits"
LOCAL_PATTERN = "list:4,6"  # the last block of each stage reuses the one before it (Fig. 16: late reuse keeps accuracy)


def _local_demo(out_dir: str, cfg: DemoConfig, data) -> dict:
    """Step 6: train the small Swin, make blocks of a stage reuse attention, fine-tune, evaluate."""
    from contracts.reuse_spec import parse_spec

    spec = registry.get(LOCAL_MODEL)
    torch.manual_seed(cfg.seed)
    base = spec.builder(img_size=8)
    train(base, data.train, TrainConfig(epochs=cfg.local_baseline_epochs, lr=cfg.baseline_lr, warmup_epochs=2,
                                        seed=cfg.seed),
          cross_entropy_objective, os.path.join(out_dir, "local-baseline.pt"), f"baseline {LOCAL_MODEL}")
    base.eval()
    n_blocks = sum(len(layer.blocks) for layer in base.layers)
    encoders = parse_spec(LOCAL_PATTERN, n_blocks)
    student = apply_attention_reuse(base, encoders, seed=cfg.seed)
    untuned = accuracy(student, data.test)
    train(student, data.train, TrainConfig(epochs=cfg.local_finetune_epochs, lr=cfg.finetune_lr, seed=cfg.seed),
          Distiller(base, spec.family), os.path.join(out_dir, "local-finetune.pt"),
          f"Step 4 (ideal) {LOCAL_MODEL} {LOCAL_PATTERN}")
    return {"model": LOCAL_MODEL, "n_blocks": n_blocks, "pattern": LOCAL_PATTERN, "encoders": encoders,
            "acc_baseline": accuracy(base, data.test), "acc_untuned": untuned,
            "acc_finetuned": accuracy(student.eval(), data.test)}


def format_local_table(local: dict) -> str:
    lines = ["| local-attention model | N_reuse | pattern | ideal acc % |", "|---|---|---|---|",
             f"| {local['model']} (baseline) | 0 | none | {local['acc_baseline']:.1f} |",
             f"| reuse in stage, untuned | {len(local['encoders'])} | {local['pattern']} | {local['acc_untuned']:.1f} |",
             f"| reuse in stage, fine-tuned | {len(local['encoders'])} | {local['pattern']} | "
             f"{local['acc_finetuned']:.1f} |"]
    return "\n".join(lines) + "\n"


def _evaluate(model, test_set, chips: dict, draws: int, seed: int) -> dict:
    row = {"ideal": accuracy(model, test_set)}
    for name, hw in chips.items():
        row[name] = nonideal_accuracy(model, test_set, hw, draws=draws, seed=seed)
    return row


def _fmt_ni(ni: dict) -> str:
    return f"{ni['mean']:.1f} ± {ni['std']:.1f}"


def format_table(rows: list[dict], hardware: dict) -> str:
    head = ["model", "N_reuse", "pattern", "ideal acc %", "NI FeFET %", "NI SRAM %", "NI hybrid %",
            "energy mJ", "delay ms", "area mm²", "EDAP"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        hw = hardware.get(r["hw_key"], {"available": False})
        if hw.get("available"):
            hw_cells = [f"{hw['energy_mj']:.4g}", f"{hw['delay_ms']:.4g}", f"{hw['area_mm2']:.4g}",
                        f"{hw['edap_mj_ms_mm2']:.4g}"]
        else:
            hw_cells = ["n/a"] * 4
        cells = [r["label"], str(r["n_reuse"]), r["pattern"], f"{r['acc']['ideal']:.1f}",
                 _fmt_ni(r["acc"]["fefet-64"]), _fmt_ni(r["acc"]["sram-64"]), _fmt_ni(r["acc"]["hybrid-64"])]
        lines.append("| " + " | ".join(cells + hw_cells) + " |")
    notes = []
    for key, hw in sorted(hardware.items()):
        if not hw.get("available"):
            notes.append(f"hardware ({key}): not available ({hw.get('reason', 'stage not built')})")
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def run_demo(out_dir: str, cfg: DemoConfig) -> dict:
    t0 = time.perf_counter()
    set_determinism(cfg.threads)
    os.makedirs(out_dir, exist_ok=True)
    spec = registry.get(MODEL)
    data = load_digits_data(seed=cfg.seed)
    chips = {name: load_hw(name) for name in CHIPS}

    torch.manual_seed(cfg.seed)
    baseline = spec.builder(img_size=8)
    n_encoders = len(baseline.blocks)
    n_reuse = cfg.n_reuse or max(1, n_encoders // 4)
    base_cfg = TrainConfig(epochs=cfg.baseline_epochs, lr=cfg.baseline_lr, warmup_epochs=2, seed=cfg.seed)
    train(baseline, data.train, base_cfg, cross_entropy_objective, os.path.join(out_dir, "baseline.pt"),
          f"baseline {MODEL}")
    baseline.eval()

    # Steps 2-3: every uniform pattern, partially trained; the lowest final loss wins
    patterns = enumerate_patterns(n_encoders, n_reuse)
    log.info("Step 2: %d uniform patterns for N_encoders=%d, N_reuse=%d", len(patterns), n_encoders, n_reuse)
    search_cfg = TrainConfig(epochs=cfg.search_epochs, lr=cfg.search_lr, seed=cfg.seed)
    results = search_patterns(baseline, spec.family, data, patterns, search_cfg, out_dir, cfg.fraction)
    best = winner(results)
    log.info("Step 3 winner: %s (final loss %.4f)", best["spec"], best["final_loss"])

    # Step 4: same start, same budget; ideal vs variation-aware (FeFET) fine-tuning
    distiller = Distiller(baseline, spec.family)
    step3 = load_checkpoint(os.path.join(out_dir, "search", pattern_slug(best["spec"]) + ".pt"))
    ft_cfg = TrainConfig(epochs=cfg.finetune_epochs, lr=cfg.finetune_lr, seed=cfg.seed)
    untuned = apply_attention_reuse(baseline, best["encoders"], seed=cfg.seed)
    untuned.load_state_dict(step3["model"])
    tuned = {}
    for kind in ("ideal", "fefet"):
        model = copy.deepcopy(untuned)
        noise = CrossbarNoise(model, chips[TRAINING_CHIP], seed=cfg.seed) if kind == "fefet" else None
        ckpt = os.path.join(out_dir, f"finetune-{kind}.pt")
        if noise is None:
            train(model, data.train, ft_cfg, distiller, ckpt, f"Step 4 ({kind}) {best['spec']}")
        else:
            with noise:
                train(model, data.train, ft_cfg, distiller, ckpt, f"Step 4 ({kind}) {best['spec']}", noise=noise)
        tuned[kind] = model.eval()

    rows = [
        {"label": f"{MODEL} (baseline)", "n_reuse": 0, "pattern": "none", "hw_key": "baseline",
         "acc": _evaluate(baseline, data.test, chips, cfg.draws, cfg.seed)},
        {"label": "TReX after Step 3 (untuned)", "n_reuse": n_reuse, "pattern": best["spec"], "hw_key": "reuse",
         "acc": _evaluate(untuned.eval(), data.test, chips, cfg.draws, cfg.seed)},
        {"label": "TReX, ideal fine-tuning", "n_reuse": n_reuse, "pattern": best["spec"], "hw_key": "reuse",
         "acc": _evaluate(tuned["ideal"], data.test, chips, cfg.draws, cfg.seed)},
        {"label": "TReX, FeFET-aware fine-tuning", "n_reuse": n_reuse, "pattern": best["spec"], "hw_key": "reuse",
         "acc": _evaluate(tuned["fefet"], data.test, chips, cfg.draws, cfg.seed)},
    ]

    x_batch = next(iter(make_loader(data.test, 256, shuffle=False, seed=0)))[0]
    write_cka(cka_matrix(baseline, x_batch), os.path.join(out_dir, "cka.csv"), os.path.join(out_dir, "cka.png"),
              f"linear CKA of attention outputs, {MODEL} baseline")

    hardware = {}
    if cfg.hardware:
        hardware["baseline"] = _hardware_figures(None, os.path.join(out_dir, "hw-baseline"))
        hardware["reuse"] = _hardware_figures(best["spec"], os.path.join(out_dir, "hw-reuse"))
    else:
        hardware = {k: {"available": False, "reason": "skipped (--no-hardware)"} for k in ("baseline", "reuse")}

    local = _local_demo(out_dir, cfg, data) if cfg.local else None
    table = format_table(rows, hardware) + ("\n" + format_local_table(local) if local else "")
    summary = {
        "model": MODEL, "config": asdict(cfg), "n_encoders": n_encoders, "n_reuse": n_reuse,
        "patterns_searched": len(patterns), "winner": best, "rows": rows, "hardware": hardware, "local": local,
        "checks": {
            "reuse_ideal_within_3_points_of_baseline": abs(rows[2]["acc"]["ideal"] - rows[0]["acc"]["ideal"]) <= 3.0,
            "fefet_aware_beats_untuned_on_fefet":
                rows[3]["acc"][TRAINING_CHIP]["mean"] > rows[1]["acc"][TRAINING_CHIP]["mean"],
            "fefet_aware_beats_ideal_finetuning_on_fefet":
                rows[3]["acc"][TRAINING_CHIP]["mean"] > rows[2]["acc"][TRAINING_CHIP]["mean"],
            **({"local_reuse_within_3_points_of_baseline":
                abs(local["acc_finetuned"] - local["acc_baseline"]) <= 3.0} if local else {}),
        },
    }
    write_json(os.path.join(out_dir, "summary.json"), summary)
    write_text(os.path.join(out_dir, "table.md"), table)
    write_json(os.path.join(out_dir, "timing.json"), {"wall_s": round(time.perf_counter() - t0, 1)})
    summary["table"] = table
    return summary
