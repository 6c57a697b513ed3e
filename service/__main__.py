"""``python -m service``: run the service under gunicorn (what ``newsrec serve`` execs)."""

import sys

from service.serve import main

if __name__ == "__main__":
    sys.exit(main())
