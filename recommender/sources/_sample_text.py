"""The sample generator's text side: its vocabulary, its catalogue of stories and the
articles' words (private to :mod:`recommender.sources.sample`, which documents the model)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recommender.sources._sample_words import GENERAL, TOPICAL
from recommender.windows import DAY, HOUR

#: Site sections, in the order they are used (small samples use the first few); each has its
#: real English vocabulary (:data:`recommender.sources._sample_words.TOPICAL`).
SECTIONS = (
    "politics",
    "economy",
    "energy",
    "climate",
    "culture",
    "defense",
    "transport",
    "science",
    "sports",
    "health",
)


# Catalogue: stories (the topics) inside subjects inside sections.
_STORY_MEDIAN, _STORY_SIGMA = 20.0, 0.8  # articles per story, log-normal
_STORY_MIN = 3
_STORY_MAX_SHARE = 8  # a story holds at most 1/8 of the catalogue (or 2 articles)
_STORY_GAP_DAYS, _STORY_GAP_SIGMA = 1.5, 0.7  # mean delay of a story's articles, log-normal
_STORY_LEAD = 3  # stories start up to this many median delays before the period
_SKEW = 0.6  # some subjects and sections are busier than others

# Vocabulary: pools of words, each drawn with Zipf-like frequencies.
_SECTION_VOCAB = 150  # each section's first words (its most characteristic)
_SUBJECT_VOCAB = 150
_STORY_VOCAB = 24
_GENERAL_HEAD = 3000  # general ranks with frequency ~ 1/rank; beyond, a steeper tail
_GENERAL_SHIFT = 20.0
_TAIL_EXPONENT = 1.6  # tail frequency ~ rank**-1.6, so types grow as tokens**(1 / 1.6)
_TAIL_UNSEEN = 0.05  # the rarest general word is expected this many times in the whole text
_MAX_GENERAL = 4_000_000
# Share of each pool in bodies and titles: stop words, general, section, subject, story.
_BODY_MIX = (0.45, 0.33, 0.07, 0.08, 0.07)
_TITLE_MIX = (0.10, 0.15, 0.20, 0.35, 0.20)  # titles say the subject, and name the story
_P_REPEAT = 0.15  # chance that a content word of a body repeats an earlier one
_N_TAG_CANDIDATES = 6
_BODY_SIGMA = 0.5  # body lengths are log-normal around the mean (real ones vary ~50%)
_MIN_BODY, _MAX_BODY = 0.2, 3.5  # times the mean

# Article metadata.
_STATUS_NAMES = ("published", "draft", "trash")
_STATUS_P = (0.98, 0.015, 0.005)
_POPULARITY_EXPONENT = 0.9

# Chunk sizes bound memory; they are constants so the random streams do not depend on them.
_ARTICLE_CHUNK = 2_000

_ONSETS = (
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
    "br", "dr", "fr", "gr", "kr", "pr", "tr", "st", "sk", "sl", "pl", "bl", "kl", "fl", "sh",
    "ch", "th", "",
)  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "i", "o", "a", "ai", "ea", "ou", "io", "y")
_CODAS = ("", "", "", "", "n", "r", "l", "s", "m", "t", "nd", "rk", "st", "x", "sh")
_SYLLABLES = tuple(on + vo for on in _ONSETS for vo in _VOWELS)

# Function words, most frequent first; all of them are in scikit-learn's English stop list.
_STOP_WORDS = (
    "the", "to", "of", "in", "and", "a", "he", "is", "for", "on", "that", "has", "was", "have",
    "it", "be", "with", "are", "at", "will", "from", "by", "as", "an", "we", "been", "they",
    "his", "but", "not", "had", "this", "were", "which", "who", "their", "there", "or",
    "would", "its", "after", "about", "also", "more", "she", "her", "one", "when", "up", "all",
    "out", "into", "over", "can", "could", "if", "so", "what", "while", "other", "some",
    "them", "these", "our", "no", "only", "most", "two", "before", "than", "very", "i",
    "you", "him", "do", "should", "may", "any", "then", "now", "because", "where", "how",
    "those", "such", "since", "against", "between", "during", "under", "until",
    "both", "each", "many", "much", "well", "even", "back", "down", "off", "again", "still",
    "being", "through", "already", "however", "another", "around", "us", "my", "me", "your",
    "whether", "without", "within", "among", "although", "last", "first", "three", "four",
    "here", "never", "own", "same", "few", "less", "often", "ever", "yet",
    "though", "must", "might", "rather", "almost", "once", "together", "whose", "whom",
    "upon", "towards", "behind", "beyond", "below", "above", "along", "across", "except",
    "nor", "either", "neither", "every", "everyone", "everything", "nothing", "something",
    "someone", "anyone", "anything", "none", "nobody", "others", "itself", "himself",
    "herself", "themselves", "ourselves", "perhaps", "indeed", "therefore", "thus",
    "meanwhile", "otherwise", "sometimes", "elsewhere", "afterwards", "latter", "moreover",
    "nevertheless", "whereas", "whatever", "whenever", "hence", "become", "became", "seems",
    "cannot", "due", "per", "via", "five", "six", "ten", "twenty", "hundred", "third",
)  # fmt: skip
_GENERAL_ENGLISH = (
    "said", "says", "new", "people", "year", "years", "time", "government", "week", "day",
    "days", "city", "state", "report", "country", "company", "officials", "president",
    "minister", "public", "group", "police", "court", "market", "plan", "policy", "percent",
    "million", "billion", "number", "area", "world", "school", "family", "service", "council",
    "members", "office", "program", "question", "money", "work", "home", "water", "power",
    "team", "season", "game", "deal", "talks", "agreement", "price", "rate", "bank", "growth",
    "budget", "tax", "workers", "jobs", "industry", "business", "project", "support", "issue",
    "statement", "decision", "law", "vote", "leader", "region", "community", "residents",
    "center", "road", "building", "data", "study", "research", "university", "hospital",
    "night", "morning", "month", "months", "hours", "evidence", "change", "increase",
    "decline", "figures", "risk", "crisis", "told", "announced", "added", "expected",
    "according", "next", "major", "local", "national", "international", "early", "late",
    "high", "low", "large", "small", "recent", "private", "several", "just", "why", "make",
    "took", "shows", "called", "set", "say", "think", "want", "need", "help", "plans",
    "looking", "likely", "including", "previous", "analysis", "sources", "spokesman",
    "spokeswoman", "interview", "average", "total", "series", "future", "process", "effort",
    "did", "does",
)  # fmt: skip

_SCRIPTS = (
    '<script>window.dataLayer = window.dataLayer || []; dataLayer.push({"event": '
    '"article_view", "section": "@SECTION@", "articleId": "@ID@"});</script>',
    '<script type="text/javascript">var adSlot = googletag.defineSlot("/4471/news/@SECTION@", '
    '[300, 250], "ad-@ID@"); if (adSlot && window.innerWidth > 600) '
    "{ adSlot.addService(googletag.pubads()); }</script>",
    "<script>(function () { var s = document.createElement('script'); s.async = true; "
    "s.src = 'https://cdn.example.net/embed.js?id=@ID@'; document.head.appendChild(s); })();"
    "</script>",
)

_P_LINK, _P_SCRIPT = 0.3, 0.02
_P_SENTENCE_END, _P_PARAGRAPH_END = 1 / 12, 0.3
_P_COMMA, _P_POSSESSIVE, _P_AMPERSAND = 0.06, 0.01, 0.15

_IntArray = NDArray[np.int64]
_FloatArray = NDArray[np.float64]

# "0000" to "9999": ids are formatted four digits per lookup rather than digit by digit.
_DIGITS4: NDArray[np.bytes_] = np.array([f"{i:04d}" for i in range(10_000)], dtype="S4")


@dataclass(frozen=True)
class _Pool:
    """``groups`` consecutive lists of ``size`` words each (one per section, subject, story)."""

    offset: int
    size: int
    cdf: _FloatArray  # of a word's rank within its group

    def draw(self, group: _IntArray | int, u: _FloatArray) -> _IntArray:
        rank = np.minimum(np.searchsorted(self.cdf, u, side="right"), self.size - 1)
        words: _IntArray = self.offset + group * self.size + rank
        return words


@dataclass(frozen=True)
class _Vocabulary:
    """Every word the generator uses, and its pools in the order of ``_BODY_MIX``."""

    words: NDArray[np.object_]  # stop words, general, sections, subjects, stories
    stop: _Pool
    general: _Pool
    section: _Pool
    subject: _Pool
    story: _Pool
    and_index: int

    @property
    def topical_offset(self) -> int:
        """Index of the first subject or story word (the ones that take a possessive)."""
        return self.subject.offset


@dataclass(frozen=True)
class _Catalog:
    """Per-article metadata, indexed by article row (row ``i`` has id number ``i + 1``).

    Topics are stories, numbered in order of their first article.
    """

    topic: _IntArray
    published: _IntArray  # unix seconds, non-decreasing
    status: _IntArray
    popularity: _FloatArray
    author: list[str]
    topic_names: list[str]
    topic_subject: _IntArray
    topic_section: _IntArray
    sections: tuple[str, ...]


# --- vocabulary and catalogue ------------------------------------------------------------


def _made_up_words(
    rng: np.random.Generator, n: int, taken: set[str], syllables: tuple[float, ...]
) -> list[str]:
    """``n`` new pronounceable words, none in ``taken`` (which grows).

    ``syllables[k]`` is the chance of ``k + 2`` syllables; rarer words get longer ones, as in
    real vocabularies, which also leaves room for millions of distinct words.
    """
    words: list[str] = []
    most = len(syllables) + 1
    table = np.array([*_SYLLABLES, ""])  # the last entry pads words with fewer syllables
    codas = np.array(_CODAS)
    while len(words) < n:
        m = n - len(words) + n // 8 + 16
        counts = rng.choice(np.arange(2, most + 1), p=syllables, size=m)
        parts = rng.integers(0, len(_SYLLABLES), size=(m, most))
        parts[np.arange(most) >= counts[:, None]] = len(_SYLLABLES)
        built = codas[rng.integers(0, len(_CODAS), size=m)]
        for j in range(most - 1, -1, -1):
            built = np.char.add(table[parts[:, j]], built)
        length = np.char.str_len(built)
        for word in built[(length >= 4) & (length <= 16)].tolist():
            if word not in taken:
                taken.add(word)
                words.append(word)
                if len(words) == n:
                    break
    return words


def _zipf_cdf(n: int, shift: float, exponent: float = 1.0) -> _FloatArray:
    weights = 1.0 / (np.arange(n, dtype=np.float64) + shift) ** exponent
    cdf = np.cumsum(weights)
    out: _FloatArray = cdf / cdf[-1]
    return out


def _general_weights(n: int) -> _FloatArray:
    """Rank weights of the general pool: ``1 / rank`` for the head, then a steeper tail."""
    rank = np.arange(n, dtype=np.float64) + _GENERAL_SHIFT
    knee = _GENERAL_HEAD + _GENERAL_SHIFT
    weights: _FloatArray = np.where(
        rank < knee, 1.0 / rank, (1.0 / knee) * (rank / knee) ** -_TAIL_EXPONENT
    )
    return weights


def _general_size(tokens: float) -> int:
    """Words in the general pool: enough that the rarest is expected ``_TAIL_UNSEEN`` times.

    The pool grows with the text (about ``tokens ** (1 / 1.6)``), so the vocabulary never
    runs out the way a fixed list does.
    """
    knee = _GENERAL_HEAD + _GENERAL_SHIFT
    head = float(_general_weights(_GENERAL_HEAD).sum())
    total = head + 1 / (_TAIL_EXPONENT - 1)  # the head's weights plus the tail's integral
    # tokens * weight(rank) / total = _TAIL_UNSEEN, with weight = (rank / knee)**-a / knee
    rank = knee * (tokens / (_TAIL_UNSEEN * total * knee)) ** (1 / _TAIL_EXPONENT)
    return int(min(_MAX_GENERAL, max(2 * _GENERAL_HEAD, rank - _GENERAL_SHIFT)))


def _author_pools(rng: np.random.Generator, n_sections: int) -> list[list[str]]:
    """Each section's bylines: 6-12 made-up first and last names."""
    taken: set[str] = set()
    pools: list[list[str]] = []
    for _ in range(n_sections):
        size = int(rng.integers(6, 13))
        first = _made_up_words(rng, size, taken, (0.6, 0.35, 0.05))
        last = _made_up_words(rng, size, taken, (0.6, 0.35, 0.05))
        pools.append(
            [f"{a.capitalize()} {b.capitalize()}" for a, b in zip(first, last, strict=True)]
        )
    return pools


def _make_vocabulary(
    rng: np.random.Generator, n_sections: int, n_subjects: int, n_stories: int, tokens: float
) -> _Vocabulary:
    """Word pools; ``tokens`` is the expected number of general-pool tokens in the sample.

    Real English: the function words, the general pool's most frequent words (the rest of it
    is made up, so the vocabulary keeps growing with the text as real vocabularies do), each
    section's words (its first :data:`_SECTION_VOCAB` topical words) and each subject's (150
    of its section's topical words, starting at a place of its own, so subjects of one
    section lean on different words). A story's words are made-up proper names (people,
    places, firms).
    """
    stop = list(dict.fromkeys(_STOP_WORDS))
    english = [w for w in dict.fromkeys((*_GENERAL_ENGLISH, *GENERAL.split())) if w not in stop]
    topical_words = _topical_words(tuple(stop), tuple(english))
    taken = set(stop) | set(english) | {w for ws in topical_words.values() for w in ws}
    n_general = _general_size(tokens)
    made_up = _made_up_words(rng, _GENERAL_HEAD - len(english), taken, (0.6, 0.35, 0.05))
    tail = _made_up_words(rng, n_general - _GENERAL_HEAD, taken, (0.25, 0.45, 0.25, 0.05))
    # real words take the most frequent ranks, the made-up ones the rarer ones
    general = [english[i] for i in rng.permutation(len(english)).tolist()]
    general += [made_up[i] for i in rng.permutation(len(made_up)).tolist()] + tail
    sections: list[str] = []
    for section in SECTIONS[:n_sections]:
        sections += topical_words[section][:_SECTION_VOCAB]
    subjects: list[str] = []
    for subject in range(n_subjects):
        home = subject % n_sections
        own = topical_words[SECTIONS[home]]
        # the k-th of a section's m subjects starts its ranks k/m of the way into the list:
        # while a section has few subjects, their frequent words differ
        k, m = subject // n_sections, len(range(home, n_subjects, n_sections))
        start = k * len(own) // m
        subjects += [own[(start + i) % len(own)] for i in range(_SUBJECT_VOCAB)]
    stories = [
        w.capitalize()
        for w in _made_up_words(rng, n_stories * _STORY_VOCAB, taken, (0.45, 0.4, 0.15))
    ]
    words = stop + general + sections + subjects + stories
    offsets = np.cumsum([0, len(stop), len(general), len(sections), len(subjects)]).tolist()
    general_cdf = np.cumsum(_general_weights(n_general))
    return _Vocabulary(
        words=np.array(words, dtype=object),
        stop=_Pool(offsets[0], len(stop), _zipf_cdf(len(stop), 1.5)),
        general=_Pool(offsets[1], n_general, general_cdf / general_cdf[-1]),
        section=_Pool(offsets[2], _SECTION_VOCAB, _zipf_cdf(_SECTION_VOCAB, 5.0)),
        subject=_Pool(offsets[3], _SUBJECT_VOCAB, _zipf_cdf(_SUBJECT_VOCAB, 2.0)),
        story=_Pool(offsets[4], _STORY_VOCAB, _zipf_cdf(_STORY_VOCAB, 1.0)),
        and_index=stop.index("and"),
    )


@cache
def _topical_words(stop: tuple[str, ...], english: tuple[str, ...]) -> dict[str, list[str]]:
    """Each section's topical words, in order: a word belongs to the first section listing
    it, and no function word or general word is taken."""
    seen = set(stop) | set(english)
    out: dict[str, list[str]] = {}
    for section in SECTIONS:
        words = [w for w in dict.fromkeys(TOPICAL[section].split()) if w not in seen]
        seen.update(words)
        out[section] = words
    return out


def _stories(
    rng: np.random.Generator, n_articles: int, start_s: int, span_s: int
) -> tuple[_IntArray, _IntArray]:
    """Publication times (sorted) and stories of ``n_articles`` articles.

    Stories start uniformly over the period (and a few days before it, so stories are already
    running when it opens); each has a log-normal size and its articles follow its start by
    exponential delays of a story-specific mean. Articles outside the period are not
    published in it; stories are drawn until the period holds ``n_articles``, and the last
    one is cut short. Stories are numbered in order of their first article.
    """
    cap = max(2, n_articles // _STORY_MAX_SHARE)
    low = min(_STORY_MIN, cap)
    lead = _STORY_LEAD * _STORY_GAP_DAYS * DAY
    end_s = start_s + span_s
    times: list[_IntArray] = []
    owners: list[_IntArray] = []
    total = n_stories = 0
    while total < n_articles:
        k = 2 * (n_articles - total) // int(_STORY_MEDIAN) + 16
        sizes = np.clip(np.rint(_STORY_MEDIAN * rng.lognormal(0.0, _STORY_SIGMA, k)), low, cap)
        sizes = sizes.astype(np.int64)
        gap = _STORY_GAP_DAYS * DAY * rng.lognormal(0.0, _STORY_GAP_SIGMA, k)
        begin = start_s - lead + rng.random(k) * (span_s + lead)
        owner = np.repeat(np.arange(k), sizes)
        t = np.floor(begin[owner] + rng.exponential(1.0, owner.size) * gap[owner])
        t = t.astype(np.int64)
        inside = (t >= start_s) & (t < end_s)
        t, owner = t[inside], owner[inside]
        counts = np.cumsum(np.bincount(owner, minlength=k))
        if total + counts[-1] >= n_articles:  # the last story needed is cut to fit
            last = int(np.searchsorted(counts, n_articles - total))
            keep = owner < last
            cut = np.flatnonzero(owner == last)
            cut = cut[np.argsort(t[cut], kind="stable")[: n_articles - total - keep.sum()]]
            keep[cut] = True
            t, owner = t[keep], owner[keep]
        times.append(t)
        owners.append(owner + n_stories)
        total += t.size
        n_stories += k
    published = np.concatenate(times)
    story = np.concatenate(owners)
    order = np.lexsort((story, published))
    published, story = published[order], story[order]
    ids, first = np.unique(story, return_index=True)
    number = np.empty(ids.size, dtype=np.int64)
    number[np.argsort(first, kind="stable")] = np.arange(ids.size)
    topic: _IntArray = number[np.searchsorted(ids, story)]
    return published, topic


def _make_catalog(
    rng: np.random.Generator,
    *,
    n_articles: int,
    n_sections: int,
    n_subjects: int,
    start_s: int,
    span_s: int,
    author_pools: list[list[str]],
) -> _Catalog:
    published, topic = _stories(rng, n_articles, start_s, span_s)
    n_stories = int(topic.max()) + 1
    subject_section = np.arange(n_subjects, dtype=np.int64) % n_sections
    # Some subjects are busier than others; each has a story when there are enough.
    weight = 1.0 / (rng.permutation(n_subjects) + 1.0) ** _SKEW
    story_subject = rng.choice(n_subjects, size=n_stories, p=weight / weight.sum())
    covered = min(n_stories, n_subjects)
    story_subject[rng.permutation(n_stories)[:covered]] = rng.permutation(n_subjects)[:covered]
    topic_section = subject_section[story_subject]
    status = rng.choice(len(_STATUS_NAMES), size=n_articles, p=_STATUS_P)
    if not (status == 0).any():
        status[0] = 0  # at least one article can be viewed
    popularity = 1.0 / (rng.permutation(n_articles) + 1.0) ** _POPULARITY_EXPONENT
    section = topic_section[topic]
    author_u = rng.random(n_articles)
    author_row = np.empty(n_articles, dtype=np.int64)
    for sec, pool in enumerate(author_pools):
        mine = section == sec
        cdf = _zipf_cdf(len(pool), 1.0, 0.8)  # a few prolific authors
        author_row[mine] = np.minimum(
            np.searchsorted(cdf, author_u[mine], side="right"), len(pool) - 1
        )
    authors = [
        author_pools[s][a] for s, a in zip(section.tolist(), author_row.tolist(), strict=True)
    ]
    return _Catalog(
        topic=topic.astype(np.int64),
        published=published.astype(np.int64),
        status=status.astype(np.int64),
        popularity=popularity.astype(np.float64),
        author=authors,
        topic_names=[],
        topic_subject=story_subject.astype(np.int64),
        topic_section=topic_section,
        sections=SECTIONS[:n_sections],
    )


# --- articles ------------------------------------------------------------------------------


def _draw_words(
    rng: np.random.Generator,
    vocab: _Vocabulary,
    stories: _IntArray,
    subjects: _IntArray,
    sections: _IntArray,
    mix: tuple[float, ...],
) -> _IntArray:
    """One word index per token, from the pool chosen with the shares of ``mix``."""
    pool = np.searchsorted(np.cumsum(mix)[:-1], rng.random(stories.size), side="right")
    u = rng.random(stories.size)
    words = np.empty(stories.size, dtype=np.int64)
    for k, (source, group) in enumerate(
        (
            (vocab.stop, None),
            (vocab.general, None),
            (vocab.section, sections),
            (vocab.subject, subjects),
            (vocab.story, stories),
        )
    ):
        mine = pool == k
        words[mine] = source.draw(0 if group is None else group[mine], u[mine])
    return words


def _repeat_words(
    rng: np.random.Generator, words: _IntArray, owner: _IntArray, first_content: int
) -> None:
    """Make words bursty, as in real text: a share of each body's content words (indices from
    ``first_content``) repeat one drawn earlier in the same body (``owner``, sorted)."""
    content = np.flatnonzero(words >= first_content)
    body = owner[content]
    first = np.searchsorted(body, body, side="left")
    before = np.arange(content.size) - first  # content words drawn earlier in the body
    u, v = rng.random(content.size), rng.random(content.size)
    repeat = (u < _P_REPEAT) & (before > 0)
    source = first[repeat] + (v[repeat] * before[repeat]).astype(np.int64)
    words[content[repeat]] = words[content[source]]


def _render(words: NDArray[np.object_], tokens: _IntArray, variant: _IntArray) -> list[str]:
    """Token strings: ``words[tokens]`` in their variant.

    Variants: 0 plain, 1 sentence start, 2 sentence end, 3 one-word sentence, 4 followed by a
    comma, 5 possessive (with a numeric character reference), 6 ``&amp;`` (for "and").
    Only the distinct (word, variant) pairs that are not plain are built in Python.
    """
    strings = words[tokens]
    marked = np.flatnonzero(variant)
    if marked.size:
        keys, inverse = np.unique(tokens[marked] * 8 + variant[marked], return_inverse=True)
        built = [_variant(str(words[k >> 3]), k & 7) for k in keys.tolist()]
        strings[marked] = np.array(built, dtype=object)[inverse]
    out: list[str] = strings.tolist()
    return out


def _variant(word: str, kind: int) -> str:
    if kind == 1:
        return word.capitalize()
    if kind == 2:
        return word + "."
    if kind == 3:
        return word.capitalize() + "."
    if kind == 4:
        return word + ","
    if kind == 5:
        return word + "&#8217;s"
    return "&amp;"


def _article_lines(
    rng: np.random.Generator,
    vocab: _Vocabulary,
    catalog: _Catalog,
    id_width: int,
    words_per_article: int,
    progress: Any,
) -> Iterator[str]:
    n_articles = catalog.topic.size
    last_url: dict[int, str] = {}  # most recent published article per story, for links
    for lo in range(0, n_articles, _ARTICLE_CHUNK):
        hi = min(lo + _ARTICLE_CHUNK, n_articles)
        m = hi - lo
        stories = catalog.topic[lo:hi]
        subjects = catalog.topic_subject[stories]
        sections = catalog.topic_section[stories]

        # Bodies: token ids with punctuation variants, split into paragraphs.
        scale = np.clip(
            rng.lognormal(-(_BODY_SIGMA**2) / 2, _BODY_SIGMA, size=m), _MIN_BODY, _MAX_BODY
        )
        lengths = np.maximum(1, np.rint(words_per_article * scale).astype(np.int64))
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        owner = np.repeat(np.arange(m), lengths)
        words = _draw_words(rng, vocab, stories[owner], subjects[owner], sections[owner], _BODY_MIX)
        _repeat_words(rng, words, owner, vocab.general.offset)
        total = int(offsets[-1])
        last = np.zeros(total, dtype=bool)
        last[offsets[1:] - 1] = True
        sentence_end = (rng.random(total) < _P_SENTENCE_END) | last
        paragraph_end = (sentence_end & (rng.random(total) < _P_PARAGRAPH_END)) | last
        sentence_start = np.empty(total, dtype=bool)
        sentence_start[0] = True
        sentence_start[1:] = sentence_end[:-1]
        variant = sentence_start.astype(np.int64) + 2 * sentence_end.astype(np.int64)
        plain = variant == 0
        extra = rng.random(total)
        variant[plain & (extra < _P_COMMA)] = 4
        topical = words >= vocab.topical_offset
        variant[plain & topical & (extra > 1.0 - _P_POSSESSIVE)] = 5
        variant[plain & (words == vocab.and_index) & (rng.random(total) < _P_AMPERSAND)] = 6
        strings = _render(vocab.words, words, variant)
        para_ends = np.flatnonzero(paragraph_end) + 1
        para_lo = np.searchsorted(para_ends, offsets, side="right").tolist()
        para_ends_l: list[int] = para_ends.tolist()
        offsets_l: list[int] = offsets.tolist()

        # Titles: 6-10 words, mostly of the subject and story, ending on a story word.
        t_lengths = rng.integers(6, 11, size=m)
        t_offsets: list[int] = np.concatenate([[0], np.cumsum(t_lengths)]).tolist()
        t_owner = np.repeat(np.arange(m), t_lengths)
        t_words = _draw_words(
            rng, vocab, stories[t_owner], subjects[t_owner], sections[t_owner], _TITLE_MIX
        )
        t_words[np.cumsum(t_lengths) - 1] = vocab.story.draw(stories, rng.random(m))
        t_plain: list[str] = vocab.words[t_words].tolist()

        # Tags: 1-4 of the story's most frequent words, earlier ones more often.
        n_tags = rng.integers(1, 5, size=m).tolist()
        tag_order = np.argsort(
            rng.random((m, _N_TAG_CANDIDATES)) * (1.0 + 0.5 * np.arange(_N_TAG_CANDIDATES)),
            axis=1,
        ).tolist()

        decor = rng.random((m, 7)).tolist()
        published = _format_timestamps(catalog.published[lo:hi])
        stories_l: list[int] = stories.tolist()
        sections_l: list[int] = sections.tolist()
        status_l: list[int] = catalog.status[lo:hi].tolist()

        for i in range(m):
            row = lo + i
            article_id = f"a{row + 1:0{id_width}d}"
            story = stories_l[i]
            section = catalog.sections[sections_l[i]]
            status = _STATUS_NAMES[status_l[i]]
            title_words = t_plain[t_offsets[i] : t_offsets[i + 1]]
            title = " ".join([title_words[0].capitalize(), *title_words[1:]])
            slug = "-".join(title_words[:8]).lower()
            url = f"https://news.example.com/{section}/{slug}-{article_id}"
            story_base = vocab.story.offset + story * vocab.story.size
            tags = [str(vocab.words[story_base + k]).lower() for k in tag_order[i][: n_tags[i]]]

            bounds = [offsets_l[i], *para_ends_l[para_lo[i] : para_lo[i + 1]]]
            paragraphs = [strings[a:b] for a, b in pairwise(bounds)]
            u_link, u_para, u_len, u_pos, u_script, u_where, u_kind = decor[i]
            if u_link < _P_LINK:
                para = paragraphs[int(u_para * len(paragraphs))]
                span = 2 + int(u_len * 3)
                if len(para) > span:
                    j = int(u_pos * (len(para) - span))
                    href = last_url.get(story, f"https://data.example.org/{section}/{tags[0]}")
                    para[j] = f'<a href="{href}">{para[j]}'
                    para[j + span - 1] += "</a>"
            blocks = [f"<p>{' '.join(p)}</p>" for p in paragraphs]
            if u_script < _P_SCRIPT:
                script = _SCRIPTS[int(u_kind * len(_SCRIPTS))]
                script = script.replace("@SECTION@", section).replace("@ID@", article_id)
                blocks.insert(int(u_where * (len(blocks) + 1)), script)

            record = {
                "id": article_id,
                "title": title,
                "body": "\n".join(blocks),
                "category": section,
                "tags": tags,
                "author": catalog.author[row],
                "published_at": published[i],
                "url": url,
                "image_url": f"https://news.example.com/img/{article_id}.jpg",
                "status": status,
                "language": "en",
            }
            if status == "published":
                last_url[story] = url
            yield json.dumps(record) + "\n"
        if progress is not None:
            progress.update(m)
    if progress is not None:
        progress.close()


def _topic_lines(catalog: _Catalog, id_width: int) -> Iterator[str]:
    yield "article_id,topic,category\n"
    section_of_topic = [catalog.sections[s] for s in catalog.topic_section.tolist()]
    for row, topic in enumerate(catalog.topic.tolist()):
        yield f"a{row + 1:0{id_width}d},{catalog.topic_names[topic]},{section_of_topic[topic]}\n"


def _put_digits(buf: NDArray[np.uint8], col: int, values: _IntArray, width: int) -> None:
    """Write ``values`` zero padded to ``width`` digits at ``col``, four digits per lookup."""
    end = col + width
    while end > col:
        k = min(4, end - col)
        values, low = np.divmod(values, 10_000)
        buf[:, end - k : end] = _DIGITS4[low].view(np.uint8).reshape(-1, 4)[:, 4 - k :]
        end -= k


@cache
def _clock() -> NDArray[np.bytes_]:
    """``HH:MM:SS`` for every second of a day."""
    return np.array(
        [f"{s // HOUR:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY)], dtype="S8"
    )


def _put_timestamp(buf: NDArray[np.uint8], col: int, seconds: _IntArray) -> None:
    """Write ``YYYY-MM-DDTHH:MM:SSZ`` (UTC) at ``col`` by looking up dates and clock times."""
    if seconds.size == 0:
        return
    days, second_of_day = np.divmod(seconds, DAY)
    first = int(days.min())
    epoch = date(1970, 1, 1)
    dates = np.array(
        [(epoch + timedelta(days=d)).isoformat() for d in range(first, int(days.max()) + 1)],
        dtype="S10",
    )
    buf[:, col : col + 10] = dates[days - first].view(np.uint8).reshape(-1, 10)
    buf[:, col + 10] = ord("T")
    buf[:, col + 11 : col + 19] = _clock()[second_of_day].view(np.uint8).reshape(-1, 8)
    buf[:, col + 19] = ord("Z")


def _format_timestamps(seconds: _IntArray) -> list[str]:
    buf = np.empty((seconds.size, 20), dtype=np.uint8)
    _put_timestamp(buf, 0, seconds)
    return [row.decode("ascii") for row in buf.view("S20").ravel().tolist()]
