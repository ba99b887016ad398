import sys

from drsn_edge.lifecycle import STOP, catch_stop_signals

try:
    if sys.argv[1:2] in (["stream"], ["serve"]):
        catch_stop_signals()
    from drsn_edge.cli.main import main
except KeyboardInterrupt:  # a stop before the handlers were in place: the run starts stopped and ends with its summary
    catch_stop_signals()
    STOP.set()
    from drsn_edge.cli.main import main

sys.exit(main())
