"""Accuracy vs N_reuse (TReX Table IV's accuracy trend) on the offline demo model ``vit-tiny-digits``.

N_reuse in {0, 2, 4, 6} of the model's 8 encoders (1/4, 1/2, 3/4 of them, as Table IV's
N_reuse 3, ~6, 9 of DeiT-S's 12): the baseline is trained once with cross-entropy (its checkpoint is
shared by the points through ``train``'s resume), the reuse model takes Algorithm 1's default pattern
(``scheduler.crossbar.patterns.default_spec``: strided, SL = 2, as late as possible), is fine-tuned with
the Eq. 3 distillation objective, and its ideal test accuracy is measured. Budgets are minutes on a
CPU, scikit-learn's digits stand in for ImageNet-1k: only the trend and the relative drop compare.
"""

from __future__ import annotations

import os

from studies.reproduce.core import Point, compare

FIGURE = "trex-reuse-accuracy"
TITLE = "TReX accuracy vs N_reuse (Table IV trend, offline demo model)"
N_REUSE = (0, 2, 4, 6)
BUDGET = {False: {"baseline_epochs": 40, "finetune_epochs": 6}, True: {"baseline_epochs": 10, "finetune_epochs": 2}}
FAST_N_REUSE = (0, 2, 6)


def points(fast: bool, cache: str) -> list[Point]:
    """One point: the N_reuse models all fine-tune from the same trained baseline (trained once inside)."""
    return [Point(FIGURE, "vit-tiny-digits", "studies.reproduce.trex_reuse_accuracy:accuracy_curve",
                  {"n_reuse": list(FAST_N_REUSE if fast else N_REUSE), "cache": cache, **BUDGET[fast]})]


def accuracy_curve(n_reuse: list[int], cache: str, baseline_epochs: int, finetune_epochs: int, seed: int = 0) -> dict:
    old = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"  # the training loops' own bars; the reproduce bar counts points
    try:
        return _curve(n_reuse, cache, baseline_epochs, finetune_epochs, seed)
    finally:
        if old is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = old


def _curve(n_reuse: list[int], cache: str, baseline_epochs: int, finetune_epochs: int, seed: int) -> dict:
    return {"baseline_epochs": baseline_epochs, "finetune_epochs": finetune_epochs,
            "points": [accuracy_point(n, cache, baseline_epochs, finetune_epochs, seed) for n in n_reuse]}


def accuracy_point(n_reuse: int, cache: str, baseline_epochs: int, finetune_epochs: int, seed: int = 0) -> dict:
    import torch

    from scheduler.crossbar.patterns import default_spec
    from workloads import registry
    from workloads.reuse.data import load_digits_data
    from contracts.reuse_spec import parse_spec
    from workloads.reuse.train import Distiller, TrainConfig, accuracy, cross_entropy_objective, set_determinism, train
    from workloads.reuse.transform import apply_attention_reuse

    set_determinism(1)
    spec = registry.get("vit-tiny-digits")
    data = load_digits_data(seed=seed)
    folder = os.path.join(cache, "reuse-accuracy")
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(seed)
    baseline = spec.builder(img_size=8)
    n_enc = len(baseline.blocks)
    train(baseline, data.train, TrainConfig(epochs=baseline_epochs, lr=2e-3, warmup_epochs=2, seed=seed),
          cross_entropy_objective, os.path.join(folder, f"baseline-e{baseline_epochs}.pt"), "baseline vit-tiny-digits")
    baseline.eval()
    pattern = default_spec(n_reuse, n_enc) if n_reuse else None
    model = baseline
    if pattern:
        model = apply_attention_reuse(baseline, parse_spec(pattern, n_enc), seed=seed)
        train(model, data.train, TrainConfig(epochs=finetune_epochs, lr=5e-4, seed=seed), Distiller(baseline, spec.family),
              os.path.join(folder, f"reuse-n{n_reuse}-e{baseline_epochs}-{finetune_epochs}.pt"), f"reuse {pattern}")
        model.eval()
    return {"n_reuse": n_reuse, "n_encoders": n_enc, "pattern": pattern, "accuracy": accuracy(model, data.test)}


def rows(results: dict) -> list:
    acc = {p["n_reuse"]: p["accuracy"] for p in results["vit-tiny-digits"]["points"]}
    base = acc[0]
    ft = results["vit-tiny-digits"].get("finetune_epochs")
    why = (f"ours after {ft} fine-tuning epochs of a CPU-sized model on digits (the paper fine-tunes DeiT-S 30 epochs "
           "on ImageNet-1k, Sec. VII-A); a training budget, not a reading of the text")
    out = [compare(FIGURE, f"relative accuracy at N_reuse/N_enc = {frac}", acc[n] / base if base and n in acc else None,
                   why if n in acc else "not run in FAST mode")
           for n, frac in ((2, "1/4"), (4, "1/2"), (6, "3/4"))]
    ns = sorted(acc)
    mono = all(acc[b] <= acc[a] + 1.0 for a, b in zip(ns, ns[1:]))  # accuracy in %, 1-point slack
    out.append(compare(FIGURE, "accuracy non-increasing in N_reuse", int(mono)))
    return out


def table(results: dict) -> list[dict]:
    return results["vit-tiny-digits"]["points"]
