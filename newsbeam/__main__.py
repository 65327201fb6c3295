"""``python -m newsbeam`` is the ``newsbeam`` command."""

import sys

from newsbeam.pipelines.cli import main

sys.exit(main())
