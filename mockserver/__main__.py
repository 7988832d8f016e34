"""``python -m mockserver``: the ``musicapi-mock`` command."""

import sys

from mockserver.cli import main

sys.exit(main())
