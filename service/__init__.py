"""newsrec's online service: a Flask app serving the bundles ``newsrec train`` publishes.

Build it with :func:`service.app.create_app`; run it with ``python -m service`` (gunicorn) or
point another WSGI server at ``service.wsgi:app``. This package imports nothing on purpose:
``python -m service`` must set up Prometheus' multiprocess directory before prometheus-client
is first imported.
"""
