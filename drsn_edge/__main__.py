import sys

STREAMING = sys.argv[1:2] in (["stream"], ["serve"])
try:
    from drsn_edge.lifecycle import catch_stop_signals

    if STREAMING:
        catch_stop_signals()
    from drsn_edge.cli.main import main
except KeyboardInterrupt:  # a stop before the handlers were in place: a stream starts stopped and ends with its summary
    if not STREAMING:
        raise
    from drsn_edge.lifecycle import STOP, catch_stop_signals

    catch_stop_signals()
    STOP.set()
    from drsn_edge.cli.main import main

sys.exit(main())
