"""``drsn-edge adapt``."""

from __future__ import annotations

import argparse

from drsn_edge.cli.parser import TORCH_THREADS, add_data_options, check_threads, examples, model_arg, unlabelled_data_spec
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.training.threads import use_threads


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("adapt", help="adapt a model to a new machine from its unlabelled recordings",
                       description="Unsupervised adaptation: AdaBN re-estimates every BatchNorm's statistics on the "
                                   "target machine's windows; tent then makes the BatchNorm scales confident on them, "
                                   "with a guard against collapse. Labels in the target data are ignored. Writes a new "
                                   "checkpoint that records what it was adapted on; export works on it unchanged.",
                       epilog=examples("drsn-edge adapt model.safetensors --data new-pump-recordings/ -o adapted.safetensors",
                                       "drsn-edge adapt model.safetensors --data cwru --data-dir ../shared/data/cwru/"
                                       "12k_drive_end --loads 3 -o adapted.safetensors --method tent"))
    p.add_argument("model", type=model_arg, help="the checkpoint to adapt, or a zoo name (drsn-edge models)")
    p.add_argument("-o", "--out", required=True, help="where to write the adapted checkpoint")
    p.add_argument("--method", choices=["adabn", "tent"], default="tent",
                   help="tent (AdaBN, then entropy minimisation on the BatchNorm scales; the default) or adabn alone")
    p.add_argument("--windows", type=int, default=4096, help="at most this many target windows (spread over the files)")
    p.add_argument("--force", action="store_true", help="write the adapted model even when adaptation relabelled "
                   "more than 30 %% of the windows the model was sure about (a sign of one-state target data)")
    add_data_options(p)
    p.add_argument("--threads", **TORCH_THREADS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from drsn_edge.training.adapt import adapt_checkpoint
    use_threads(check_threads(args.threads))

    if not args.data:
        raise DrsnEdgeError("give the target machine's recordings with --data (a folder, a manifest, or cwru)")
    if args.windows < 16:
        raise DrsnEdgeError("--windows: adaptation needs at least 16 windows")
    adapt_checkpoint(args.model, unlabelled_data_spec(args), args.out, args.method, args.windows, force=args.force)
    return 0
