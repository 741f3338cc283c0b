"""Training for TReX (Section V-B Steps 3-4, Section VII-A): losses, resumable loops, evaluation.

What is modelled
----------------
* Baseline training: cross-entropy (the demo trains its small ViT from scratch;
  real-data users start from a pretrained checkpoint).
* Step 3 objective for DeiT-type models, Eq. 3:
  ``L = CE(y, student) + 0.1 * CE(softmax(teacher), student) + 0.5 * KL(cls_teacher || cls_student)``,
  where the distillation term is the soft-label cross-entropy against the
  teacher's logits and the KL term compares the final (normed) class tokens of
  student and teacher, each turned into a distribution by a softmax over the
  embedding dimension. For LV-ViT, Eq. 4: ``L = CE + 0.2 * L_dense``, with
  ``L_dense`` the token-labelling loss: per patch token, the soft cross-entropy
  between the student's auxiliary-head prediction and the teacher's (the
  teacher, the unmodified model, stands in for LV-ViT's offline annotator).
* Step 3 search: every candidate pattern is applied to the baseline and trained
  on a seeded fraction (default 20%) of the training set; its final loss is the
  objective evaluated on that subset (without augmentation, eval mode) after
  training; the lowest wins.
* Step 4: fine-tuning of the winner on the whole training set with the same
  objective, optionally inside :class:`~workloads.reuse.noise.CrossbarNoise`
  (variation-aware training).
* Evaluation: ideal accuracy, and non-ideal accuracy as mean and standard
  deviation over several seeded noise draws.

Every loop shows a tqdm bar, writes a checkpoint after each epoch (atomic, via
``contracts.atomic``) and resumes from it. Batches and noise draws are seeded
per epoch, so a resumed run reproduces an uninterrupted one exactly.

What is abstracted
------------------
No mixed precision (the paper back-propagates in fp16), no EMA, no repeated
augmentation; AdamW with a per-step cosine schedule and linear warm-up.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import statistics
from dataclasses import asdict, dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from contracts.atomic import write_bytes, write_json
from contracts.errors import UserError
from workloads.reuse.data import DataBundle, fraction_subset, make_loader
from workloads.reuse.noise import CrossbarNoise
from contracts.reuse_spec import Pattern
from workloads.reuse.transform import apply_attention_reuse, encoder_blocks

log = logging.getLogger(__name__)

LAMBDA_DISTILL = 0.1  # lambda_1 of Eq. 3 (Section VII-A)
LAMBDA_KL = 0.5  # lambda_2 of Eq. 3
LAMBDA_DENSE = 0.2  # lambda_3 of Eq. 4


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    lr: float
    batch_size: int = 64
    weight_decay: float = 0.05
    warmup_epochs: float = 0.0
    seed: int = 0

    def digest(self, extra: str = "") -> str:
        text = json.dumps(asdict(self), sort_keys=True) + extra
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def set_determinism(threads: int) -> None:
    """Fixed thread count and deterministic kernels: same seed -> same figures."""
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False


# ----------------------------------------------------------------------------- model outputs and losses

@dataclass
class Outputs:
    logits: torch.Tensor
    tokens: torch.Tensor  # final normed token features (B, T, d); token 0 is the class token
    aux: torch.Tensor | None = None  # token-labelling scores of the patch tokens (LV-ViT teacher)


def forward_outputs(model: nn.Module, x: torch.Tensor) -> Outputs:
    """Logits plus the final token features, captured by a hook: the output of the final LayerNorm
    ``model.norm`` (pre-norm ViTs), else of the last encoder (post-LN BERT ends with its own norm)."""
    norm = getattr(model, "norm", None)
    source = norm if isinstance(norm, nn.LayerNorm) else encoder_blocks(model)[-1]
    captured: list[torch.Tensor] = []
    handle = source.register_forward_hook(lambda m, a, out: captured.append(out))
    try:
        logits = model(x)
    finally:
        handle.remove()
    return Outputs(logits=logits, tokens=captured[-1])


def soft_cross_entropy(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    return -(teacher_logits.softmax(-1) * student_logits.log_softmax(-1)).sum(-1).mean()


def deit_loss(s: Outputs, t: Outputs, y: torch.Tensor, model: nn.Module) -> torch.Tensor:
    """Eq. 3: CE + lambda_1 distillation CE + lambda_2 KL on class tokens."""
    kl = F.kl_div(s.tokens[:, 0].log_softmax(-1), t.tokens[:, 0].log_softmax(-1), log_target=True,
                  reduction="batchmean")
    return F.cross_entropy(s.logits, y) + LAMBDA_DISTILL * soft_cross_entropy(s.logits, t.logits) + LAMBDA_KL * kl


def pooled_loss(s: Outputs, t: Outputs, y: torch.Tensor, model: nn.Module) -> torch.Tensor:
    """Eq. 3 for a model without a class token (Swin): the KL term compares the mean-pooled final
    features (what the classifier reads) instead of class tokens."""
    def pooled(tok):
        return tok.flatten(1, -2).mean(1)

    kl = F.kl_div(pooled(s.tokens).log_softmax(-1), pooled(t.tokens).log_softmax(-1), log_target=True,
                  reduction="batchmean")
    return F.cross_entropy(s.logits, y) + LAMBDA_DISTILL * soft_cross_entropy(s.logits, t.logits) + LAMBDA_KL * kl


def lvvit_loss(s: Outputs, t: Outputs, y: torch.Tensor, model: nn.Module) -> torch.Tensor:
    """Eq. 4: CE + lambda_3 dense token-labelling loss against the teacher's per-token scores."""
    aux = getattr(model, "aux_head", None)
    if aux is None:
        raise UserError("the LV-ViT loss (Eq. 4) needs the model's token-labelling head 'aux_head'")
    dense = soft_cross_entropy(aux(s.tokens[:, 1:]), t.aux)
    return F.cross_entropy(s.logits, y) + LAMBDA_DENSE * dense


def objective_for(family: str) -> Callable:
    """Eq. 4 for LV-ViT, Eq. 3 for every other (DeiT-type) model; Eq. 3 on pooled features for Swin."""
    if family.startswith("swin"):
        return pooled_loss
    return lvvit_loss if family == "lv-vit" else deit_loss


class Distiller:
    """The student objective of Steps 3-4 with a frozen teacher (the unmodified model)."""

    def __init__(self, teacher: nn.Module, family: str):
        self.teacher = teacher.eval()
        self.loss_fn = objective_for(family)
        self.dense = family == "lv-vit"

    def __call__(self, student: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            t = forward_outputs(self.teacher, x)
            if self.dense:
                t.aux = self.teacher.aux_head(t.tokens[:, 1:])
        return self.loss_fn(forward_outputs(student, x), t, y, student)


def cross_entropy_objective(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(model(x), y)


# ----------------------------------------------------------------------------- checkpoints

def save_checkpoint(path: str, state: dict) -> None:
    buf = io.BytesIO()
    torch.save(state, buf)
    write_bytes(path, buf.getvalue())


def load_checkpoint(path: str) -> dict | None:
    if not os.path.isfile(path):
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # a damaged file cannot happen through atomic writes, but say so if it does
        raise UserError(f"checkpoint '{path}' cannot be read ({type(e).__name__}); delete it to start over") from None


# ----------------------------------------------------------------------------- the training loop

def _lr_at(step: int, total: int, warmup: int, base: float) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1 + math.cos(math.pi * progress))


def train(model: nn.Module, dataset, cfg: TrainConfig, objective: Callable, checkpoint: str, desc: str,
          noise: CrossbarNoise | None = None, device: torch.device | str = "cpu") -> list[float]:
    """Train ``model`` in place; returns the mean loss of every epoch.

    Resumes from ``checkpoint`` when it holds a run of the same configuration
    (``cfg`` and ``desc``); a finished run is loaded, not repeated.
    """
    tag = cfg.digest(desc)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                                  weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(dataset) / cfg.batch_size)
    total, warmup = cfg.epochs * steps_per_epoch, int(cfg.warmup_epochs * steps_per_epoch)
    history: list[float] = []
    start = 0
    state = load_checkpoint(checkpoint)
    if state is not None and state.get("tag") == tag:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, start = list(state["history"]), state["epoch"]
        if start < cfg.epochs:
            log.info("%s: resuming from epoch %d of %d (%s)", desc, start, cfg.epochs, checkpoint)
    elif state is not None:
        log.info("%s: checkpoint %s belongs to another configuration; starting over", desc, checkpoint)
    model.to(device)
    for epoch in range(start, cfg.epochs):
        model.train()
        torch.manual_seed(cfg.seed * 1009 + epoch)  # dropout / drop-path draws, if the model has any
        if noise is not None:
            noise.reseed(cfg.seed * 7919 + epoch)
        loader = make_loader(dataset, cfg.batch_size, shuffle=True, seed=cfg.seed * 131 + epoch)
        losses = []
        bar = tqdm(loader, desc=f"{desc} {epoch + 1}/{cfg.epochs}", leave=False, dynamic_ncols=True)
        for i, (x, y) in enumerate(bar):
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(epoch * steps_per_epoch + i, total, warmup, cfg.lr)
            x, y = x.to(device), y.to(device)
            loss = objective(model, x, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
        history.append(statistics.fmean(losses))
        save_checkpoint(checkpoint, {"tag": tag, "epoch": epoch + 1, "history": history,
                                     "model": model.state_dict(), "optimizer": optimizer.state_dict()})
    return history


# ----------------------------------------------------------------------------- evaluation

@torch.no_grad()
def accuracy(model: nn.Module, dataset, batch_size: int = 256, device: torch.device | str = "cpu") -> float:
    model.eval().to(device)
    correct = total = 0
    for x, y in make_loader(dataset, batch_size, shuffle=False, seed=0):
        pred = model(x.to(device)).argmax(-1)
        correct += int((pred == y.to(device)).sum())
        total += len(y)
    return 100.0 * correct / total


def nonideal_accuracy(model: nn.Module, dataset, hw, draws: int = 5, seed: int = 0,
                      device: torch.device | str = "cpu") -> dict:
    """Accuracy under crossbar noise: mean and std (percentage points) over ``draws`` seeded draws."""
    accs = []
    with CrossbarNoise(model, hw) as noise:
        for d in range(draws):
            noise.reseed(seed * 100003 + d)
            accs.append(accuracy(model, dataset, device=device))
    return {"mean": statistics.fmean(accs), "std": statistics.pstdev(accs), "draws": accs}


@torch.no_grad()
def mean_objective(model: nn.Module, dataset, objective: Callable, batch_size: int = 256,
                   device: torch.device | str = "cpu") -> float:
    """The objective averaged over ``dataset`` in eval mode (Step 3's final loss)."""
    model.eval().to(device)
    total, count = 0.0, 0
    for x, y in make_loader(dataset, batch_size, shuffle=False, seed=0):
        total += float(objective(model, x.to(device), y.to(device))) * len(y)
        count += len(y)
    return total / count


# ----------------------------------------------------------------------------- Steps 3 and 4

def pattern_slug(spec: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in spec).strip("-")


def search_patterns(baseline: nn.Module, family: str, data: DataBundle, patterns: list[Pattern], cfg: TrainConfig,
                    out_dir: str, fraction: float = 0.2, device: torch.device | str = "cpu") -> list[dict]:
    """Step 3: partial training of every pattern; results in the order given, each with its final loss.

    Every pattern trains on the same seeded ``fraction`` of the (augmented) training set; its final
    loss is the objective on the same examples without augmentation, so it is a deterministic
    figure. Results are also written to ``<out_dir>/search.json`` after every pattern.
    """
    subset = fraction_subset(data.train, fraction, seed=cfg.seed)
    subset_plain = fraction_subset(data.train_plain, fraction, seed=cfg.seed)
    distiller = Distiller(baseline, family)
    results = []
    for pattern in tqdm(patterns, desc="Step 3: pattern search", dynamic_ncols=True):
        student = apply_attention_reuse(baseline, list(pattern.encoders), seed=cfg.seed)
        ckpt = os.path.join(out_dir, "search", pattern_slug(pattern.spec) + ".pt")
        history = train(student, subset, cfg, distiller, ckpt, f"search {pattern.spec}", device=device)
        final = mean_objective(student, subset_plain, distiller, device=device)
        results.append({"spec": pattern.spec, "family": pattern.family, "encoders": list(pattern.encoders),
                        "final_loss": final, "train_loss": history})
        write_json(os.path.join(out_dir, "search.json"), {"fraction": fraction, "config": asdict(cfg),
                                                          "results": results})
    return results


def winner(results: list[dict]) -> dict:
    """The pattern with the lowest final loss (first in enumeration order on a tie)."""
    if not results:
        raise UserError("no reuse pattern was searched")
    return min(results, key=lambda r: r["final_loss"])
