"""``drsn-edge`` command line: a thin layer over the library."""

from __future__ import annotations

import os
import signal
import sys

from drsn_edge.lifecycle import catch_stop_signals

if sys.argv[1:2] in (["stream"], ["serve"]):  # a stop at any moment, start-up included, ends with a summary
    catch_stop_signals()
#: jobs that run torch on a box that streams: its OpenMP threads must sleep, not spin, while they wait (read by
#: libgomp when torch loads: before any import of it); OMP_WAIT_POLICY=ACTIVE in the environment keeps the spinning.
#: train without --threads spins and follows the cores other processes leave free instead (training/threads.py)
TRAINING_COMMANDS = ("train", "adapt", "enrol")


def _names_threads(args: list[str]) -> bool:
    """Whether ``args`` give --threads, as argparse reads them: ``--threads 2``, ``--threads=2``, or a prefix."""
    return any(len(opt) > 3 and "--threads".startswith(opt) for opt in (a.split("=", 1)[0] for a in args))


if sys.argv[1:2] and sys.argv[1] in TRAINING_COMMANDS and (sys.argv[1] != "train" or _names_threads(sys.argv[2:])):
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from drsn_edge._version import __version__  # noqa: E402 - after the signal handlers: imports take ~0.3 s
from drsn_edge.cli import adapt, bench, data, demo, enrol, evaluate, export, models, serve, stream, train  # noqa: E402
from drsn_edge.cli.parser import Parser  # noqa: E402
from drsn_edge.errors import DrsnEdgeError  # noqa: E402


def build_parser() -> Parser:
    parser = Parser(prog="drsn-edge", description="Deep Residual Shrinkage Networks from training to the edge.")
    parser.add_argument("--version", action="version", version=f"drsn-edge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in (data, train, evaluate, adapt, enrol, export, stream, serve, bench, demo, models):
        module.add_parser(sub)
    return parser


#: what a shell reports for a process ended by SIGPIPE
EXIT_BROKEN_PIPE = 141


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    as_process = argv is None
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["stream"], ["serve"]):  # a stop request at any moment, start-up included, ends with a summary

        catch_stop_signals()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed on one line
        return int(exc.code or 0)
    try:
        code = int(args.func(args) or 0)
        if as_process and args.command in ("stream", "serve"):  # done: a stop now must not kill the shutting down
            for sig in (signal.SIGINT, signal.SIGTERM):  # interpreter (it restores default handlers, SIG_IGN kept)
                signal.signal(sig, signal.SIG_IGN)
        return code
    except DrsnEdgeError as exc:
        print(f"drsn-edge {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ModuleNotFoundError as exc:
        print(f"drsn-edge {args.command}: error: missing dependency {exc.name!r}; "
              f"install the extra that provides it, e.g. pip install 'drsn-edge[train]'", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (| head): end quietly, as a shell reports SIGPIPE
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"drsn-edge {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"drsn-edge {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: one line, traceback on request
        if os.environ.get("DRSN_EDGE_DEBUG"):
            raise
        print(f"drsn-edge {args.command}: internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
              "(set DRSN_EDGE_DEBUG=1 for the traceback; please report it)", file=sys.stderr)
        return 70  # EX_SOFTWARE: a bug, not bad input


if __name__ == "__main__":
    sys.exit(main())
