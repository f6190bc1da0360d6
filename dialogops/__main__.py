"""`python -m dialogops` runs the command line."""

from dialogops.cli import main

raise SystemExit(main())
