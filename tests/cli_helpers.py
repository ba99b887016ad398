"""Shared CLI test helpers: run `drsn-edge` in-process, assert a one-line error with exit code 2."""

from drsn_edge.cli.main import main


def run_cli(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line_error(capsys, argv, needle):
    code, _, err = run_cli(capsys, argv)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err and needle in lines[0], err
