"""TReX training pieces on tiny runs: losses, determinism, resume, Step-3 search, CKA, data, CLI errors."""

import copy
import os
import subprocess
import sys

import pytest
import torch
from torch.utils.data import Subset

from workloads import registry
from workloads.reuse.cka import cka_matrix, linear_cka, write_cka
from workloads.reuse.data import DataBundle, build_vocab, encode, fraction_subset, load_digits_data
from contracts.reuse_spec import enumerate_patterns
from workloads.reuse.train import (
    Distiller,
    TrainConfig,
    accuracy,
    cross_entropy_objective,
    deit_loss,
    forward_outputs,
    nonideal_accuracy,
    search_patterns,
    set_determinism,
    train,
    winner,
)
from workloads.reuse.transform import apply_attention_reuse
from repo_paths import REPO_ROOT

REPO = REPO_ROOT


@pytest.fixture(scope="module")
def small():
    """128 training and 96 test digits: enough to see learning in a couple of epochs."""
    d = load_digits_data(seed=0)
    return DataBundle(name="digits-small", train=Subset(d.train, range(128)), test=Subset(d.test, range(96)),
                      num_classes=10, img_size=8, train_eval=Subset(d.train_eval, range(128)))


def fresh_model(seed=0):
    torch.manual_seed(seed)
    return registry.get("vit-tiny-digits").builder(img_size=8)


def run_once(small, tmp_path, tag):
    set_determinism(1)
    model = fresh_model()
    cfg = TrainConfig(epochs=2, lr=2e-3, batch_size=32, seed=3)
    hist = train(model, small.train, cfg, cross_entropy_objective, str(tmp_path / f"{tag}.pt"), "base")
    return model, hist


def test_same_seed_same_figures(small, tmp_path):
    m1, h1 = run_once(small, tmp_path, "a")
    m2, h2 = run_once(small, tmp_path, "b")
    assert h1 == h2
    assert accuracy(m1, small.test) == accuracy(m2, small.test)
    hw = __import__("contracts.hardware", fromlist=["load_hw"]).load_hw("fefet-64")
    assert nonideal_accuracy(m1, small.test, hw, draws=2, seed=4) == nonideal_accuracy(m2, small.test, hw, draws=2,
                                                                                       seed=4)
    assert h1[-1] < h1[0]  # it learns


def test_interrupted_run_resumes_to_the_same_result(small, tmp_path):
    set_determinism(1)
    full, hist_full = run_once(small, tmp_path, "full")
    ckpt = str(tmp_path / "part.pt")
    cfg1 = TrainConfig(epochs=2, lr=2e-3, batch_size=32, seed=3)
    partial = fresh_model()
    # simulate an interruption after epoch 1: train a 2-epoch run but stop the loop after one epoch
    state_calls = []
    import workloads.reuse.train as tr
    original = tr.save_checkpoint

    def stop_after_first(path, state):
        original(path, state)
        state_calls.append(state["epoch"])
        raise KeyboardInterrupt

    tr.save_checkpoint = stop_after_first
    try:
        with pytest.raises(KeyboardInterrupt):
            train(partial, small.train, cfg1, cross_entropy_objective, ckpt, "base")
    finally:
        tr.save_checkpoint = original
    assert state_calls == [1]
    resumed = fresh_model(seed=99)  # different init: everything must come from the checkpoint
    hist = train(resumed, small.train, cfg1, cross_entropy_objective, ckpt, "base")
    assert hist == hist_full
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k


def test_eq3_terms_vanish_for_a_perfect_copy(small):
    teacher = fresh_model().eval()
    x, y = next(iter(torch.utils.data.DataLoader(small.test, batch_size=8)))
    s = forward_outputs(teacher, x)
    t = forward_outputs(copy.deepcopy(teacher), x)
    loss = deit_loss(s, t, y, teacher)
    ce = torch.nn.functional.cross_entropy(s.logits, y)
    entropy = -(s.logits.softmax(-1) * s.logits.log_softmax(-1)).sum(-1).mean()
    torch.testing.assert_close(loss, ce + 0.1 * entropy)  # KL of identical class tokens is 0


def test_step3_search_picks_the_lowest_final_loss(small, tmp_path):
    set_determinism(1)
    teacher = fresh_model().eval()
    patterns = enumerate_patterns(8, 2)[:3]
    cfg = TrainConfig(epochs=1, lr=1e-3, batch_size=32, seed=0)
    results = search_patterns(teacher, "vit-tiny", small, patterns, cfg, str(tmp_path), fraction=0.5)
    assert [r["spec"] for r in results] == [p.spec for p in patterns]
    assert winner(results)["final_loss"] == min(r["final_loss"] for r in results)
    assert os.path.isfile(tmp_path / "search.json")
    again = search_patterns(teacher, "vit-tiny", small, patterns, cfg, str(tmp_path), fraction=0.5)  # resumed
    assert [r["final_loss"] for r in again] == [r["final_loss"] for r in results]


def test_lvvit_uses_the_dense_token_loss():
    torch.manual_seed(0)
    with torch.device("cpu"):
        lv = registry.get("lv-vit-s").builder(img_size=32).eval()  # 2x2 tokens: cheap
    student = apply_attention_reuse(lv, [2])
    d = Distiller(lv, "lv-vit")
    x, y = torch.randn(2, 3, 32, 32), torch.tensor([1, 2])
    loss = d(student, x, y)
    assert torch.isfinite(loss) and d.dense


def test_linear_cka_properties():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 30, generator=g)
    q, _ = torch.linalg.qr(torch.randn(30, 30, generator=g))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, 3.0 * x @ q) == pytest.approx(1.0)  # orthogonal + isotropic scaling invariance
    assert linear_cka(x, torch.randn(40, 30, generator=g)) < 0.9


def test_cka_matrix_and_files(small, tmp_path):
    model = apply_attention_reuse(fresh_model().eval(), [3])
    x = torch.stack([small.test[i][0] for i in range(32)])
    m = cka_matrix(model, x)
    assert len(m) == 8 and all(m[i][i] == 1.0 for i in range(8))
    assert all(m[i][j] == m[j][i] for i in range(8) for j in range(8))
    write_cka(m, str(tmp_path / "cka.csv"), str(tmp_path / "cka.png"), "test")
    assert (tmp_path / "cka.csv").read_text().splitlines()[0].startswith("encoder,1,2")
    assert (tmp_path / "cka.png").read_bytes()[:4] == b"\x89PNG"


def test_fraction_subset_and_cola_tokenizer():
    d = load_digits_data()
    a, b = fraction_subset(d.train, 0.2, seed=1), fraction_subset(d.train, 0.2, seed=1)
    assert a.indices == b.indices and len(a) == round(0.2 * len(d.train))
    vocab = build_vocab(["The cat sat.", "A dog ran!"])
    ids = encode("the dog flew.", vocab, 8)
    assert ids[0] == vocab["[CLS]"] and vocab["[UNK]"] in ids and ids[-1] == vocab["[PAD]"] and len(ids) == 8


@pytest.mark.parametrize("argv, fragment", [
    (["patterns", "--n-encoders", "8", "--n-reuse", "8"], "N_reuse must be between 1 and 7"),
    (["evaluate", "--model", "vit-tiny-digits", "--checkpoint", "nowhere.pt", "--pattern",
      "strided:sl=2,start=5,n=5"], "needs encoder 13"),
])
def test_cli_user_errors_are_one_line(argv, fragment):
    proc = subprocess.run([sys.executable, "-m", "workloads.reuse", *argv], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in proc.stderr
