"""Input data: article catalogues (:mod:`~recommender.data.articles`), view logs
(:mod:`~recommender.data.views`) and HTML to text (:mod:`~recommender.data.html`).

Import from the modules: this package imports none of them, so the service can take the
article validation without loading pyarrow, which only the view readers need.
"""
