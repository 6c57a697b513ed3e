"""A gunicorn config module giving a baseline app the service's close of a connection.

``newsrec serve`` replaces gunicorn's ``close_graceful`` (which waits up to 2 s for the
client's own close after every request) with :func:`service.serve.close_unless_unread`; the
benchmarks' baselines load this module (``gunicorn --config python:_quick_close``) so that a
ratio to the bare app compares the apps, not two ways of closing a connection.
"""

import gunicorn.util

from service.serve import close_unless_unread

gunicorn.util.close_graceful = close_unless_unread(gunicorn.util.close_graceful)
