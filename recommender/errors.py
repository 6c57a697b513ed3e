"""Exceptions raised by the offline library.

The service maps them to HTTP responses in one place (``service/errors.py``).
"""

from __future__ import annotations


class NewsrecError(Exception):
    """Base class of every error the library raises on purpose."""


class DataError(NewsrecError):
    """An input file has a row that cannot be used.

    Parameters
    ----------
    path : str
        The file the row came from.
    line : int or None
        1-based line number in that file (``None`` when the problem is the whole file).
    field : str or None
        The field that was wrong, when one field is to blame.
    message : str
        What was wrong, in words a site operator understands.
    """

    def __init__(self, path: str, line: int | None, field: str | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        where = self.path if line is None else f"{self.path}:{line}"
        what = f"field {field!r}: {message}" if field else message
        super().__init__(f"{where}: {what}")


class BundleError(NewsrecError):
    """A model bundle is missing, truncated, or was written by an incompatible version."""


class UnknownArticleError(NewsrecError, KeyError):
    """An article id that the loaded model does not know."""

    def __init__(self, article_id: str) -> None:
        self.article_id = article_id
        super().__init__(article_id)

    def __str__(self) -> str:
        return f"unknown article: {self.article_id!r}"


class SettingError(NewsrecError, ValueError):
    """A setting has a value out of its bounds (:mod:`recommender.config`).

    Parameters
    ----------
    setting : str
        The setting's name (``coview_evidence``).
    value : object
        The value given.
    expected : str
        The bound in words (``a number above 0``).
    """

    def __init__(self, setting: str, value: object, expected: str) -> None:
        self.setting = setting
        self.value = value
        self.expected = expected
        #: What was wrong, without the setting's name (for errors that name it elsewhere).
        self.reason = f"must be {expected}, got {value!r}"
        super().__init__(f"{setting} {self.reason}")
