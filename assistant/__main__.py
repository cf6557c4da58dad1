"""`python -m assistant` is the `cto-coach` command."""

import sys

from .cli import main

sys.exit(main())
