"""``python -m matroidopt``: the command line (:mod:`matroidopt.cli`)."""

import sys

from .cli import main

sys.exit(main())
