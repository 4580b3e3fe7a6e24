"""Configuration: files, environment overrides, and one clear line for every mistake."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot.config import ConfigError, bot_id, check_secrets, check_token, load_config
from models import migrate
from models.db import create_engine

ROOT = Path(__file__).resolve().parent.parent
GOOD_TOKEN = "123456:ABCdef_ghi-jkl"
SECRET = "a-check-in-secret-for-tests"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "branchbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_file_is_complete_and_valid() -> None:
    config = load_config(ROOT / "config.example.toml", environ={})
    assert config.database.url == "sqlite+aiosqlite:///branchbot.db"
    assert config.bot.timezone == "Asia/Shanghai" and config.bot.language == "zh"
    assert config.telegram.bot_base_url == "https://api.telegram.org/bot"
    # Every key the loader knows is documented in the example, with its variable.
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    from dataclasses import fields

    from bot.config import Config, env_name

    for section in fields(Config):
        assert f"[{section.name}]" in text
        for key in fields(section.default_factory):  # type: ignore[misc]
            assert f"\n{key.name} = " in text, key.name
            assert env_name(section.name, key.name) in text, key.name


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config.webhook.port == 8080 and config.scheduler.enabled is True
    with pytest.raises(ConfigError, match=r"^telegram\.token: missing"):
        check_token(config)


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[webhook]\nport = 9000\n[bot]\nlanguage = "zh"\n')
    env = {
        "BRANCHBOT_TOKEN": GOOD_TOKEN,
        "BRANCHBOT_WEBHOOK_PORT": "9443",
        "BRANCHBOT_BOT_LANGUAGE": "en",
        "BRANCHBOT_SCHEDULER_ENABLED": "false",
        "BRANCHBOT_TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/",
    }
    config = load_config(path, environ=env)
    check_token(config)
    assert config.telegram.token == GOOD_TOKEN
    assert config.webhook.port == 9443
    assert config.bot.language == "en"
    assert config.scheduler.enabled is False
    assert config.telegram.bot_base_url == "http://127.0.0.1:8081/bot"


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[logging]\nlevel = "DEBUG"\n')
    assert load_config(environ={"BRANCHBOT_CONFIG": str(path)}).logging.level == "DEBUG"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ('[telegram]\ntokn = "x"\n', {}, r"^telegram\.tokn: unknown key$"),
        ("[nonsense]\n", {}, r"^nonsense: unknown section"),
        ('webhook = "x"\n', {}, r"^webhook: expected a \[webhook\] table"),
        ('[webhook]\nport = "eighty"\n', {}, r"^webhook\.port: expected a whole number"),
        ("[webhook]\nport = 70000\n", {}, r"^webhook\.port: expected 1-65535"),
        ("[database]\nauto_migrate = 1\n", {}, r"^database\.auto_migrate: expected true or false"),
        ('[database]\nurl = "mysql://x"\n', {}, r"^database\.url: expected sqlite"),
        (
            '[telegram]\napi_base_url = "not a url"\n',
            {},
            r"^telegram\.api_base_url: .* not a valid",
        ),
        ('[bot]\ntimezone = "Mars/Olympus"\n', {}, r"^bot\.timezone: unknown time zone"),
        ('[bot]\nlanguage = "fr"\n', {}, r"^bot\.language: expected one of zh, en"),
        ('[logging]\nlevel = "LOUD"\n', {}, r"^logging\.level: expected one of"),
        ('[scheduler]\nquiet_hours_start = "25:00"\n', {}, r"^scheduler\.quiet_hours_start"),
        ("[scheduler]\ndigest_hour = 24\n", {}, r"^scheduler\.digest_hour: expected 0-23"),
        ("[bot]\nlanes = 0\n", {}, r"^bot\.lanes: expected 1-32, got 0$"),
        ("", {"BRANCHBOT_BOT_LANES": "64"}, r"^bot\.lanes: expected 1-32, got 64$"),
        ('[webhook]\nsecret_token = "has spaces"\n', {}, r"^webhook\.secret_token: use"),
        ("this is = = not toml", {}, r"not valid TOML"),
        ("", {"BRANCHBOT_WEBHOOK_PORT": "x"}, r"BRANCHBOT_WEBHOOK_PORT\): expected a whole"),
        ("", {"BRANCHBOT_WEBHOOK_PORT": "9" * 5000}, r"PORT\): expected a whole number"),
        ("", {"BRANCHBOT_WEBHOOK_PORT": "²"}, r"PORT\): expected a whole number"),
        ("[webhook]\nport = " + "9" * 5000 + "\n", {}, r"not valid TOML"),
        ("", {"BRANCHBOT_DATABASE_AUTO_MIGRATE": "maybe"}, r"auto_migrate .*true or false"),
    ],
)
def test_bad_configuration_names_the_key(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text), environ=env)


@pytest.mark.parametrize(
    "token", ["not-a-token", "9" * 5000 + ":AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"]
)
def test_bad_token_shape(token: str) -> None:
    config = load_config(None, environ={"BRANCHBOT_TOKEN": token})
    with pytest.raises(ConfigError, match=r"^telegram\.token: does not look like"):
        check_token(config)


def test_the_bot_id_is_the_tokens_number() -> None:
    assert bot_id(load_config(None, environ={"BRANCHBOT_TOKEN": GOOD_TOKEN})) == int(
        GOOD_TOKEN.split(":")[0]
    )


def test_missing_named_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml", environ={})


def _cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **(env or {})},
        cwd=cwd,
        timeout=60,
    )


def test_cli_prints_one_line_and_exits_2_on_bad_config(tmp_path: Path) -> None:
    path = write(tmp_path, "[webhook]\nport = 0\n")
    result = _cli("--config", str(path), "check-config", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "branchbot: configuration error: webhook.port: expected 1-65535, got 0"
    ]
    assert "Traceback" not in result.stderr


def test_cli_config_option_after_the_subcommand(tmp_path: Path) -> None:
    path = write(tmp_path, f'[telegram]\ntoken = "123:abc"\n[checkin]\nsecret = "{SECRET}"\n')
    result = _cli("check-config", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "configuration is valid" in result.stdout


def test_cli_run_without_token(tmp_path: Path) -> None:
    result = _cli("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "telegram.token: missing" in result.stderr and "Traceback" not in result.stderr


def test_cli_run_without_a_check_in_secret(tmp_path: Path) -> None:
    result = _cli("run", env={"BRANCHBOT_TOKEN": GOOD_TOKEN}, cwd=tmp_path)
    assert result.returncode == 2
    assert "checkin.secret: missing" in result.stderr and "Traceback" not in result.stderr
    assert "BRANCHBOT_CHECKIN_SECRET" in result.stderr


def test_a_short_check_in_secret_and_a_bad_qr_period_are_named() -> None:
    config = load_config(
        None, environ={"BRANCHBOT_TOKEN": GOOD_TOKEN, "BRANCHBOT_CHECKIN_SECRET": "short"}
    )
    with pytest.raises(ConfigError, match=r"^checkin\.secret: too short"):
        check_secrets(config)
    with pytest.raises(ConfigError, match=r"^checkin\.qr_seconds: expected 20-600, got 5"):
        load_config(None, environ={"BRANCHBOT_CHECKIN_QR_SECONDS": "5"})
    check_secrets(
        load_config(
            None, environ={"BRANCHBOT_TOKEN": GOOD_TOKEN, "BRANCHBOT_CHECKIN_SECRET": SECRET}
        )
    )


def test_cli_webhook_needs_a_secret(tmp_path: Path) -> None:
    env = {"BRANCHBOT_TOKEN": GOOD_TOKEN, "BRANCHBOT_CHECKIN_SECRET": SECRET}
    result = _cli("run", "--webhook", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "webhook.secret_token: required with --webhook" in result.stderr


def test_cli_db_upgrade_and_current(tmp_path: Path) -> None:
    """`db current` fails (status 1) while the schema is absent or behind: a deployment
    script can ask it whether `db upgrade` is due."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"
    env = {"BRANCHBOT_DATABASE_URL": url}
    empty = _cli("db", "current", env=env, cwd=tmp_path)
    assert (empty.returncode, empty.stdout) == (1, "no schema yet; run: branchbot db upgrade\n")
    first = ScriptDirectory.from_config(migrate.alembic_config()).get_base()
    assert isinstance(first, str)
    asyncio.run(_upgrade_to(url, first))
    behind = _cli("db", "current", env=env, cwd=tmp_path)
    assert behind.returncode == 1
    assert behind.stdout == (
        f"{first}, behind this branchbot's {migrate.head_revision()}; run: branchbot db upgrade\n"
    )
    upgraded = _cli("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout == f"database at revision {migrate.head_revision()}\n"
    current = _cli("db", "current", env=env, cwd=tmp_path)
    assert (current.returncode, current.stdout) == (0, f"{migrate.head_revision()} (up to date)\n")


async def _upgrade_to(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine, revision)
    finally:
        await engine.dispose()


def test_org_and_admin_leave_the_schema_alone_without_auto_migrate(tmp_path: Path) -> None:
    database = tmp_path / "b.db"
    env = {
        "BRANCHBOT_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "BRANCHBOT_DATABASE_AUTO_MIGRATE": "false",
    }
    for argv in (("org", "list"), ("admin", "list")):
        result = _cli(*argv, env=env, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            "branchbot: the database has no schema yet; run `branchbot db upgrade` "
            "(database.auto_migrate = false: nothing migrates it on its own)"
        ]
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    assert _cli("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    listed = _cli("org", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0 and "no units yet" in listed.stdout


def test_cli_version(tmp_path: Path) -> None:
    result = _cli("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"branchbot {version('branchbot')}\n")
    assert re.fullmatch(r"\d+\.\d+\.\d+", version("branchbot"))


def test_check_config_says_what_it_read_and_passes_the_shipped_example(tmp_path: Path) -> None:
    example = ROOT / "config.example.toml"
    result = _cli("check-config", "--config", str(example), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"read {example}",
        "configuration is valid",
        "not set yet, needed to run: telegram.token (BRANCHBOT_TOKEN)",
        "not set yet, needed to run: checkin.secret (BRANCHBOT_CHECKIN_SECRET)",
    ]
    secrets = {"BRANCHBOT_TOKEN": GOOD_TOKEN, "BRANCHBOT_CHECKIN_SECRET": SECRET}
    ready = _cli("check-config", "--config", str(example), env=secrets, cwd=tmp_path)
    assert ready.stdout.splitlines() == [f"read {example}", "configuration is valid"]
    alone = _cli("check-config", cwd=tmp_path)
    assert alone.stdout.splitlines()[0] == "no configuration file: defaults and environment"
    write(tmp_path, "")  # ./branchbot.toml is read when present
    found = _cli("check-config", cwd=tmp_path)
    assert found.stdout.splitlines()[0] == "read branchbot.toml"


def test_check_config_webhook_asks_what_run_webhook_asks(tmp_path: Path) -> None:
    """check-config once passed what `run --webhook` then refused (no secret token)."""
    example = str(ROOT / "config.example.toml")
    secrets = {"BRANCHBOT_TOKEN": GOOD_TOKEN, "BRANCHBOT_CHECKIN_SECRET": SECRET}
    without = _cli("check-config", "--webhook", "--config", example, env=secrets, cwd=tmp_path)
    assert without.returncode == 2
    assert without.stderr.splitlines() == [
        "branchbot: configuration error: webhook.secret_token: required with --webhook; set it "
        "in the config file or in BRANCHBOT_WEBHOOK_SECRET_TOKEN (1-256 of A-Z, a-z, 0-9, _ and -)"
    ]
    with_secret = {**secrets, "BRANCHBOT_WEBHOOK_SECRET_TOKEN": "s3cret_token"}
    ready = _cli("check-config", "--webhook", "--config", example, env=with_secret, cwd=tmp_path)
    assert ready.returncode == 0, ready.stderr
    no_token = _cli("check-config", "--webhook", "--config", example, cwd=tmp_path)
    assert no_token.returncode == 2 and "telegram.token: missing" in no_token.stderr


@pytest.mark.parametrize("listen", ["127.0.0.1:8080", "0.0.0.0.0", "256.1.1.1", "", "my host"])
def test_an_address_that_cannot_be_listened_on_is_refused(listen: str) -> None:
    with pytest.raises(ConfigError, match=r"^webhook\.listen: .* is not an address to listen on"):
        load_config(None, environ={"BRANCHBOT_WEBHOOK_LISTEN": listen})


@pytest.mark.parametrize("listen", ["127.0.0.1", "0.0.0.0", "::", "::1", "localhost", "bot-1"])
def test_addresses_to_listen_on(listen: str) -> None:
    assert load_config(None, environ={"BRANCHBOT_WEBHOOK_LISTEN": listen}).webhook.listen == listen


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:18081/bot",
        "http://127.0.0.1:18081/bot/",
        f"https://api.telegram.org/bot{GOOD_TOKEN}",
    ],
)
def test_a_python_telegram_bot_style_base_url_is_named_as_the_mistake(url: str) -> None:
    """It was reported as "telegram.token: rejected by the Bot API"."""
    with pytest.raises(ConfigError) as caught:
        load_config(None, environ={"BRANCHBOT_TELEGRAM_API_BASE_URL": url})
    message = str(caught.value)
    assert message.startswith("telegram.api_base_url: ends in /bot like python-telegram-bot's")
    assert "branchbot adds /bot<token> itself" in message
    assert GOOD_TOKEN not in message  # the token never reaches an error line
    for fine in ("https://api.telegram.org", "https://proxy.example/robot", "http://h:1/tg/"):
        load_config(None, environ={"BRANCHBOT_TELEGRAM_API_BASE_URL": fine})


def test_cli_help_documents_every_command(tmp_path: Path) -> None:
    out = _cli("--help", cwd=tmp_path).stdout
    for command in ("run", "db", "check-config"):
        assert command in out
    assert "--webhook" in _cli("run", "--help", cwd=tmp_path).stdout
    db_help = _cli("db", "--help", cwd=tmp_path).stdout
    assert "upgrade" in db_help and "current" in db_help


def test_the_remind_period_of_notices_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"^notices\.remind_every_hours: expected 1-168, got 0"):
        load_config(None, environ={"BRANCHBOT_NOTICES_REMIND_EVERY_HOURS": "0"})
    config = load_config(None, environ={"BRANCHBOT_NOTICES_REMIND_EVERY_HOURS": "24"})
    assert config.notices.remind_every_hours == 24
