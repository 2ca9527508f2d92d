"""``python -m npdiff``: the command line (see npdiff.cli)."""
from npdiff.cli import main

raise SystemExit(main())
