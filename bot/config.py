"""Configuration: a TOML file, then environment variables, checked before anything starts.

Every key has a safe default except the bot token. A broken value is reported as
one line naming the key (`ConfigError`), never as a traceback.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from views.i18n import LANGUAGES, Defaults

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TOKEN_ENV = "BRANCHBOT_TOKEN"
CONFIG_ENV = "BRANCHBOT_CONFIG"
DEFAULT_CONFIG_FILE = "branchbot.toml"
# The bot's id, then its secret. Telegram ids have at most 52 bits: 16 digits.
# ASCII digits, and few enough for int() (which refuses more than 4,300).
_WHOLE_NUMBER = re.compile(r"^-?[0-9]{1,18}$")
_TOKEN_SHAPE = re.compile(r"^\d{1,16}:[A-Za-z0-9_-]+$")


class ConfigError(Exception):
    """A configuration problem, worded for the person who wrote the file."""


@dataclass(frozen=True)
class TelegramConfig:
    token: str = ""
    api_base_url: str = "https://api.telegram.org"

    @property
    def bot_base_url(self) -> str:
        return f"{self.api_base_url.rstrip('/')}/bot"

    @property
    def file_base_url(self) -> str:
        return f"{self.api_base_url.rstrip('/')}/file/bot"


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite+aiosqlite:///branchbot.db"
    auto_migrate: bool = True


@dataclass(frozen=True)
class BotConfig:
    timezone: str = "Asia/Shanghai"
    language: str = "zh"
    # Chats whose updates are handled side by side (bot.app.UpdateInbox).
    lanes: int = 8

    @property
    def defaults(self) -> Defaults:
        return Defaults(language=self.language, timezone=self.timezone)


@dataclass(frozen=True)
class WebhookConfig:
    listen: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    secret_token: str = ""
    path: str = "/telegram"


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"


@dataclass(frozen=True)
class SchedulerConfig:
    enabled: bool = True
    quiet_hours_start: str = "22:00"
    quiet_hours_end: str = "08:00"
    digest_hour: int = 8
    messages_per_second: int = 25


@dataclass(frozen=True)
class CheckInConfig:
    # Signs the rotating QR codes of check-in screens (models.attendance.tokens).
    secret: str = ""
    qr_seconds: int = 60


@dataclass(frozen=True)
class NoticesConfig:
    # A notice's Remind sends again only after this many hours.
    remind_every_hours: int = 6


@dataclass(frozen=True)
class Config:
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    checkin: CheckInConfig = field(default_factory=CheckInConfig)
    notices: NoticesConfig = field(default_factory=NoticesConfig)


def env_name(section: str, key: str) -> str:
    """The environment variable that overrides `[section] key`."""
    if (section, key) == ("telegram", "token"):
        return TOKEN_ENV
    return f"BRANCHBOT_{section.upper()}_{key.upper()}"


def _convert(key: str, raw: Any, kind: type, from_env: bool) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if from_env and isinstance(raw, str) and raw.lower() in ("1", "true", "yes", "on"):
            return True
        if from_env and isinstance(raw, str) and raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key}: expected true or false, got {raw!r}")
    if kind is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if from_env and isinstance(raw, str) and _WHOLE_NUMBER.match(raw.strip()):
            return int(raw)
        raise ConfigError(f"{key}: expected a whole number, got {raw!r}")
    if not isinstance(raw, str):
        raise ConfigError(f"{key}: expected a string, got {raw!r}")
    return raw


def _check_url(key: str, value: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(f"{key}: {value!r} is not a valid {' or '.join(schemes)} URL")


def _check_hhmm(key: str, value: str) -> None:
    try:
        time.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{key}: expected a time like 22:00, got {value!r}") from None


# A host name as in RFC 1123: labels of letters, digits and inner hyphens.
_HOST_NAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$")


def _check_listen(value: str) -> None:
    try:
        ipaddress.ip_address(value)
        return
    except ValueError:
        pass
    if not _HOST_NAME.match(value) or value.replace(".", "").isdigit():
        raise ConfigError(
            f"webhook.listen: {value!r} is not an address to listen on "
            "(an IP address such as 127.0.0.1 or 0.0.0.0, or a host name; the port is "
            "webhook.port)"
        )


def _check_api_base_url(value: str) -> None:
    _check_url("telegram.api_base_url", value, ("http", "https"))
    path = urlsplit(value).path.rstrip("/")
    # python-telegram-bot's base_url ends in /bot; ours is the server's address.
    if re.search(r"/bot(\d+:[^/]*)?$", path):
        address = value[: value.rfind("/bot")]  # the token, if given, goes unsaid
        raise ConfigError(
            "telegram.api_base_url: ends in /bot like python-telegram-bot's base_url; give "
            f"the server's address only ({address}): branchbot adds /bot<token> itself"
        )


def _validate(config: Config) -> None:
    """Checks of meaning, after the types are right."""
    t, db, b, w = config.telegram, config.database, config.bot, config.webhook
    _check_api_base_url(t.api_base_url)
    if not db.url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(
            "database.url: expected sqlite+aiosqlite:///FILE or "
            f"postgresql+asyncpg://USER:PASSWORD@HOST/DB, got {db.url.split('://')[0]}://..."
        )
    try:
        ZoneInfo(b.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"bot.timezone: unknown time zone {b.timezone!r}") from None
    if b.language not in LANGUAGES:
        raise ConfigError(
            f"bot.language: expected one of {', '.join(LANGUAGES)}, got {b.language!r}"
        )
    if not 1 <= b.lanes <= MAX_LANES:
        raise ConfigError(f"bot.lanes: expected 1-{MAX_LANES}, got {b.lanes}")
    _check_listen(w.listen)
    if not 0 < w.port < 65536:
        raise ConfigError(f"webhook.port: expected 1-65535, got {w.port}")
    if w.public_url:
        _check_url("webhook.public_url", w.public_url, ("https", "http"))
    if not w.path.startswith("/"):
        raise ConfigError(f"webhook.path: must start with '/', got {w.path!r}")
    if w.secret_token and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", w.secret_token):
        raise ConfigError("webhook.secret_token: use 1-256 characters of A-Z, a-z, 0-9, _ and -")
    if config.logging.level.upper() not in LOG_LEVELS:
        raise ConfigError(
            f"logging.level: expected one of {', '.join(LOG_LEVELS)}, got {config.logging.level!r}"
        )
    s = config.scheduler
    _check_hhmm("scheduler.quiet_hours_start", s.quiet_hours_start)
    _check_hhmm("scheduler.quiet_hours_end", s.quiet_hours_end)
    if not 0 <= s.digest_hour <= 23:
        raise ConfigError(f"scheduler.digest_hour: expected 0-23, got {s.digest_hour}")
    low, high = QR_SECONDS_RANGE
    if not low <= config.checkin.qr_seconds <= high:
        raise ConfigError(
            f"checkin.qr_seconds: expected {low}-{high}, got {config.checkin.qr_seconds}"
        )
    if not 1 <= s.messages_per_second <= 1000:
        raise ConfigError(
            f"scheduler.messages_per_second: expected 1-1000, got {s.messages_per_second}"
        )
    if not 1 <= config.notices.remind_every_hours <= 168:
        raise ConfigError(
            f"notices.remind_every_hours: expected 1-168, got {config.notices.remind_every_hours}"
        )


QR_SECONDS_RANGE = (20, 600)
MAX_LANES = 32
SECRET_MIN_LENGTH = 16


def check_secrets(config: Config) -> None:
    """What running the bot needs beyond a valid file: the token and the check-in secret."""
    check_token(config)
    secret = config.checkin.secret
    if not secret:
        variable = env_name("checkin", "secret")
        raise ConfigError(
            f"checkin.secret: missing; set it in the config file or in {variable}"
            " (for example the output of: openssl rand -hex 32)"
        )
    if len(secret) < SECRET_MIN_LENGTH:
        raise ConfigError(f"checkin.secret: too short; use at least {SECRET_MIN_LENGTH} characters")


def check_webhook(config: Config) -> None:
    """What `run --webhook` needs beyond `check_secrets`: the secret Telegram sends."""
    if not config.webhook.secret_token:
        raise ConfigError(
            "webhook.secret_token: required with --webhook; set it in the config file or in "
            f"{env_name('webhook', 'secret_token')} (1-256 of A-Z, a-z, 0-9, _ and -)"
        )


def missing_secrets(config: Config) -> list[str]:
    """The secrets not set yet, each with where to set it (for `check-config`)."""
    missing = []
    if not config.telegram.token:
        missing.append(f"telegram.token ({env_name('telegram', 'token')})")
    if not config.checkin.secret:
        missing.append(f"checkin.secret ({env_name('checkin', 'secret')})")
    return missing


def check_token(config: Config) -> None:
    """The token is needed only to talk to Telegram, so commands like `db upgrade` skip this."""
    token = config.telegram.token
    if not token:
        raise ConfigError(f"telegram.token: missing; set it in the config file or in {TOKEN_ENV}")
    if not _TOKEN_SHAPE.match(token):
        raise ConfigError("telegram.token: does not look like a bot token (digits:letters)")


def bot_id(config: Config) -> int:
    """The bot's Telegram id: the part of its (checked) token before the ":"."""
    return int(config.telegram.token.split(":", 1)[0])


def config_path(path: str | Path | None, environ: dict[str, str] | None = None) -> Path | None:
    """The file `load_config` reads: `path`, else `$BRANCHBOT_CONFIG`, else
    `./branchbot.toml` when present; None: defaults and the environment only."""
    env = os.environ if environ is None else environ
    if path is None:
        path = env.get(CONFIG_ENV) or None
        if path is None and Path(DEFAULT_CONFIG_FILE).exists():
            path = DEFAULT_CONFIG_FILE
    return None if path is None else Path(path)


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read the file (if any, see `config_path`), apply environment overrides, validate.
    An explicitly named file must exist."""
    env = os.environ if environ is None else environ
    path = config_path(path, env)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file {path}: not found") from None
        except ValueError as exc:  # TOMLDecodeError, or an integer too long to read
            raise ConfigError(f"config file {path}: not valid TOML ({exc})") from None
        except OSError as exc:
            raise ConfigError(f"config file {path}: cannot be read ({exc.strerror})") from None

    sections: dict[str, Any] = {}
    known = {f.name: f.type for f in fields(Config)}
    for name in data:
        if name not in known:
            raise ConfigError(f"{name}: unknown section (known: {', '.join(known)})")
    for section_field in fields(Config):
        section_cls = section_field.default_factory  # type: ignore[misc]
        raw_section = data.get(section_field.name, {})
        if not isinstance(raw_section, dict):
            raise ConfigError(f"{section_field.name}: expected a [{section_field.name}] table")
        key_types = {f.name: f.type for f in fields(section_cls)}
        for key in raw_section:
            if key not in key_types:
                raise ConfigError(f"{section_field.name}.{key}: unknown key")
        values: dict[str, Any] = {}
        for key, type_name in key_types.items():
            kind = {"str": str, "int": int, "bool": bool}[type_name]
            dotted = f"{section_field.name}.{key}"
            variable = env_name(section_field.name, key)
            if variable in env:
                values[key] = _convert(f"{dotted} (from {variable})", env[variable], kind, True)
            elif key in raw_section:
                values[key] = _convert(dotted, raw_section[key], kind, False)
        sections[section_field.name] = section_cls(**values)
    config = Config(**sections)
    _validate(config)
    return config
