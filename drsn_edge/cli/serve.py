"""``drsn-edge serve``: a deployment file's inputs streamed side by side on one model and one set of outputs, as a
service (systemd's notify protocol when run by it); ``--check`` validates the file, ``--print-unit`` writes a unit."""

from __future__ import annotations

import argparse
import contextlib
import io
import shlex
import sys
from pathlib import Path

from drsn_edge.cli import stream
from drsn_edge.cli.deploy_file import DeployFile, Problem, Schema, input_argvs, read_deploy_file
from drsn_edge.cli.parser import Parser, examples
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.app import StreamJob, open_source, planned_inputs, run_streams
from drsn_edge.runtime.config import check_config, check_numbers, unit_map
from drsn_edge.runtime.loader import describe_model

#: the service's watchdog: systemd restarts a stream whose pipeline has not moved for this long
WATCHDOG_SEC = 30


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run a deployment file: many inputs, one model, one set of outputs, as a service",
                       description="Streams every [[input]] of a deployment file (TOML) side by side on one model and "
                                   "one set of outputs. Its keys are stream's flags without dashes, with the same "
                                   "meaning: top-level keys apply to every input and hold the model, the backend and "
                                   "the outputs; an [[input]] table names its input and overrides per-input settings "
                                   "(rate, channels, bearing, windows, alarms). Run by systemd (Type=notify) it says "
                                   "when it is ready and pings the watchdog while its streams move; SIGHUP reopens the "
                                   "output files (logrotate). " + stream.EXIT_CODES,
                       epilog=examples("drsn-edge serve --check deploy.toml",
                                       "drsn-edge serve deploy.toml",
                                       "drsn-edge serve --print-unit deploy.toml > /etc/systemd/system/drsn-edge.service"))
    p.add_argument("deploy", help="deployment file (TOML)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="validate everything (keys, values, the model, each input "
                      "where it can be opened without consuming it) and exit: one line per problem, exit 2")
    mode.add_argument("--print-unit", action="store_true", help="print a systemd unit that runs this deployment")
    p.add_argument("--user", default="drsn-edge", help="--print-unit: the service's dedicated user")
    p.add_argument("--watch-model", type=float, default=2.0, metavar="S",
                   help="look for a replaced model file, or a changed deployment file, this often (replace a model "
                        "by an atomic rename, or name another in the file); the new model is checked, warmed and "
                        "swapped in between batches, a bad one refused; other changes to the file wait for a "
                        "restart (said); 0: never")
    p.set_defaults(func=run)


def stream_parser() -> argparse.ArgumentParser:
    """``stream``'s own parser: the deployment file's schema."""
    root = Parser(prog="drsn-edge")
    stream.add_parser(root.add_subparsers(parser_class=Parser))
    return root._subparsers._group_actions[0].choices["stream"]


def plan(path: str | DeployFile) -> tuple[list[StreamJob], list[Problem]]:
    """The stream jobs a deployment file (a path, or the file as read) describes, and every problem found in it
    (nothing is consumed)."""
    f = path if isinstance(path, DeployFile) else read_deploy_file(path)
    schema = Schema(stream_parser())
    argvs, problems = input_argvs(f, schema)
    if problems:
        return [], problems
    jobs: list[StreamJob] = []
    for i, argv in enumerate(argvs):
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                args = schema.parser.parse_args(argv)
            job, _ = stream.job_from_args(args)
        except SystemExit:
            problems.append(Problem(f.where(i), "", err.getvalue().strip().split(": error: ")[-1]))
            continue
        except DrsnEdgeError as exc:
            problems.append(Problem(f.where(i), "", str(exc)))
            continue
        job.outputs.console = False  # a service has no terminal
        try:  # every number within its limits, as the stream itself checks them
            for settings in (job.inputs, job.config, job.config.alarm, job.provider):
                check_numbers(settings)
        except DrsnEdgeError as exc:
            problems.append(Problem(f.where(i), "", str(exc)))
            continue
        jobs.append(job)
    if problems:
        return [], problems
    problems += _check_model_and_inputs(f, jobs)
    return jobs, problems


def _check_model_and_inputs(f, jobs: list[StreamJob]) -> list[Problem]:
    """Open the model; expand and probe each input (files opened and closed unread; live inputs are not touched)."""
    try:
        md = describe_model(jobs[0].model)
    except (DrsnEdgeError, OSError) as exc:
        return [Problem(f.where(-1, "model"), "model", str(exc))]
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, job in enumerate(jobs):
        try:
            check_config(job.config, md)
        except DrsnEdgeError as exc:
            problems.append(Problem(f.where(i), "", str(exc)))
        try:
            found = planned_inputs(job)
        except DrsnEdgeError as exc:
            problems.append(Problem(f.where(i, "input"), "input", str(exc)))
            continue
        for spec, sid, _ in found:
            if sid in seen:
                key = "stream-id" if (i, "stream-id") in f.lines else "input"
                problems.append(Problem(f.where(i, key), key, f"stream id {sid!r} is also input {seen[sid] + 1}'s: "
                                        "give each input its own stream-id"))
            seen[sid] = i
            channels = job.inputs.raw_channels
            if "://" not in spec and spec != "-":
                try:
                    source = open_source(spec, job.inputs)
                    channels = source.channels
                    source.close()
                except DrsnEdgeError as exc:
                    problems.append(Problem(f.where(i, "input"), "input", f"{spec}: {exc}"))
                    continue
            if channels is not None:
                problems += _check_units(f, i, job, channels, md.in_channels, spec)
    return problems


def _check_units(f, i: int, job: StreamJob, channels: int, model_channels: int, spec: str) -> list[Problem]:
    key = "channel-map"
    if job.config.channel_map and len(job.config.channel_map) > channels:
        return [Problem(f.where(i, key), key, f"{len(job.config.channel_map)} units on {spec}'s {channels} channel(s)")]
    try:
        unit_map(job.config.channel_map, channels, model_channels)  # as the stream will check it
    except DrsnEdgeError as exc:
        return [Problem(f.where(i, key), key, f"{spec}: {exc}")]
    return []


class Redeploy:
    """The deployment file changed while serving: read and checked again; the model it names is followed (swapped in
    live, as a replaced model file is); every other change is said in one line and waits for a restart. A file with
    problems is refused line by line, and the running deployment goes on."""

    def __init__(self, path: str, warn, started: DeployFile | None = None) -> None:
        """``started``: the file as read when the running deployment was planned (what a change is measured from)."""
        self.path, self.warn = path, warn
        self.before = started or read_deploy_file(path)

    def __call__(self) -> str | None:
        # read once: the plan checked and the keys compared are the same text, whatever is written meanwhile
        try:
            now = read_deploy_file(self.path)
            jobs, problems = plan(now)
        except DrsnEdgeError as exc:  # the file is gone, or no longer TOML
            jobs, problems = [], [str(exc)]
        if problems:
            for p in problems:
                self.warn(str(p))
            self.warn(f"{self.path} changed and is refused ({len(problems)} problem(s)); the running deployment goes on")
            return None
        if changed := changed_keys(self.before, now):
            self.warn(f"{self.path}: {', '.join(changed)} changed: applied at the next restart (systemctl restart); "
                      "only the model is followed live")
        self.before = now
        return jobs[0].model


def changed_keys(before, now) -> list[str]:
    """The keys whose values differ between two readings of a deployment file, the model's aside."""
    out = [k for k in sorted({*before.top, *now.top} - {"model"}) if before.top.get(k) != now.top.get(k)]
    if len(before.inputs) != len(now.inputs):
        return [*out, f"the [[input]] tables ({len(before.inputs)} -> {len(now.inputs)})"]
    for i, (a, b) in enumerate(zip(before.inputs, now.inputs)):
        out += [f"input {i + 1} {k}" for k in sorted({*a, *b}) if a.get(k) != b.get(k)]
    return out


def unit_file(path: str, user: str, jobs: list[StreamJob]) -> str:
    """A systemd unit for the deployment: a notify service with a watchdog, restarted on failure, as a dedicated user
    on a read-only system, compiled models cached in its state directory, SIGHUP to reopen the output files."""
    deploy = Path(path).resolve()
    writable = sorted({str(Path(p).resolve().parent) for j in jobs[:1]
                       for p in (j.outputs.jsonl, j.outputs.report, j.outputs.plot_dir) if p and p != "-"})
    command = shlex.join([sys.executable, "-m", "drsn_edge", "serve", str(deploy)])
    lines = ["[Unit]", f"Description=drsn-edge: {sum(len(j.input) for j in jobs)} input(s) from {deploy.name}",
             "Wants=network-online.target", "After=network-online.target", "",
             "[Service]", "Type=notify", "NotifyAccess=main", f"ExecStart={command}",
             "ExecReload=/bin/kill -HUP $MAINPID", f"WatchdogSec={WATCHDOG_SEC}", "Restart=on-failure",
             "RestartSec=5", "TimeoutStopSec=30", f"User={user}", f"Group={user}", "StateDirectory=drsn-edge",
             "Environment=DRSN_EDGE_CACHE=%S/drsn-edge/cache", "ProtectSystem=strict", "ProtectHome=read-only",
             "PrivateTmp=true", "NoNewPrivileges=true"]
    if writable:
        lines.append("ReadWritePaths=" + " ".join(writable))
    lines += ["", "[Install]", "WantedBy=multi-user.target"]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    started = read_deploy_file(args.deploy)
    jobs, problems = plan(started)
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        print(f"drsn-edge serve: {len(problems)} problem(s) in {args.deploy}", file=sys.stderr)
        return 2
    if args.check:
        ids = sum(len(j.input) for j in jobs)
        print(f"{args.deploy}: OK: {len(jobs)} input table(s), {ids} input(s), model {jobs[0].model}")
        return 0
    if args.print_unit:
        sys.stdout.write(unit_file(args.deploy, args.user, jobs))
        return 0
    if not 0 <= args.watch_model <= 86_400:
        raise DrsnEdgeError(f"--watch-model must be from 0 to 86,400 s, got {args.watch_model:g}")
    def warn(m: str) -> None:
        print(f"drsn-edge serve: warning: {m}", file=sys.stderr)

    summary = run_streams(jobs, warn=warn, watch_model_s=args.watch_model or None,
                          follow=(args.deploy, Redeploy(args.deploy, warn, started)))
    return stream.tell(summary, jobs[0], False, "serve")
