"""The catalog's texts as people see them, for what the end-to-end tests expect.

Tests compare the bot's replies with these rather than with literal wording, so that
rewording a message in views/locales/*/messages.po does not break them. Button labels
are plain catalog texts: press them with `t(language, key)`.
"""

from __future__ import annotations

from html import escape

from sandbox.formatting import parse_html
from views.i18n import t

__all__ = ["said", "t"]


def said(language: str, key: str, **values: object) -> str:
    """What the person reads for `key`: the values escaped as handlers escape user input,
    the HTML read as formatting (tags gone, entities unescaped), trimmed like Telegram."""
    escaped = {name: escape(v) if isinstance(v, str) else v for name, v in values.items()}
    return parse_html(t(language, key, **escaped))[0].strip()
