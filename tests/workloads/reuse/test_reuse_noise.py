"""Crossbar noise injection of TReX Step 4, tested in isolation (settings from a crossbar_chip config)."""

import math

import pytest
import torch
from torch import nn

from contracts.hardware import load_hw
from contracts.hardware.crossbar_chip import CrossbarChipConfig
from workloads import registry
from workloads.reuse.noise import (
    CrossbarNoise,
    adc_accumulate,
    combined_sigma,
    layer_noise,
    linear_role,
    programmed_levels,
    quantize_symmetric,
)
from workloads.reuse.transform import apply_attention_reuse

torch.set_num_threads(1)


def chip(adc_bits=6, weight_bits=8, input_bits=8, read=0.10, write=0.20, size=64, hybrid=False):
    def device(bits, r, w):
        return dict(bits_per_cell=bits, read_variation=r, write_variation=w, e_read_pj=25.0, e_write_pj=118.0,
                    d_read_s=2e-8, d_write_s=3.3e-6, area_mm2=0.03)

    mapping = {"default": "fefet", "attn_qk": "sram", "attn_av": "sram"} if hybrid else {"default": "fefet"}
    return CrossbarChipConfig(
        kind="crossbar_chip", name="test", technology_nm=32, clock_hz=1e9,
        crossbar=dict(size=size, crossbars_per_pe=8, pes_per_tile=8, adc_bits=adc_bits, weight_bits=weight_bits,
                      input_bits=input_bits, input_split_bits=1),
        devices={"fefet": device(2, read, write), "sram": device(1, 0.0, 0.0)}, layer_device=mapping)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    base = registry.get("vit-tiny-digits").builder(img_size=8).eval()
    return apply_attention_reuse(base, [3, 4, 7], seed=0).eval()


@pytest.fixture(scope="module")
def x():
    return torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(1))


def test_no_variation_and_wide_adc_equals_ideal(model, x):
    ideal = model(x)
    with CrossbarNoise(model, chip(adc_bits=16, weight_bits=16, input_bits=16, read=0.0, write=0.0)):
        noisy = model(x)
    torch.testing.assert_close(noisy, ideal, rtol=1e-3, atol=1e-3 * ideal.abs().max().item())
    assert torch.equal(model(x), ideal)  # leaving the context restores the ideal model


def test_no_variation_with_8bit_weights_is_close_but_not_exact(model, x):
    ideal = model(x)
    with CrossbarNoise(model, chip(adc_bits=16, read=0.0, write=0.0)):
        noisy = model(x)
    err = (noisy - ideal).abs().max().item()
    assert 0 < err < 0.05 * ideal.abs().max().item()


def test_adc_quantises_each_crossbar_partial_sum():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 5, 128, generator=g), torch.randn(128, 7, generator=g)
    exact = a @ b
    torch.testing.assert_close(adc_accumulate(a, b, 64, 20), exact, rtol=1e-4, atol=1e-4)
    # 3-bit ADC on two 64-row crossbars == the sum of the two separately quantised partial sums
    p1, p2 = a[..., :64] @ b[:64], a[..., 64:] @ b[64:]
    q = [lv * s for lv, s in (quantize_symmetric(p, 3, per_sample=True) for p in (p1, p2))]
    torch.testing.assert_close(adc_accumulate(a, b, 64, 3), q[0] + q[1])
    assert not torch.allclose(adc_accumulate(a, b, 128, 3), q[0] + q[1])


@pytest.mark.parametrize("sigmas", [(0.10,), (0.20, 0.10)])
def test_relative_spread_of_conductance_draws_matches_sigma(sigmas):
    """Single-cell magnitudes (level 3 of a 2-bit cell): relative spread = configured sigma (+-10%);
    K^T / V cells get write and read variation, sigma = sqrt((1 + 0.2^2)(1 + 0.1^2) - 1)."""
    cfg = layer_noise(load_hw("fefet-64"), "attn_qk")
    assert (cfg.read_sigma, cfg.write_sigma, cfg.bits_per_cell) == (0.10, 0.20, 2)
    levels = torch.full((200_000,), 3.0)
    levels[::2] = -3.0
    drawn = programmed_levels(levels, 8, 2, sigmas, torch.Generator().manual_seed(0))
    spread = ((drawn - levels) / levels).std().item()
    target = combined_sigma(sigmas)
    assert abs(spread - target) <= 0.1 * target
    assert torch.equal(torch.sign(drawn), torch.sign(levels))


def test_multi_cell_weights_average_their_cells():
    """Magnitude 85 = 1 + 1*4 + 1*16 + 1*64: four cells, relative spread sigma*sqrt(1+16+256+4096)/85."""
    levels = torch.full((200_000,), 85.0)
    drawn = programmed_levels(levels, 8, 2, (0.1,), torch.Generator().manual_seed(0))
    expected = 0.1 * math.sqrt(1 + 4 ** 2 + 16 ** 2 + 64 ** 2) / 85
    assert abs(((drawn - levels) / levels).std().item() - expected) <= 0.1 * expected


def test_fefet_noise_is_seeded_and_sram_is_deterministic(model, x):
    fefet, sram = load_hw("fefet-64"), load_hw("sram-64")
    with CrossbarNoise(model, fefet) as noise:
        noise.reseed(5)
        a = model(x)
        noise.reseed(5)
        b = model(x)
        noise.reseed(6)
        c = model(x)
    assert torch.equal(a, b) and not torch.equal(a, c)
    with CrossbarNoise(model, sram) as noise:
        noise.reseed(5)
        d = model(x)
        noise.reseed(6)
        e = model(x)
    assert torch.equal(d, e) and not torch.equal(d, model(x))  # ADC/quantisation noise only


def test_hybrid_follows_its_mapping(model, x):
    """Hybrid: K^T and V on SRAM, so no write variation; turning off FeFET read variation makes it
    deterministic, whereas the all-FeFET chip still varies through K^T / V write variation."""
    outs = {}
    for name, hw in (("hybrid", chip(read=0.0, hybrid=True)), ("fefet", chip(read=0.0))):
        with CrossbarNoise(model, hw) as noise:
            noise.reseed(1)
            first = model(x)
            noise.reseed(2)
            outs[name] = torch.equal(first, model(x))
    assert outs == {"hybrid": True, "fefet": False}
    assert layer_noise(load_hw("hybrid-64"), "attn_av").device == "sram"
    assert layer_noise(load_hw("hybrid-64"), "qkv").device == "fefet"


def test_straight_through_gradients(model, x):
    m = apply_attention_reuse(model, [3, 4, 7])  # a copy to train
    m.train()
    grads = {}
    for tag, ctx in (("ideal", None), ("noisy", CrossbarNoise(m, load_hw("fefet-64"), seed=0))):
        m.zero_grad()
        if ctx is None:
            m(x).logsumexp(-1).sum().backward()
        else:
            with ctx:
                m(x).logsumexp(-1).sum().backward()
        grads[tag] = m.blocks[0].attn.qkv.weight.grad.clone()
    assert torch.isfinite(grads["noisy"]).all() and grads["noisy"].abs().sum() > 0
    cos = torch.nn.functional.cosine_similarity(grads["ideal"].flatten(), grads["noisy"].flatten(), dim=0)
    assert cos > 0.5  # same gradient path, evaluated at noisy activations


def test_roles_of_linear_layers():
    assert [linear_role(n) for n in ("blocks.0.attn.qkv", "blocks.0.attn.proj", "blocks.1.mlp.fc1",
                                     "blocks.1.mlp.fc2", "blocks.2.attn.tb.fc", "head", "patch_embed.proj")] == \
        ["qkv", "proj", "fc1", "fc2", "tb_fc", "head", None]


def test_fused_attention_is_refused(x):
    torch.manual_seed(0)
    m = registry.get("vit-tiny-digits").builder(img_size=8).eval()
    m.blocks[0].attn.fused_attn = True
    with CrossbarNoise(m, load_hw("fefet-64")), pytest.raises(RuntimeError, match="fused attention"):
        m(x)
    assert isinstance(m.blocks[0].attn.qkv, nn.Linear)
