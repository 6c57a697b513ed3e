"""Reading time: the words of an article's text, counted at training and at fold-in, and the
minutes they take at a stated reading speed.

The bundle stores each article's word count (``article_words``, see :mod:`recommender.bundle`),
not minutes, so the speed is a serving setting (``NEWSREC_WORDS_PER_MINUTE``) that changes
without a retraining.
"""

from __future__ import annotations

import math
import re

__all__ = ["DEFAULT_WORDS_PER_MINUTE", "count_words", "reading_minutes"]

#: Words an adult reads per minute in running prose (English; silent reading of non-fiction is
#: measured at about 238, Brysbaert 2019), rounded down so that a label never promises less
#: time than the text takes.
DEFAULT_WORDS_PER_MINUTE = 230

# A word: letters or digits, with inner apostrophes or hyphens ("don't", "well-known",
# "1,200" counts as two: close enough for minutes).
_WORD_RE = re.compile(r"\w+(?:['\u2019-]\w+)*")


def count_words(text: str) -> int:
    """The words of a plain text (HTML already stripped).

    Examples
    --------
    >>> count_words("Grid operators brace for a well-known winter's peak.")
    8
    """
    return len(_WORD_RE.findall(text))  # a list of strings beats a generator 1.3-2x


def reading_minutes(words: int, words_per_minute: int = DEFAULT_WORDS_PER_MINUTE) -> int | None:
    """Minutes to read ``words`` words, rounded up (at least 1); ``None`` for no words (an
    article without text has no reading time to show).

    Examples
    --------
    >>> reading_minutes(1380), reading_minutes(1381), reading_minutes(12), reading_minutes(0)
    (6, 7, 1, None)
    """
    if words <= 0:
        return None
    if words_per_minute <= 0:
        raise ValueError("words_per_minute must be above 0")
    return max(1, math.ceil(words / words_per_minute))
