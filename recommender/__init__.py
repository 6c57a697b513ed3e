"""newsrec's offline library: data loading, similarity models, bundles and the CLI.

It never imports Flask or Redis; the online service lives in :mod:`service`.
"""

__version__ = "0.1.0"
