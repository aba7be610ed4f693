"""``python -m svc_core`` runs the command line."""

import sys

from svc_core.cli import main

sys.exit(main())
