"""The WSGI entry point for any server: ``gunicorn 'service.wsgi:app'``.

Importing this module builds the app from the ``NEWSREC_*`` environment (a bad value raises
:class:`service.settings.SettingsError` naming the variable).
"""

from service.app import create_app
from service.settings import Settings

app = create_app(Settings.from_env())
