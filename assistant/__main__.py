"""`python -m assistant` is the `cto-coach` command."""

import sys

from assistant.app.cli import main

sys.exit(main())
