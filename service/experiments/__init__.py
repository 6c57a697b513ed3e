"""A/B tests of the recommendations: definitions and assignment (:mod:`.config`), the set in
force (:mod:`.registry`), the report (:mod:`.report`) and the routes (:mod:`.api`).

See docs/experiments.md. The statistics are :mod:`recommender.abtest` (no Flask there).
"""
