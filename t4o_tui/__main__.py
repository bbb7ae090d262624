"""`python -m t4o_tui`."""

import sys

from t4o_tui.cli import main

sys.exit(main())
