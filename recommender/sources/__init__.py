"""Where articles and views come from besides a site's own exports: the MIND dataset
(:mod:`~recommender.sources.mind`), a WordPress site (:mod:`~recommender.sources.wordpress`,
:mod:`~recommender.sources.wordpress_db`) and the deterministic sample generator
(:mod:`~recommender.sources.sample`)."""
