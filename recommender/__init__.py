"""newsrec's offline library: data loading, similarity models, bundles and the CLI.

The models and the bundle at the top (``content``, ``coview``, ``popularity``, ``similarity``,
``blend``, ``bundle``, ``train``), with ``foldin`` (the one fold-in of a new article),
``config`` (the ``[train]``/``[blend]`` settings and the blend bounds), ``windows`` (time
windows, ``DAY``/``HOUR``) and ``errors``; then ``data/`` (articles, views, HTML),
``evaluation/`` (split, replay, metrics, evaluate, report, tune, gate), ``sources/`` (MIND,
WordPress, the sample generator) and ``cli/`` (argparse only).

It never imports Flask or Redis; the online service lives in :mod:`service`.
"""

__version__ = "0.1.0"
