"""``python -m jitgraph``: the same command as ``jitgraph`` (see cli.py)."""

import sys

from .cli import main

sys.exit(main())
