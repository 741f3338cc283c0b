"""``python -m workloads.reuse``: TReX attention reuse from the command line.

    demo      the whole flow on vit-tiny-digits and scikit-learn's digits (``make trex-demo``)
    patterns  list every uniform pattern for N_encoders and N_reuse (Step 2)
    train     train a baseline model (cross-entropy) -> <out>/baseline.pt
    search    Step 3: partial training of every pattern, lowest final loss wins -> <out>/search.json
    finetune  Step 4: fine-tune a pattern (ideal, or variation-aware with --hw) -> <out>/finetune.pt
    evaluate  ideal and non-ideal accuracy (mean +- std over seeded noise draws) -> JSON
    cka       linear CKA between every pair of encoders' attention outputs (Fig. 17) -> CSV + PNG

``--data`` is ``digits`` (offline default), an ImageFolder root (train/ and val/; CUDA is used when
available) or a GLUE CoLA folder (train.tsv, dev.tsv). ``--checkpoint`` takes a checkpoint written
by these commands or a plain state_dict (e.g. pretrained DeiT-S weights).
"""

from __future__ import annotations

import argparse
import logging
import os

from contracts.errors import UserError, cli_entry

log = logging.getLogger("workloads.reuse")


def _device(data_name: str):
    import torch

    return torch.device("cuda" if torch.cuda.is_available() and data_name != "digits" else "cpu")


def _build(args, data):
    from workloads import registry

    spec = registry.get(args.model)
    if not spec.isotropic:
        raise UserError(f"attention reuse applies to isotropic models and '{spec.name}' is not one")
    if spec.kind == "nlp":
        model = spec.builder(seq_len=data.seq_len)
    else:
        img = data.img_size or spec.default_img
        spec.check_size(img)
        model = spec.builder(img_size=img)
    head = getattr(model, "head", None)
    if getattr(head, "out_features", data.num_classes) != data.num_classes:
        if not hasattr(model, "reset_classifier"):
            raise UserError(f"model '{spec.name}' has {head.out_features} classes but the data has {data.num_classes}")
        model.reset_classifier(data.num_classes)
    return spec, model


def _load_weights(model, path: str | None) -> None:
    if path is None:
        return
    from workloads.reuse.train import load_checkpoint

    state = load_checkpoint(path)
    if state is None:
        raise UserError(f"checkpoint '{path}' does not exist")
    state = state.get("model", state)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else str(e)
        raise UserError(f"checkpoint '{path}' does not fit the model ({first})") from None


def _prepare(args, weights: bool = True):
    """Determinism, data, model (with --checkpoint weights unless ``weights`` is False) and device."""
    from workloads.reuse.data import load_data
    from workloads.reuse.train import set_determinism

    set_determinism(args.threads)
    data = load_data(args.data, img_size=args.img, seq_len=args.seq_len, seed=args.seed)
    spec, model = _build(args, data)
    if weights:
        _load_weights(model, getattr(args, "checkpoint", None))
    return spec, model, data, _device(data.name)


def _reuse_model(model, pattern: str | None, seed: int):
    from contracts.reuse_spec import parse_spec
    from workloads.reuse.transform import apply_attention_reuse, encoder_blocks

    if not pattern:
        return model, []
    encoders = parse_spec(pattern, len(encoder_blocks(model)))
    return apply_attention_reuse(model, encoders, seed=seed), encoders


def cmd_demo(args) -> None:
    from workloads.reuse.demo import DemoConfig, run_demo

    cfg = DemoConfig(seed=args.seed, threads=args.threads, n_reuse=args.n_reuse, hardware=not args.no_hardware,
                     local=not args.no_local,
                     **{k: v for k, v in (("baseline_epochs", args.baseline_epochs),
                                          ("search_epochs", args.search_epochs),
                                          ("finetune_epochs", args.finetune_epochs), ("draws", args.draws))
                        if v is not None})
    summary = run_demo(args.out, cfg)
    print(summary["table"], end="")
    for name, ok in summary["checks"].items():
        print(f"check {name}: {'yes' if ok else 'NO'}")
    print(f"run folder: {args.out}")


def cmd_patterns(args) -> None:
    from contracts.reuse_spec import enumerate_patterns

    patterns = enumerate_patterns(args.n_encoders, args.n_reuse)
    for p in patterns:
        print(f"{p.spec:40s} {', '.join(map(str, p.encoders))}")
    print(f"{len(patterns)} patterns")


def cmd_train(args) -> None:
    from workloads.reuse.train import TrainConfig, accuracy, cross_entropy_objective, train

    _, model, data, device = _prepare(args)
    cfg = TrainConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed, warmup_epochs=2)
    train(model, data.train, cfg, cross_entropy_objective, os.path.join(args.out, "baseline.pt"),
          f"baseline {args.model} {data.name}", device=device)
    print(f"{args.model}: test accuracy {accuracy(model, data.test, device=device):.2f}%  "
          f"-> {os.path.join(args.out, 'baseline.pt')}")


def cmd_search(args) -> None:
    from contracts.reuse_spec import enumerate_patterns
    from workloads.reuse.train import TrainConfig, search_patterns, winner
    from workloads.reuse.transform import encoder_blocks

    spec, model, data, device = _prepare(args)
    model.to(device).eval()
    n_encoders = len(encoder_blocks(model))
    patterns = enumerate_patterns(n_encoders, args.n_reuse or max(1, n_encoders // 4))
    cfg = TrainConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed)
    results = search_patterns(model, spec.family, data, patterns, cfg, args.out, args.fraction, device=device)
    for r in sorted(results, key=lambda r: r["final_loss"]):
        print(f"{r['spec']:40s} final loss {r['final_loss']:.4f}")
    print(f"winner: {winner(results)['spec']}  ({os.path.join(args.out, 'search.json')})")


def cmd_finetune(args) -> None:
    from contracts.hardware import load_hw
    from workloads.reuse.noise import CrossbarNoise
    from workloads.reuse.train import Distiller, TrainConfig, accuracy, train

    spec, teacher, data, device = _prepare(args)
    teacher.to(device).eval()
    model, _ = _reuse_model(teacher, args.pattern, args.seed)
    _load_weights(model, args.init)
    cfg = TrainConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed)
    ckpt = os.path.join(args.out, "finetune.pt")
    desc = f"Step 4 {args.model} {args.pattern} {args.hw or 'ideal'}"
    if args.hw:
        with CrossbarNoise(model, load_hw(args.hw), seed=args.seed) as noise:
            train(model, data.train, cfg, Distiller(teacher, spec.family), ckpt, desc, noise=noise, device=device)
    else:
        train(model, data.train, cfg, Distiller(teacher, spec.family), ckpt, desc, device=device)
    print(f"ideal test accuracy {accuracy(model, data.test, device=device):.2f}%  -> {ckpt}")


def cmd_evaluate(args) -> None:
    from contracts.atomic import write_json
    from contracts.hardware import load_hw
    from workloads.reuse.train import accuracy, nonideal_accuracy

    _, model, data, device = _prepare(args, weights=False)
    model, encoders = _reuse_model(model, args.pattern, args.seed)
    _load_weights(model, args.checkpoint)
    result = {"model": args.model, "pattern": encoders, "ideal": accuracy(model, data.test, device=device)}
    print(f"ideal accuracy: {result['ideal']:.2f}%")
    for hw_name in args.hw:
        ni = nonideal_accuracy(model, data.test, load_hw(hw_name), draws=args.draws, seed=args.seed, device=device)
        result[hw_name] = ni
        print(f"non-ideal accuracy on {hw_name}: {ni['mean']:.2f} ± {ni['std']:.2f}% ({args.draws} draws)")
    if args.out:
        write_json(args.out, result)


def cmd_cka(args) -> None:
    from workloads.reuse.cka import cka_matrix, write_cka
    from workloads.reuse.data import make_loader

    _, model, data, device = _prepare(args, weights=False)
    model, _ = _reuse_model(model, args.pattern, args.seed)
    _load_weights(model, args.checkpoint)
    x = next(iter(make_loader(data.test, args.batch_size, shuffle=False, seed=0)))[0]
    matrix = cka_matrix(model.to(device), x.to(device))
    write_cka(matrix, os.path.join(args.out, "cka.csv"), os.path.join(args.out, "cka.png"),
              f"linear CKA of attention outputs, {args.model}")
    print(f"wrote {os.path.join(args.out, 'cka.csv')} and cka.png")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m workloads.reuse", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(q, data=True):
        q.add_argument("--seed", type=int, default=0)
        q.add_argument("--threads", type=int, default=1, help="torch CPU threads (fixed for reproducibility)")
        if data:
            q.add_argument("--model", required=True, help="registered isotropic model, e.g. deit-s")
            q.add_argument("--data", default="digits", help="digits | ImageFolder root | CoLA folder")
            q.add_argument("--img", type=int, default=None, help="input side for ImageFolder data")
            q.add_argument("--seq-len", type=int, default=None, help="sequence length for CoLA data")
            q.add_argument("--batch-size", type=int, default=64)

    def run_length(q, epochs, lr, lr_help=None):  # the training options search and finetune end with
        q.add_argument("--epochs", type=int, default=epochs)
        q.add_argument("--lr", type=float, default=lr, help=lr_help)
        q.add_argument("--out", required=True)

    d = sub.add_parser("demo", help="the whole TReX flow on vit-tiny-digits (make trex-demo)")
    common(d, data=False)
    d.add_argument("--out", default="runs/trex-demo")
    d.add_argument("--n-reuse", type=int, default=None, help="encoders reusing attention (default N_encoders/4)")
    d.add_argument("--baseline-epochs", type=int, default=None)
    d.add_argument("--search-epochs", type=int, default=None)
    d.add_argument("--finetune-epochs", type=int, default=None)
    d.add_argument("--draws", type=int, default=None, help="noise draws per non-ideal accuracy")
    d.add_argument("--no-hardware", action="store_true", help="skip the crossbar simulation")
    d.add_argument("--no-local", action="store_true", help="skip the local-attention (small Swin) reuse step")
    d.set_defaults(func=cmd_demo)

    q = sub.add_parser("patterns", help="list the uniform patterns of Step 2")
    q.add_argument("--n-encoders", type=int, required=True)
    q.add_argument("--n-reuse", type=int, required=True)
    q.set_defaults(func=cmd_patterns)

    t = sub.add_parser("train", help="train a baseline with cross-entropy")
    common(t)
    t.add_argument("--out", required=True)
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--lr", type=float, default=1e-3)
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("search", help="Step 3: partial training of every uniform pattern")
    common(s)
    s.add_argument("--checkpoint", required=True, help="baseline weights (the teacher and the start)")
    s.add_argument("--n-reuse", type=int, default=None)
    s.add_argument("--fraction", type=float, default=0.2)
    run_length(s, epochs=1, lr=1e-4)
    s.set_defaults(func=cmd_search)

    f = sub.add_parser("finetune", help="Step 4: fine-tune a reuse pattern (variation-aware with --hw)")
    common(f)
    f.add_argument("--checkpoint", required=True, help="baseline weights (the teacher)")
    f.add_argument("--pattern", required=True, help="reuse spec, e.g. strided:sl=2,start=3,n=4")
    f.add_argument("--init", default=None, help="start from this reuse-model checkpoint (e.g. its Step-3 result)")
    f.add_argument("--hw", default=None, help="crossbar config for variation-aware training, e.g. fefet-64")
    run_length(f, epochs=30, lr=1e-4, lr_help="AdamW peak learning rate")
    f.set_defaults(func=cmd_finetune)

    e = sub.add_parser("evaluate", help="ideal and non-ideal accuracy")
    common(e)
    e.add_argument("--checkpoint", required=True, help="weights of the (reuse) model")
    e.add_argument("--pattern", default=None, help="reuse spec the checkpoint was trained with")
    e.add_argument("--hw", action="append", default=[], help="crossbar config(s) for non-ideal accuracy")
    e.add_argument("--draws", type=int, default=5)
    e.add_argument("--out", default=None, help="JSON file for the figures")
    e.set_defaults(func=cmd_evaluate)

    c = sub.add_parser("cka", help="linear CKA heat map of attention outputs (Fig. 17)")
    common(c)
    c.add_argument("--checkpoint", default=None)
    c.add_argument("--pattern", default=None)
    c.add_argument("--out", required=True)
    c.set_defaults(func=cmd_cka)
    return p


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
