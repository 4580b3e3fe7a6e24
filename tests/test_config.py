"""Configuration: files, environment overrides, and one clear line for every mistake."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, bot_id, check_secrets, check_token, load_config

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
    env = {"BRANCHBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"}
    assert "empty" in _cli("db", "current", env=env, cwd=tmp_path).stdout
    upgraded = _cli("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "up to date" in _cli("db", "current", env=env, cwd=tmp_path).stdout


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
