"""``drsn-edge train``."""

from __future__ import annotations

import argparse
import contextlib

from drsn_edge.cli.parser import (
    SPEED_JITTER,
    TORCH_THREADS,
    add_data_options,
    check_threads,
    data_spec_from_args,
    examples,
    model_arg,
)
from drsn_edge.data.augment import (
    BAND_TILT_DB_PER_OCTAVE,
    EQ_POINTS,
    MASK_WIDTH,
    MAX_EQ_DB,
    MAX_MASKS,
    NO_AUGMENT,
    Augment,
)
from drsn_edge.data.noise import parse_noise_types, parse_snr_range
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.training.config import (
    FINETUNE_EPOCHS,
    FINETUNE_SELECTION_TOLERANCE,
    LAST_EPOCH_TOLERANCE,
    TrainConfig,
)
from drsn_edge.training.noise_schedule import NoiseSchedule
from drsn_edge.training.threads import following_free_cores, use_threads

_CFG, _NOISE = TrainConfig(), NoiseSchedule()


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a DRSN-CW / DRSN-CS / ResNet model",
                       description="Train a model with noise injected per window; writes a .safetensors checkpoint "
                                   "holding the model's description (classes, rate, window, data, split).",
                       epilog=examples(
                           "drsn-edge train --data my-recordings/ --split recording --out model.safetensors",
                           "drsn-edge train --data cwru --data-dir ../shared/data/cwru/12k_drive_end --cv group",
                           "drsn-edge train --data my-machine/ --init cwru-model.safetensors --freeze stem --epochs 10"))
    add_data_options(p, training=True)
    p.add_argument("--strict", action="store_true", help="refuse data with warnings too (e.g. clipped files)")
    p.add_argument("--model", help="drsn-cw, drsn-cs or resnet (default: drsn-cw)")
    p.add_argument("--preset", help="wide (a WDCNN-style wide first kernel; the default) or paper (Zhao et al. Table II)")
    f = p.add_argument_group("fine-tuning from a trained model")
    f.add_argument("--init", metavar="MODEL", type=model_arg,
                   help="start from this checkpoint's (or zoo model's) weights: its architecture, rate and "
                   "window; a new classifier where the classes differ; novelty and noise heads fitted again "
                   "(default: none, a new network)")
    f.add_argument("--freeze", choices=["none", "stem", "backbone"], default="none",
                   help="with --init: what does not train (backbone: the classifier only)")
    f.add_argument("--backbone-lr-scale", type=float, metavar="X",
                   help="the backbone's learning rate as a share of --lr (default: 0.1 with --init, else 1)")
    p.add_argument("--window", type=int, help="window length in samples (default: the preset's, 2048)")
    p.add_argument("--noise", default=",".join(_NOISE.kinds),
                   help="noise types drawn per window: gaussian,laplacian,pink | all | none")
    p.add_argument("--snr", default=f"{_NOISE.snr_low:g}:{_NOISE.snr_high:g}",
                   help="SNR in dB: a value (-4) or a range drawn per window (-6:10)")
    p.add_argument("--clean-fraction", type=float, default=_NOISE.clean_fraction, help="share of training windows left clean")
    p.add_argument("--speed", default=_CFG.augment.speed, **SPEED_JITTER)
    p.add_argument("--band", type=float, default=_CFG.augment.band,
                   help="share of windows given a random low-pass and spectral tilt (sensor differences; 0: off)")
    p.add_argument("--masks", type=int, default=_CFG.augment.masks, metavar="N",
                   help=f"random bands (each up to {100 * MASK_WIDTH:.0f} %% of the spectrum) removed from every "
                   "training window, so no one band decides the class (another sensor from few loads: 6; 0: off)")
    p.add_argument("--eq", type=float, default=_CFG.augment.eq_db, metavar="DB",
                   help=f"a random equalizer on every training window: a gain curve through {EQ_POINTS} points, each "
                   "drawn from +-DB (resonances that move with load or mounting; another sensor from one load: 6; "
                   "0: off)")
    p.add_argument("--no-augment", action="store_true", help="no augmentation at all (the paper's training)")
    p.add_argument("--patience", type=int, help="stop after this many epochs without a better validation score "
                                                "(default: none: every epoch runs, the best on validation is kept; "
                                                "with --init the latest within a point of the best)")
    p.add_argument("--last-epoch", action="store_true",
                   help="keep the last epoch (and refit through every epoch) instead of choosing one on validation: "
                   "for validation too small to choose by, as a few labelled recordings give (another sensor from one "
                   "load: see the README)")
    p.add_argument("--no-refit", action="store_true",
                   help="keep the best validation epoch's weights (by default training runs again on training + "
                        "validation recordings up to that epoch)")
    p.add_argument("--epochs", type=int, help=f"training epochs (default: {_CFG.epochs}; {FINETUNE_EPOCHS} with --init)")
    p.add_argument("--steps-per-epoch", type=int, default=_CFG.steps_per_epoch)
    p.add_argument("--batch-size", type=int, default=_CFG.batch_size)
    p.add_argument("--lr", type=float, default=_CFG.lr)
    p.add_argument("--seed", type=int, default=_CFG.seed)
    p.add_argument("--device", default=_CFG.device, help="auto, cpu or cuda")
    p.add_argument("-o", "--out", default="model.safetensors", help="checkpoint path")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--threads", **TORCH_THREADS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from drsn_edge.models.config import resolve_config
    from drsn_edge.training.pipeline import train_checkpoint
    threads = use_threads(check_threads(args.threads))

    kinds = parse_noise_types(args.noise)
    low, high = parse_snr_range(args.snr)
    if args.epochs is None:
        args.epochs = FINETUNE_EPOCHS if args.init else _CFG.epochs
    for name in ("epochs", "steps_per_epoch", "batch_size"):
        if getattr(args, name) < 1:
            raise DrsnEdgeError(f"--{name.replace('_', '-')} must be at least 1")
    if args.init and (args.model or args.preset or args.window):
        raise DrsnEdgeError("--init takes the architecture, preset and window of the model it starts from; leave out "
                            "--model, --preset and --window")
    if args.init and getattr(args, "model_fs", None):
        raise DrsnEdgeError("--init runs at the rate of the model it starts from; leave out --model-fs")
    if args.init and args.cv:
        raise DrsnEdgeError("--init and --cv together are not supported; fine-tune with --split group instead")
    if args.freeze != "none" and not args.init:
        raise DrsnEdgeError("--freeze needs --init (a model to start from)")
    if args.last_epoch and args.patience is not None:
        raise DrsnEdgeError("--patience stops at the best epoch on validation and --last-epoch keeps the last; give one")
    scale = args.backbone_lr_scale if args.backbone_lr_scale is not None else (0.1 if args.init else 1.0)
    if not 0 < scale <= 10:
        raise DrsnEdgeError(f"--backbone-lr-scale must be above 0 and at most 10, got {scale:g}")
    args.model, args.preset = args.model or "drsn-cw", args.preset or "wide"
    resolve_config(args.model, args.preset)  # fail fast on a bad name, before loading data

    if not 0 <= args.masks <= MAX_MASKS:
        raise DrsnEdgeError(f"--masks must be 0 to {MAX_MASKS}, got {args.masks}")
    if not 0 <= args.eq <= MAX_EQ_DB:  # also refuses NaN
        raise DrsnEdgeError(f"--eq must be 0 to {MAX_EQ_DB:g} dB, got {args.eq:g}")
    if args.no_augment and (args.masks or args.eq):
        raise DrsnEdgeError(f"--no-augment turns every augmentation off; leave out {'--masks' if args.masks else '--eq'}")
    augment = NO_AUGMENT if args.no_augment else Augment(speed=args.speed, band=args.band,
                                                         tilt_db_per_octave=BAND_TILT_DB_PER_OCTAVE if args.band else 0.0,
                                                         masks=args.masks, eq_db=args.eq)
    cfg = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, steps_per_epoch=args.steps_per_epoch,
        seed=args.seed, device=args.device, augment=augment, patience=args.patience, refit=not args.no_refit,
        backbone_lr_scale=scale,
        selection_tolerance=LAST_EPOCH_TOLERANCE if args.last_epoch else FINETUNE_SELECTION_TOLERANCE if args.init else 0.0,
        noise=NoiseSchedule(kinds=kinds, snr_low=low, snr_high=high, clean_fraction=args.clean_fraction),
    )
    overrides = {"window": args.window} if args.window else {}
    spec = data_spec_from_args(args)
    # without --threads: spinning threads, as many as other processes leave cores free (training/threads.py)
    with following_free_cores(threads) if args.threads is None else contextlib.nullcontext():
        if args.cv:
            from drsn_edge.training.cross_validation import cross_validate

            cross_validate(spec, args.model, args.preset, cfg, args.out, overrides, progress=not args.quiet,
                           strict=args.strict)
            return 0
        train_checkpoint(spec, args.model, args.preset, cfg, args.out, overrides, progress=not args.quiet,
                         strict=args.strict, init=args.init, freeze=args.freeze)
    return 0
