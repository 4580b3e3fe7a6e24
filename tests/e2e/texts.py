"""The catalog's texts as people see them, for what the end-to-end tests expect.

Tests compare the bot's replies with these rather than with literal wording, so that
rewording a message in views/locales/*/messages.po does not break them. Button labels
are plain catalog texts: press them with `t(language, key)`.
"""

from __future__ import annotations

from html import escape

from sandbox.formatting import parse_html
from views.i18n import t

__all__ = ["said", "said_page", "t"]


def _read(html_text: str) -> str:
    """The HTML read as formatting (tags gone, entities unescaped), trimmed like Telegram."""
    return parse_html(html_text)[0].strip()


def _escaped(values: dict[str, object]) -> dict[str, object]:
    return {name: escape(v) if isinstance(v, str) else v for name, v in values.items()}


def said(language: str, key: str, **values: object) -> str:
    """What the person reads for `key`: the values escaped as handlers escape user input."""
    return _read(t(language, key, **_escaped(values)))


def said_page(language: str, key: str, page: int, pages: int, **values: object) -> str:
    """The first line of a list of `pages` pages: its title `key` and which page it is."""
    title = t(language, key, **_escaped(values))
    return _read(t(language, "list.page", title=title, page=page, pages=pages))
