"""``drsn-edge train``."""

from __future__ import annotations

import argparse

from drsn_edge.cli.parser import add_data_options, data_spec_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a DRSN-CW / DRSN-CS / ResNet model",
                       description="Train a model with noise injected per window; writes a .safetensors checkpoint.")
    add_data_options(p)
    p.add_argument("--model", default="drsn-cw", help="drsn-cw, drsn-cs or resnet")
    p.add_argument("--preset", default="paper", help="paper (Zhao et al. Table II) or wide")
    p.add_argument("--window", type=int, help="window length in samples (default: the preset's)")
    p.add_argument("--noise", default="gaussian", help="noise types drawn per window: gaussian,laplacian,pink | all | none")
    p.add_argument("--snr", default="-4:10", help="SNR in dB: a value (-4) or a range drawn per window (-6:10)")
    p.add_argument("--clean-fraction", type=float, default=0.0, help="share of training windows left clean")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--steps-per-epoch", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--out", default="model.safetensors", help="checkpoint path")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from drsn_edge.data.noise import parse_noise_types, parse_snr_range
    from drsn_edge.models.config import resolve_config
    from drsn_edge.training.noise_schedule import NoiseSchedule
    from drsn_edge.training.pipeline import train_checkpoint
    from drsn_edge.training.trainer import TrainConfig

    kinds = parse_noise_types(args.noise)
    low, high = parse_snr_range(args.snr)
    resolve_config(args.model, args.preset)  # fail fast on a bad name, before loading data
    cfg = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, steps_per_epoch=args.steps_per_epoch,
        seed=args.seed, device=args.device,
        noise=NoiseSchedule(kinds=kinds, snr_low=low, snr_high=high, clean_fraction=args.clean_fraction),
    )
    overrides = {"window": args.window} if args.window else {}
    train_checkpoint(data_spec_from_args(args), args.model, args.preset, cfg, args.out, overrides,
                     progress=not args.quiet)
    return 0
