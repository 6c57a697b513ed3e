"""The exit codes of ``newsrec``: defined here once (the service's ``python -m service`` uses
:data:`EXIT_USAGE` too)."""

from __future__ import annotations

#: Success.
EXIT_OK = 0
#: Anything unexpected (a traceback).
EXIT_UNEXPECTED = 1
#: Bad usage or bad data: a :class:`~recommender.errors.DataError`, a bad bundle, a bad flag.
EXIT_USAGE = 2
#: The promotion gate (``newsrec train --gate``) refused the new bundle.
EXIT_GATE_REFUSED = 3
#: Interrupted (Ctrl-C): nothing was published.
EXIT_INTERRUPTED = 130
