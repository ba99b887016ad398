import sys

from drsn_edge.cli.main import main

sys.exit(main())
