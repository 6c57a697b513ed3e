"""``python -m recommender.cli``: the ``newsrec`` command."""

import sys

from recommender.cli import main

sys.exit(main())
