"""Variation-aware forward pass of TReX Step 4 (Section V-B, VII-A): a model run as on crossbars.

What is modelled
----------------
Every crossbar layer of a transformer (roles ``qkv``, ``proj``, ``fc1``, ``fc2``,
``tb_fc``, ``head`` for weight layers; ``attn_qk`` and ``attn_av`` for the
activation x activation matmuls QK^T and S.V) computes its output as the chip
would, with the settings of a ``crossbar_chip`` hardware config (the same
``hw_configs/*.yaml`` file the simulator reads):

* weights (and the run-time operands K^T and V) are quantised to
  ``crossbar.weight_bits`` signed levels (symmetric, one scale per layer for
  weights, one per input sample for K^T / V); inputs to ``crossbar.input_bits``
  (one scale per input sample; unsigned when the input is non-negative, e.g.
  the softmax output S);
* each weight magnitude is sliced into cells of ``devices.<dev>.bits_per_cell``
  bits (the sign sits on a differential column pair); every cell's conductance
  gets a multiplicative draw ``G' = G (1 + sigma eps)``: the device's
  ``read_variation`` on every crossbar layer, and additionally its
  ``write_variation`` on K^T and V, which are written into crossbars at run time
  for every input; static weights are written once and see read variation only;
* the reduction dimension is split into chunks of ``crossbar.size`` rows (one
  crossbar each); every chunk's partial sum is converted by a
  ``crossbar.adc_bits`` ADC (uniform, symmetric, full scale = the largest
  |partial sum| of that crossbar chunk for the input sample) and the digital
  accumulator adds the chunks;
* the device of each role follows ``layer_device`` (``default`` for roles not
  listed), so an SRAM config (variation 0) gives ADC and quantisation noise
  only, and the FeFET/SRAM hybrid follows its mapping.

The backward pass is straight-through: every noisy op returns
``ideal + (noisy - ideal).detach()``, so gradients are those of the ideal op at
the (noisy) activations the forward produced.

What is abstracted
------------------
Bit-serial input streaming with input splitting (the chunk partial sum is
quantised once, as if the ADC saw the whole multi-bit product), IR drop,
transistor non-linearity (both left out in TReX too, Section VII-A), the
finite R_on/R_off ratio (a zero level conducts nothing), ADC reference
calibration (the full scale tracks each sample's partial sums), and
cycle-to-cycle read noise within one inference (one read draw per cell per
forward pass; the product of a write and a read draw is drawn as one Gaussian
of the same variance). Digital units (LayerNorm, softmax LUT, GELU, residual adds,
patch-embedding convolutions) are ideal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from contracts.hardware.crossbar_chip import CrossbarChipConfig

WEIGHT_ROLES = ("qkv", "proj", "fc1", "fc2", "tb_fc", "head")
MATMUL_ROLES = ("attn_qk", "attn_av")

# last name component of an nn.Linear -> its role; the parent decides for 'fc' and 'proj'
_LINEAR_ROLES = {
    "qkv": "qkv", "q": "qkv", "k": "qkv", "v": "qkv", "kv": "qkv", "query": "qkv", "key": "qkv", "value": "qkv",
    "fc1": "fc1", "fc2": "fc2", "head": "head", "aux_head": "head",
}


@dataclass(frozen=True)
class LayerNoise:
    """Crossbar settings of one layer role, resolved from a hardware config."""

    role: str
    device: str
    xbar_size: int
    adc_bits: int
    weight_bits: int
    input_bits: int
    bits_per_cell: int
    read_sigma: float
    write_sigma: float  # applied only to operands written at run time (K^T, V)


def layer_noise(hw: CrossbarChipConfig, role: str) -> LayerNoise:
    dev = hw.device_for(role)
    xb = hw.crossbar
    return LayerNoise(role=role, device=hw.device_name_for(role), xbar_size=xb.size, adc_bits=xb.adc_bits,
                      weight_bits=xb.weight_bits, input_bits=xb.input_bits, bits_per_cell=dev.bits_per_cell,
                      read_sigma=dev.read_variation, write_sigma=dev.write_variation)


def linear_role(name: str) -> str | None:
    """Role of the nn.Linear at dotted path ``name``; None for layers kept digital/ideal."""
    parts = name.split(".")
    last = parts[-1]
    parent = parts[-2] if len(parts) > 1 else ""
    if last == "fc" and parent == "tb":
        return "tb_fc"
    if last == "proj" and parent == "attn":
        return "proj"
    return _LINEAR_ROLES.get(last)


# ----------------------------------------------------------------------------- quantisers and devices

def quantize_symmetric(x: torch.Tensor, bits: int, per_sample: bool,
                       allow_unsigned: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer levels (as floats) and the scale with ``x ~ levels * scale``.

    Signed tensors use 2**(bits-1) - 1 levels on each side; with ``allow_unsigned`` a
    non-negative tensor uses all 2**bits - 1 levels (an input stream has no sign bit to spend).
    """
    dims = tuple(range(1, x.dim())) if per_sample and x.dim() > 1 else tuple(range(x.dim()))
    peak = x.abs().amax(dim=dims, keepdim=True) if dims else x.abs()
    unsigned = allow_unsigned and bool((x >= 0).all())
    top = 2 ** bits - 1 if unsigned else 2 ** (bits - 1) - 1
    scale = torch.where(peak > 0, peak / top, torch.ones_like(peak))
    return torch.round(x / scale).clamp(-top, top), scale


def combined_sigma(sigmas: tuple[float, ...]) -> float:
    """Relative sigma of a cell that gets independent multiplicative draws ``prod(1 + s_i eps_i)``:
    the product has mean 1 and variance ``prod(1 + s_i**2) - 1``."""
    return math.sqrt(math.prod(1 + s * s for s in sigmas) - 1)


def cell_levels(magnitude: torch.Tensor, bits: int, bits_per_cell: int) -> torch.Tensor:
    """Split integer magnitudes (< 2**bits) into cells of ``bits_per_cell`` bits: (cells, *shape)."""
    base = 2 ** bits_per_cell
    return torch.stack([torch.floor(magnitude / base ** c) % base for c in range(math.ceil(bits / bits_per_cell))])


def programmed_levels(levels: torch.Tensor, bits: int, bits_per_cell: int, sigmas: tuple[float, ...],
                      generator: torch.Generator) -> torch.Tensor:
    """Signed integer levels -> the levels the crossbar actually holds after variation draws.

    A magnitude m = sum_c s_c * B**c (B = 2**bits_per_cell) is held by cells of level s_c, each
    multiplied by its own draw ``1 + sigma eps_c`` (one draw per sigma in ``sigmas``, e.g. write
    then read). The sum of the independent cell deviations is drawn in one go as a Gaussian of
    the same variance: ``m + sigma_comb * sqrt(sum_c (s_c B**c)**2) * eps``.
    """
    sigma = combined_sigma(sigmas)
    if sigma == 0:
        return levels
    magnitude = levels.abs()
    weights = torch.tensor([float(2 ** (bits_per_cell * c)) for c in range(math.ceil((bits - 1) / bits_per_cell))],
                           dtype=levels.dtype, device=levels.device).view(-1, *([1] * levels.dim()))
    cells = cell_levels(magnitude, bits - 1, bits_per_cell)  # the sign is the differential column pair
    spread = ((cells * weights) ** 2).sum(dim=0).sqrt()
    eps = torch.randn(levels.shape, generator=generator, device=levels.device, dtype=levels.dtype)
    return torch.sign(levels) * (magnitude + sigma * spread * eps)


def adc_accumulate(a: torch.Tensor, b: torch.Tensor, xbar_size: int, adc_bits: int) -> torch.Tensor:
    """``a @ b`` computed crossbar by crossbar: each chunk of ``xbar_size`` rows of the reduction
    dimension gives a partial sum that an ``adc_bits`` ADC quantises; the chunks are then added."""
    k = a.shape[-1]
    out = None
    for lo in range(0, k, xbar_size):
        psum = a[..., lo:lo + xbar_size] @ b[..., lo:lo + xbar_size, :]
        levels, scale = quantize_symmetric(psum, adc_bits, per_sample=True)
        psum_q = levels * scale
        out = psum_q if out is None else out + psum_q
    return out


# ----------------------------------------------------------------------------- noisy ops

def noisy_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, cfg: LayerNoise,
                 generator: torch.Generator) -> torch.Tensor:
    """``F.linear`` as a crossbar computes it (no gradient; see :func:`straight_through`)."""
    with torch.no_grad():
        xq, sx = quantize_symmetric(x, cfg.input_bits, per_sample=True)
        wq, sw = quantize_symmetric(weight, cfg.weight_bits, per_sample=False, allow_unsigned=False)
        wq = programmed_levels(wq, cfg.weight_bits, cfg.bits_per_cell, (cfg.read_sigma,), generator)
        y = adc_accumulate(xq, wq.t(), cfg.xbar_size, cfg.adc_bits) * (sx * sw)
        return y + bias if bias is not None else y


def noisy_matmul(a: torch.Tensor, b: torch.Tensor, cfg: LayerNoise, generator: torch.Generator) -> torch.Tensor:
    """``a @ b`` with ``b`` (K^T or V) written into crossbars at run time and ``a`` streamed as input."""
    with torch.no_grad():
        aq, sa = quantize_symmetric(a, cfg.input_bits, per_sample=True)
        bq, sb = quantize_symmetric(b, cfg.weight_bits, per_sample=True, allow_unsigned=False)
        bq = programmed_levels(bq, cfg.weight_bits, cfg.bits_per_cell, (cfg.write_sigma, cfg.read_sigma), generator)
        return adc_accumulate(aq, bq, cfg.xbar_size, cfg.adc_bits) * (sa * sb)


def straight_through(ideal: torch.Tensor, noisy: torch.Tensor) -> torch.Tensor:
    """Forward value ``noisy``, gradient of ``ideal``."""
    return ideal + (noisy - ideal).detach()


# ----------------------------------------------------------------------------- attaching to a model

class _AttentionMatmuls(TorchFunctionMode):
    """Inside one attention module: the 1st matmul is QK^T, the 2nd S.V; both go through crossbars."""

    def __init__(self, noise: CrossbarNoise, module_name: str):
        super().__init__()
        self.noise = noise
        self.module_name = module_name
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.noise.busy or getattr(func, "__name__", "") not in ("matmul", "__matmul__", "bmm"):
            return out
        if self.count >= len(MATMUL_ROLES):
            raise RuntimeError(f"attention module '{self.module_name}' issued more than two matmuls; the noise "
                               f"model knows only QK^T and S.V")
        cfg = self.noise.settings[MATMUL_ROLES[self.count]]
        self.count += 1
        return straight_through(out, noisy_matmul(args[0], args[1], cfg, self.noise.generator_for(out)))


class CrossbarNoise:
    """Context manager that runs ``model`` as on the crossbar chip ``hw``.

    ``with CrossbarNoise(model, hw, seed=3): model(x)`` -- every crossbar layer's
    output is replaced by its noisy crossbar computation (straight-through
    backward); on exit the model is the ideal model again. Noise draws come from
    a generator seeded with ``seed`` (call :meth:`reseed` to start a new,
    reproducible sequence), so the same seed and inputs give the same outputs.
    """

    def __init__(self, model: nn.Module, hw: CrossbarChipConfig, seed: int = 0):
        self.model = model
        self.hw = hw
        self.settings = {role: layer_noise(hw, role) for role in WEIGHT_ROLES + MATMUL_ROLES}
        self._seed = seed
        self._generators: dict[torch.device, torch.Generator] = {}
        self._handles: list = []
        self._modes: dict[str, _AttentionMatmuls] = {}
        self.busy = False  # True while a noisy linear runs: its matmuls are not attention matmuls

    def reseed(self, seed: int) -> None:
        self._seed = seed
        self._generators.clear()

    def generator_for(self, t: torch.Tensor) -> torch.Generator:
        if t.device not in self._generators:
            self._generators[t.device] = torch.Generator(device=t.device).manual_seed(self._seed)
        return self._generators[t.device]

    def _linear_hook(self, cfg: LayerNoise):
        def hook(module: nn.Linear, args, output):
            self.busy = True
            try:
                noisy = noisy_linear(args[0], module.weight, module.bias, cfg, self.generator_for(output))
            finally:
                self.busy = False
            return straight_through(output, noisy)
        return hook

    def _enter_attention(self, name: str):
        def pre_hook(module, args):
            mode = _AttentionMatmuls(self, name)
            self._modes[name] = mode
            mode.__enter__()
        return pre_hook

    def _exit_attention(self, name: str):
        def post_hook(module, args, output):
            mode = self._modes.pop(name, None)
            if mode is None:
                return None
            mode.__exit__(None, None, None)
            if mode.count != len(MATMUL_ROLES):
                raise RuntimeError(f"attention module '{name}' issued {mode.count} matmuls instead of QK^T and S.V; "
                                   f"noise injection needs explicit attention (fused attention off)")
            return None
        return post_hook

    def __enter__(self) -> CrossbarNoise:
        for name, module in self.model.named_modules():
            if isinstance(module, nn.Linear):
                role = linear_role(name)
                if role is not None:
                    self._handles.append(module.register_forward_hook(self._linear_hook(self.settings[role])))
            elif name.split(".")[-1] == "attn" and not hasattr(module, "tb"):
                self._handles.append(module.register_forward_pre_hook(self._enter_attention(name)))
                self._handles.append(module.register_forward_hook(self._exit_attention(name), always_call=True))
        return self

    def __exit__(self, *exc) -> None:
        for mode in self._modes.values():
            mode.__exit__(None, None, None)
        self._modes.clear()
        for h in self._handles:
            h.remove()
        self._handles.clear()
