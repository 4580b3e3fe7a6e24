"""The catalog: gettext files (`views/locales/<lang>/LC_MESSAGES/messages.po`) read with Babel.

Message ids are symbolic keys ("help.member"), so the English text can change
without touching the Chinese catalog. Texts are HTML (the bot sends with
parse_mode HTML) and use `{name}` placeholders; callers escape user-supplied
values before passing them in.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from sqlalchemy import ColumnElement, case, func, literal, or_

LANGUAGES = ("zh", "en")
LOCALES = Path(__file__).with_name("locales")


def catalog_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


def read_catalog(language: str) -> Catalog:
    with catalog_path(language).open("rb") as fh:
        return read_po(fh, locale=language)


@cache
def _translations(language: str) -> Translations:
    # Compiled in memory from the .po file: there is no build step to forget.
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(language))
    buffer.seek(0)
    return Translations(buffer)


def t(language: str, key: str, **values: object) -> str:
    """The text for `key` in `language`, with `values` filled in."""
    text = _translations(language).gettext(key)
    return text.format(**values) if values else text


def all_keys(language: str) -> set[str]:
    return {str(m.id) for m in read_catalog(language) if m.id}


def pick_language(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """The user's own choice first, then their Telegram app's language, then the default."""
    if chosen in LANGUAGES:
        return chosen
    if telegram_code:
        base = telegram_code.lower().split("-")[0]
        if base in LANGUAGES:
            return base
    return default


def picked_language_sql(
    chosen: ColumnElement[str | None], telegram_code: ColumnElement[str | None], default: str
) -> ColumnElement[str]:
    """`pick_language` in SQL, for copies the database writes itself (one message to a
    whole audience, models.outbox.enqueue_to_members); tests hold the two to one answer."""
    code = func.lower(telegram_code)
    return case(
        (chosen.in_(LANGUAGES), chosen),
        *((or_(code == language, code.like(f"{language}-%")), language) for language in LANGUAGES),
        else_=literal(default),
    )


@dataclass(frozen=True)
class Defaults:
    """What applies when a person or a unit has not said: from `[bot]` in the configuration."""

    language: str = "zh"
    timezone: str = "Asia/Shanghai"
