"""Deterministic generator of news-like sample data.

The demo, the tests and the benchmarks all need articles and page views that look like a
real news site's: HTML bodies with the usual clutter, sections, authors, a long tail of
popularity, freshness, reader sessions that stay on a story, and a few crawlers. This
module makes them up from a seed, so the same arguments always give byte-identical files,
and it also writes the ground truth (each article's topic) so tests can check that related
articles are really related.

Text is real English where a reader looks for the subject, and its statistics follow real
news prose. Articles come in stories
(a few dozen articles clustered in time, like the coverage of one fire or one trial) inside
recurring subjects (a section's standing themes, such as elections or the budget), and the
number of both grows with the catalogue. A body mixes English stop words; general words,
whose Zipf head holds ~420 common English words of news and whose long tail of rarer made-up
words grows with the amount of text (Heaps' law, as real vocabularies do, instead of a fixed
list); and words of its section and subject, real English from the section's topical
vocabulary (politics, economy, energy, climate, culture, defense, transport, science,
sports, health: :mod:`recommender.sources._sample_words`), so that a related list visibly
shares a subject; and its story's, made-up names of people and places (capitalised). Made-up
words are pronounceable strings of syllables from a seeded generator. The shares, pool sizes
and frequency curves were calibrated against the Lee corpus of 300 real news articles (Lee,
Pincombe & Welsh, 2005): at its size and mean length, generated bodies match its vocabulary
growth, TF-IDF terms per article, share of article pairs with a term in common and mean
cosine to within about 10% on average over seeds (``bench/text_stats.py`` measures both).
Beyond that size the figures follow from the model, not from real data.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from recommender.errors import DataError
from recommender.sources._sample_text import (
    _BODY_MIX,
    _TITLE_MIX,
    SECTIONS,
    _article_lines,
    _author_pools,
    _make_catalog,
    _make_vocabulary,
    _topic_lines,
)
from recommender.sources._sample_views import _progress, _write_atomically, _write_views
from recommender.windows import DAY

__all__ = ["DEFAULT_NOW", "SECTIONS", "SampleInfo", "generate_sample", "read_topics"]

#: End of the generated period when ``now`` is not given, so the default output is fixed.
DEFAULT_NOW = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)

_MAX_DAYS = 2000
_SESSIONS_PER_ARTICLE = 20
_SUBJECTS_PER_ROOT = 0.7  # subjects = 0.7 * sqrt(articles), at least one per section
_TITLE_WORDS = 8  # mean


@dataclass(frozen=True)
class SampleInfo:
    """What :func:`generate_sample` wrote.

    Attributes
    ----------
    articles_path : Path
        ``articles.jsonl``, one article per line.
    views_path : Path
        ``views.csv``, one page view per row, in time order.
    topics_path : Path
        ``topics.csv``, the ground-truth topic of every article.
    n_articles : int
        Articles written, of every status.
    n_events : int
        Page views written.
    n_sessions : int
        Sessions with at least one page view.
    now : datetime
        End of the period (UTC); every timestamp in the files is at or before it.
    """

    articles_path: Path
    views_path: Path
    topics_path: Path
    n_articles: int
    n_events: int
    n_sessions: int
    now: datetime


def generate_sample(
    out_dir: str | Path,
    *,
    n_articles: int,
    days: int,
    seed: int = 0,
    sessions: int | None = None,
    now: datetime | None = None,
    words_per_article: int = 400,
    show_progress: bool = False,
) -> SampleInfo:
    """Write a deterministic news-like sample: articles, page views and true topics.

    Parameters
    ----------
    out_dir : str or Path
        Directory to write into; created if absent. Existing sample files are replaced.
    n_articles : int
        Number of articles (at least 1). Topics are stories, so their number grows with it
        (about 13 at 300 articles over 30 days, 130 at 3,000, 4,000 at 100,000); a story has
        at most an eighth of the catalogue, so small samples still have several. Stories
        belong to recurring subjects (``0.7 * sqrt(n_articles)``, at least one per section),
        spread over 2 to 10 sections.
    days : int
        Length of the period in days, 1 to 2000. Articles are published over the ``days``
        before ``now``, each story's within a few days of its start.
    seed : int, default 0
        Seed of the random streams. Same arguments give byte-identical files.
    sessions : int or None, default None
        Number of reader sessions. ``None`` means ``20 * n_articles`` (100,000 articles
        give 2,000,000 sessions and about 10 million page views, ~5 per session).
    now : datetime or None, default None
        End of the period; must be timezone-aware. ``None`` means :data:`DEFAULT_NOW`
        (2026-11-01T12:00:00Z), so the default output does not depend on the clock.
    words_per_article : int, default 400
        Mean body length in words. Lengths are log-normal around it (standard deviation
        about half the mean, as in real news), between 20% and 350% of it.
    show_progress : bool, default False
        Show progress bars on standard error when ``tqdm`` is installed.

    Returns
    -------
    SampleInfo
        Paths written and counts.

    Raises
    ------
    ValueError
        If a count is out of range or ``now`` is naive.

    Notes
    -----
    Files written to ``out_dir``:

    ``articles.jsonl``
        One JSON object per line, in id order: ``id`` (``"a000123"``, zero padded so string
        order is numeric order, and ids follow publication time), ``title``, ``body``
        (HTML paragraphs with links, character references such as ``&amp;`` and, in about
        2% of articles, a ``<script>`` block a loader must drop), ``category`` (the section),
        ``tags`` (1-4 words of the story), ``author``, ``published_at`` (ISO 8601, UTC,
        ``Z``), ``url``, ``image_url``, ``status`` (``"published"`` for ~98%, else
        ``"draft"`` or ``"trash"``) and ``language`` (``"en"``).
    ``topics.csv``
        Header ``article_id,topic,category``: the ground-truth topic (story) of every
        article, named ``<section>-<the story's main word>``.
    ``views.csv``
        Header ``session_id,article_id,timestamp``; timestamps are ISO 8601 UTC seconds with
        ``Z``; rows are sorted by time. Drafts are never viewed; trashed articles were live
        before being removed, so they do have views.

    Catalogue: stories start uniformly over the period (and a few days before it, so some are
    already running when it opens) with a log-normal size (median 20 articles); their articles
    follow the start by exponential delays (mean ~1.5 days, varying by story). Stories are
    drawn until the period holds ``n_articles`` articles; the last one is cut short.

    Text: a body is about 45% English stop words, 33% general words, 7% words of its section,
    8% of its subject and 7% of its story (titles are mostly subject and section words, and
    name the story); 15% of
    its content words repeat one used earlier in the same body, as real words come in bursts.
    Each pool has Zipf-like frequencies. The general pool's first 3,000 ranks go as
    ``1 / (rank + 20)`` and the rest as ``rank ** -1.6``; it is sized to the expected amount
    of text, so distinct words keep growing with the catalogue (Heaps' law: as about
    ``tokens ** 0.6`` up to a few hundred articles, ``** 0.5`` from 10,000 to 100,000 in
    publication order). Section and subject words (real English: a section's first 150
    topical words, and 150 of them per subject, each subject starting at a place of its own)
    recur all period; a story's 24 words (names, places) appear only in its
    own articles and its tags. These figures were calibrated against the Lee corpus (300
    real news articles); ``bench/text_stats.py`` compares the two.

    Readers: a session starts with an article drawn by popularity (a per-article Zipf
    weight) times freshness (half-life two days, never before publication); each later view
    is, with probability 0.8, another article of the same topic (story) drawn the same way,
    else any article. Session lengths are heavy tailed (mean ~5, mostly 1-8 views, a minute
    or so apart); about 0.1% of sessions are crawlers with 200-600 views a few seconds apart
    that pick articles uniformly. Session start times are uniform over the period except for
    a ramp over the first days, while the catalogue fills up.
    """
    if n_articles < 1:
        raise ValueError(f"n_articles must be at least 1, got {n_articles}")
    if not 1 <= days <= _MAX_DAYS:
        # Freshness weights 2**(-age / half-life) leave float64's range beyond ~2000 days.
        raise ValueError(f"days must be between 1 and {_MAX_DAYS}, got {days}")
    if words_per_article < 1:
        raise ValueError(f"words_per_article must be at least 1, got {words_per_article}")
    n_sessions = _SESSIONS_PER_ARTICLE * n_articles if sessions is None else sessions
    if n_sessions < 0:
        raise ValueError(f"sessions must not be negative, got {n_sessions}")
    if now is None:
        now = DEFAULT_NOW
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    now_s = math.floor(now.timestamp())

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vocab_seq, catalog_seq, text_seq, views_seq = np.random.SeedSequence(seed).spawn(4)

    # 2 sections below 275 articles, one more per 125 articles, all 10 from 1,150.
    n_sections = min(len(SECTIONS), max(2, -(-max(3, n_articles // 25) // 5)))
    n_subjects = max(n_sections, round(_SUBJECTS_PER_ROOT * math.sqrt(n_articles)))
    vocab_rng = np.random.default_rng(vocab_seq)
    author_pools = _author_pools(vocab_rng, n_sections)
    catalog = _make_catalog(
        np.random.default_rng(catalog_seq),
        n_articles=n_articles,
        n_sections=n_sections,
        n_subjects=n_subjects,
        start_s=now_s - days * DAY,
        span_s=days * DAY,
        author_pools=author_pools,
    )
    n_stories = catalog.topic_subject.size
    general_tokens = n_articles * (words_per_article * _BODY_MIX[1] + _TITLE_WORDS * _TITLE_MIX[1])
    vocab = _make_vocabulary(vocab_rng, n_sections, n_subjects, n_stories, general_tokens)
    main_word = np.char.lower(
        vocab.words[vocab.story.offset + vocab.story.size * np.arange(n_stories)].astype(str)
    ).astype(object)
    catalog = dataclasses.replace(
        catalog,
        topic_names=[
            f"{catalog.sections[section]}-{word}"
            for section, word in zip(
                catalog.topic_section.tolist(), main_word.tolist(), strict=True
            )
        ],
    )
    id_width = max(6, len(str(n_articles)))

    articles_path = out / "articles.jsonl"
    topics_path = out / "topics.csv"
    views_path = out / "views.csv"
    _write_atomically(
        articles_path,
        _article_lines(
            np.random.default_rng(text_seq), vocab, catalog, id_width, words_per_article,
            _progress(show_progress, n_articles, "articles"),
        ),
    )  # fmt: skip
    _write_atomically(topics_path, _topic_lines(catalog, id_width))
    n_events, n_active = _write_views(
        views_path,
        np.random.default_rng(views_seq),
        catalog,
        n_sessions=n_sessions,
        start_s=now_s - days * DAY,
        now_s=now_s,
        id_width=id_width,
        progress=_progress(show_progress, n_sessions, "sessions"),
    )
    return SampleInfo(
        articles_path=articles_path,
        views_path=views_path,
        topics_path=topics_path,
        n_articles=n_articles,
        n_events=n_events,
        n_sessions=n_active,
        now=now,
    )


def read_topics(path: str | Path) -> dict[str, str]:
    """Read the ground-truth topics written by :func:`generate_sample`.

    Parameters
    ----------
    path : str or Path
        A ``topics.csv`` file with header ``article_id,topic,category``.

    Returns
    -------
    dict of str to str
        ``article_id`` to topic name.

    Raises
    ------
    DataError
        If the header is wrong, a row does not have three fields, or an id repeats.
    """
    topics: dict[str, str] = {}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != ["article_id", "topic", "category"]:
            raise DataError(str(path), 1, None, "header must be 'article_id,topic,category'")
        for line, row in enumerate(reader, start=2):
            if len(row) != 3:
                raise DataError(str(path), line, None, f"expected 3 fields, got {len(row)}")
            if row[0] in topics:
                raise DataError(str(path), line, "article_id", f"duplicate id {row[0]!r}")
            topics[row[0]] = row[1]
    return topics
