"""The deployment kit in deploy/, checked by the programs that will read it.

Needs, besides PyYAML: systemd-analyze, caddy, nginx, openssl, sqlite3 and
docker-compose (the Debian packages systemd, caddy, nginx, openssl, sqlite3 and
docker-compose). A missing one fails its tests, naming the package.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from bot.config import (
    Config,
    ConfigError,
    check_secrets,
    check_webhook,
    env_name,
    load_config,
)

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
UNITS = ["branchbot.service", "branchbot-backup.service", "branchbot-backup.timer"]
VENV_BRANCHBOT = "/opt/branchbot/.venv/bin/branchbot"
# Made by another change (pip-compile output with --hash lines); the Dockerfile needs it.
LOCK_FILE = "requirements/runtime.txt"
REPLICAS = ["bot-1", "bot-2"]
# What deploy/.env.example leaves empty, filled in as a user would.
FILLED_IN = {
    "BRANCHBOT_DOMAIN": "bot.example.org",
    "BRANCHBOT_TOKEN": "123456:ABCdef_ghi-jkl",
    "BRANCHBOT_CHECKIN_SECRET": "0123456789abcdef0123456789abcdef",
    "BRANCHBOT_WEBHOOK_SECRET_TOKEN": "a-secret-token_for-tests",
    "POSTGRES_PASSWORD": "0123456789abcdef",
}


def tool(name: str, package: str) -> str:
    path = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if path is None:
        pytest.fail(f"{name} not found: install the Debian package {package!r} (apt-get install)")
    return path


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kwargs)


def yaml_load(text: str) -> Any:
    try:
        import yaml
    except ImportError:
        pytest.fail("PyYAML is missing: pip install pyyaml (a test dependency of branchbot)")
    return yaml.safe_load(text)


def config_variables() -> set[str]:
    """Every environment variable bot.config reads."""
    names = {"BRANCHBOT_CONFIG"}
    for section in fields(Config):
        for key in fields(section.default_factory):  # type: ignore[arg-type]
            names.add(env_name(section.name, key.name))
    return names


def env_file(path: Path) -> dict[str, str]:
    """KEY=value lines; commented-out `#KEY=value` lines count, with the value ''."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"(#?)([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            values[match[2]] = "" if match[1] else match[3]
    return values


def unit_settings(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of a unit file, in order (keys may repeat)."""
    settings, section = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.append((section, key.strip(), value.strip()))
    return settings


def values_of(path: Path, key: str) -> list[str]:
    return [value for _, name, value in unit_settings(path) if name == key]


# systemd


def units_for_verify(folder: Path) -> Path:
    """The units in `folder`, with branchbot's path in the virtualenv pointing at an
    executable that exists: `systemd-analyze verify` refuses a missing ExecStart."""
    folder.mkdir()
    fake = folder / "branchbot"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    for name in UNITS:
        text = (SYSTEMD / name).read_text(encoding="utf-8")
        (folder / name).write_text(text.replace(VENV_BRANCHBOT, str(fake)), encoding="utf-8")
    return folder


def verify(*units: Path) -> tuple[int, list[str]]:
    """systemd-analyze verify's exit status and the lines it printed about our units:
    it reports a setting it cannot parse or an unknown key with exit status 0."""
    analyze = tool("systemd-analyze", "systemd")
    result = run([analyze, "verify", "--man=no", *map(str, units)])
    names = {unit.name for unit in units} | {str(unit.parent) for unit in units}
    lines = (result.stdout + result.stderr).splitlines()
    return result.returncode, [line for line in lines if any(name in line for name in names)]


def test_the_unit_runs_the_bot_as_deploy_readme_says() -> None:
    unit = SYSTEMD / "branchbot.service"
    assert values_of(unit, "User") == ["branchbot"]
    assert values_of(unit, "Restart")[0] in ("on-failure", "always")
    assert values_of(unit, "RestartSec")
    # A configuration error (exit status 2) is not retried in a loop.
    assert values_of(unit, "RestartPreventExitStatus") == ["2"]
    assert values_of(unit, "EnvironmentFile") == ["/etc/branchbot/env"]
    assert "BRANCHBOT_CONFIG=/etc/branchbot/branchbot.toml" in values_of(unit, "Environment")
    assert values_of(unit, "ExecStartPre") == [f"{VENV_BRANCHBOT} db upgrade"]
    assert values_of(unit, "ExecStart") == [f"{VENV_BRANCHBOT} run --webhook"]
    assert values_of(unit, "StateDirectory") == ["branchbot"]
    assert values_of(unit, "WorkingDirectory") == ["/var/lib/branchbot"]
    for key, value in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
    ]:
        assert values_of(unit, key) == [value], key


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    folder = units_for_verify(tmp_path / "units")
    status, problems = verify(*(folder / name for name in UNITS))
    assert (status, problems) == (0, [])


def test_verify_reports_what_it_cannot_read(tmp_path: Path) -> None:
    """So that the check above can fail: a misspelt key and a bad value, reported with
    exit status 0 yet named in the output."""
    folder = units_for_verify(tmp_path / "units")
    unit = folder / "branchbot.service"
    text = unit.read_text().replace("ProtectSystem=strict", "ProtectSytem=strict")
    unit.write_text(text.replace("Restart=on-failure", "Restart=sometimes"))
    _, problems = verify(unit)
    assert any("Unknown key 'ProtectSytem'" in line for line in problems), problems
    assert any("sometimes" in line for line in problems), problems


def test_the_polling_drop_in_replaces_the_webhook(tmp_path: Path) -> None:
    folder = units_for_verify(tmp_path / "units")
    drop_in = (SYSTEMD / "polling.conf").read_text(encoding="utf-8")
    assert values_of(SYSTEMD / "polling.conf", "ExecStart") == ["", f"{VENV_BRANCHBOT} run"]
    (folder / "branchbot.service.d").mkdir()
    conf = folder / "branchbot.service.d" / "polling.conf"
    conf.write_text(drop_in.replace(VENV_BRANCHBOT, str(folder / "branchbot")))
    assert verify(folder / "branchbot.service") == (0, [])
    # verify reads the drop-in: without the line that clears ExecStart, two are refused.
    conf.write_text(re.sub(r"(?m)^ExecStart=\n", "", conf.read_text()))
    status, problems = verify(folder / "branchbot.service")
    assert status != 0
    assert any("more than one ExecStart" in line for line in problems), problems


@pytest.mark.parametrize("name", ["branchbot.service", "branchbot-backup.service"])
def test_the_services_are_hardened(tmp_path: Path, name: str) -> None:
    folder = units_for_verify(tmp_path / "units")
    analyze = tool("systemd-analyze", "systemd")
    result = run([analyze, "security", "--offline=yes", str(folder / name)])
    match = re.search(rf"Overall exposure level for {re.escape(name)}: ([\d.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match[1]) <= 2.0, result.stdout  # 0 is the best, 10 the worst


def test_the_systemd_configuration_and_environment_are_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./branchbot.toml of the developer's
    env = env_file(SYSTEMD / "env.example")
    assert env, "no KEY=value lines"
    assert set(env) <= config_variables()
    assert not any(env.values()), f"placeholders only, no values: {env}"
    environ = {
        "BRANCHBOT_CONFIG": str(SYSTEMD / "branchbot.toml"),
        **{key: value for key, value in env.items() if value},
    }
    config = load_config(None, environ)
    with pytest.raises(ConfigError):  # the empty placeholders refuse to start
        check_secrets(config)
    for key in ("BRANCHBOT_TOKEN", "BRANCHBOT_CHECKIN_SECRET", "BRANCHBOT_WEBHOOK_SECRET_TOKEN"):
        assert key in env
        environ[key] = FILLED_IN[key]
    unit = SYSTEMD / "branchbot.service"
    for setting in values_of(unit, "Environment"):
        key, _, value = setting.partition("=")
        if key != "BRANCHBOT_CONFIG":  # /etc/branchbot/branchbot.toml: the file tested here
            environ[key] = value
    config = load_config(None, environ)
    check_secrets(config)
    check_webhook(config)
    assert config.database.url == "sqlite+aiosqlite:////var/lib/branchbot/branchbot.db"
    assert config.database.auto_migrate is False  # ExecStartPre migrates
    assert config.webhook.listen == "127.0.0.1"
    assert config.webhook.public_url.startswith("https://")


def test_the_sqlite_backup_copies_a_live_database(tmp_path: Path) -> None:
    """The backup service's commands, run on a database in WAL mode with its writes not
    yet in the main file, where a plain copy of the file would miss them."""
    sqlite = tool("sqlite3", "sqlite3")
    state, backups = tmp_path / "state", tmp_path / "backups"
    state.mkdir()
    backups.mkdir()
    live = sqlite3.connect(state / "branchbot.db", isolation_level=None)
    try:
        live.execute("PRAGMA journal_mode=WAL")
        live.execute("PRAGMA wal_autocheckpoint=0")
        live.execute("CREATE TABLE member (id INTEGER PRIMARY KEY, name TEXT)")
        live.executemany("INSERT INTO member (name) VALUES (?)", [(f"m{i}",) for i in range(50)])
        shutil.copyfile(state / "branchbot.db", tmp_path / "cp.db")
        copied = sqlite3.connect(tmp_path / "cp.db")
        assert copied.execute("SELECT name FROM sqlite_master").fetchall() == []
        copied.close()

        unit = SYSTEMD / "branchbot-backup.service"
        commands = values_of(unit, "ExecStart")
        assert any(".backup" in command for command in commands)
        for command in commands:
            command = command.replace("$$", "$").replace("%%", "%")
            command = command.replace("/var/lib/branchbot", str(state))
            command = command.replace("/var/backups/branchbot", str(backups))
            args = shlex.split(command)
            result = run(args, env={**os.environ, "PATH": f"{Path(sqlite).parent}:/usr/bin:/bin"})
            assert result.returncode == 0, (command, result.stderr)
    finally:
        live.close()
    [backup] = backups.glob("branchbot-*.db")
    assert re.fullmatch(r"branchbot-\d{4}-\d\d-\d\d\.db", backup.name)
    copy = sqlite3.connect(backup)
    assert copy.execute("SELECT count(*) FROM member").fetchone() == (50,)
    copy.close()


# Caddy


def caddy(tmp_path: Path, command: str, **env: str) -> subprocess.CompletedProcess[str]:
    binary = tool("caddy", "caddy")
    shutil.copy(DEPLOY / "Caddyfile", tmp_path / "Caddyfile")
    home = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    environ = {"PATH": os.environ.get("PATH", ""), **home, **env}
    args = [binary, command, "--adapter", "caddyfile", "--config", str(tmp_path / "Caddyfile")]
    return run(args, env=environ, cwd=tmp_path)


def find(tree: Any, wanted: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The handlers named `wanted` in Caddy's JSON, each with the `match` blocks of the
    routes around it, outermost first."""
    found = []

    def walk(node: Any, matches: list[dict[str, Any]]) -> None:
        if isinstance(node, dict):
            if node.get("handler") == wanted:
                found.append((node, matches))
            inner = matches + node.get("match", []) if "match" in node else matches
            for value in node.values():
                walk(value, inner)
        elif isinstance(node, list):
            for value in node:
                walk(value, matches)

    walk(tree, [])
    return found


def test_the_caddyfile_is_valid(tmp_path: Path) -> None:
    result = caddy(tmp_path, "validate", BRANCHBOT_DOMAIN="bot.example.org")
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_the_caddyfile_needs_the_domain(tmp_path: Path) -> None:
    assert caddy(tmp_path, "validate").returncode != 0


@pytest.mark.parametrize("path", [None, "/hook"])
def test_caddy_balances_the_webhook_over_both_replicas(tmp_path: Path, path: str | None) -> None:
    env = {"BRANCHBOT_DOMAIN": "bot.example.org"}
    if path:
        env["BRANCHBOT_WEBHOOK_PATH"] = path
    result = caddy(tmp_path, "adapt", **env)
    assert result.returncode == 0, result.stderr
    [(proxy, matches)] = find(json.loads(result.stdout), "reverse_proxy")
    assert {"host": ["bot.example.org"]} in matches
    assert {"path": [path or "/telegram"]} in matches
    assert [u["dial"] for u in proxy["upstreams"]] == [f"{name}:8080" for name in REPLICAS]
    active = proxy["health_checks"]["active"]
    assert active["uri"] == "/healthz"
    assert active["expect_status"] == 200
    assert proxy["load_balancing"]["try_duration"] > 0  # a request goes on to the other
    [respond] = find(json.loads(result.stdout), "static_response")
    assert respond[0]["status_code"] == 404  # anything but the webhook path


# nginx


def test_nginx_conf_passes_nginx_t(tmp_path: Path) -> None:
    nginx = tool("nginx", "nginx")
    openssl = tool("openssl", "openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = run(
        [
            *(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-nodes", "-days", "2", "-subj", "/CN=bot.example.org"),
            *("-keyout", str(key), "-out", str(cert)),
        ]
    )
    assert made.returncode == 0, made.stderr
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    upstreams = re.findall(r"(?m)^\s*server\s+([\w.-]+):(\d+)\b", site)
    assert upstreams == [(name, "8080") for name in REPLICAS]
    webhook = r"location = /telegram \{(?:(?!location ).)*proxy_pass http://branchbot;"
    assert re.search(webhook, site, re.S)
    assert re.search(r"upstream branchbot \{", site)
    # Certificates that exist, and upstreams that resolve here.
    site, count = re.subn(r"(?m)^(\s*ssl_certificate)\s+\S+;", rf"\1 {cert};", site)
    site, key_count = re.subn(r"(?m)^(\s*ssl_certificate_key)\s+\S+;", rf"\1 {key};", site)
    assert (count, key_count) == (1, 1)
    for port, name in enumerate(REPLICAS, start=18081):
        site = site.replace(f"server {name}:8080", f"server 127.0.0.1:{port}")
    (tmp_path / "branchbot.conf").write_text(site)
    temp = "\n".join(
        f"    {kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n{temp}\n    include {tmp_path / 'branchbot.conf'};\n}}\n"
    )
    result = run([nginx, "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(main)])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "test is successful" in output
    assert "[warn]" not in output and "[emerg]" not in output, output


# Docker Compose


def resolved_compose(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` (1.29, needs no engine) on a copy of deploy/ with this
    deploy/.env. 1.29 predates the top-level `name`, so the copy goes without it."""
    compose = tool("docker-compose", "docker-compose")
    copy = tmp_path / "repo" / "deploy"
    shutil.copytree(DEPLOY, copy)
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    assert re.search(r"(?m)^name: branchbot\n", text)
    (copy / "compose.yaml").write_text(re.sub(r"(?m)^name: branchbot\n", "", text))
    (copy / ".env").write_text("".join(f"{key}={value}\n" for key, value in env.items()))
    # Only the .env: variables of the shell running the tests would win over it.
    environ = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    return run([compose, "-f", "compose.yaml", "config"], cwd=copy, env=environ)


def filled_in_env() -> dict[str, str]:
    env = env_file(DEPLOY / ".env.example")
    assert not any(env.values()), f"placeholders only, no values: {env}"
    assert set(FILLED_IN) <= set(env)
    return {key: value for key, value in FILLED_IN.items()}


def test_compose_uses_the_variables_of_its_env_example() -> None:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", code))
    listed = set(env_file(DEPLOY / ".env.example"))
    assert used == listed
    compose = yaml_load(text)
    for name in [*REPLICAS, "migrate"]:
        assert set(compose["services"][name]["environment"]) <= config_variables(), name
    assert (DEPLOY / ".gitignore").read_text().split().count(".env") == 1


def test_compose_refuses_an_env_not_filled_in(tmp_path: Path) -> None:
    result = resolved_compose(tmp_path, env_file(DEPLOY / ".env.example"))
    assert result.returncode != 0
    assert re.search(r"set \w+ in deploy/\.env", result.stderr), result.stderr


def test_compose_file_is_valid_and_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = resolved_compose(tmp_path, filled_in_env())
    assert result.returncode == 0, result.stderr
    compose = yaml_load(result.stdout)
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", *REPLICAS, "caddy"}

    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:1[56](\b.*)?", postgres["image"])
    assert "pg_isready" in postgres["healthcheck"]["test"]
    [data] = [v for v in postgres["volumes"] if v.startswith("postgres-data:")]
    assert data.split(":")[1] == "/var/lib/postgresql/data"
    assert "postgres-data" in compose["volumes"]

    migrate = services["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate.get("restart", "no") == "no"

    monkeypatch.chdir(tmp_path)  # no ./branchbot.toml of the developer's
    migrated = load_config(None, migrate["environment"]).database.url
    for name in REPLICAS:
        bot = services[name]
        assert bot["command"] == ["run", "--webhook"]
        assert bot["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert bot["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert "ports" not in bot  # reached through the proxy only
        assert "/healthz" in " ".join(bot["healthcheck"]["test"])
        config = load_config(None, bot["environment"])
        check_secrets(config)
        check_webhook(config)
        assert config.database.url == migrated
        assert config.database.url.startswith("postgresql+asyncpg://branchbot:")
        assert config.database.url.endswith("@postgres:5432/branchbot")
        assert config.database.auto_migrate is False
        assert (config.webhook.listen, config.webhook.port) == ("0.0.0.0", 8080)
        assert config.webhook.public_url == "https://bot.example.org"
        assert config.webhook.path == "/telegram"
    for name in ["migrate", *REPLICAS]:
        build = services[name]["build"]
        assert Path(build["context"]) == tmp_path / "repo"
        assert build["dockerfile"] == "deploy/Dockerfile"

    caddy = services["caddy"]
    assert {(p["published"], p["target"]) for p in caddy["ports"]} >= {(80, 80), (443, 443)}
    assert caddy["environment"]["BRANCHBOT_DOMAIN"] == "bot.example.org"
    mounts = [v.split(":") for v in caddy["volumes"]]
    assert [str(tmp_path / "repo/deploy/Caddyfile"), "/etc/caddy/Caddyfile", "ro"] in mounts
    for source, *_ in mounts:
        assert source in compose["volumes"] or Path(source).exists(), source


# The image


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            instructions.append((word.upper(), " ".join(rest.split())))
    return instructions


def test_the_image_installs_from_the_hashed_lock_file() -> None:
    steps = dockerfile()
    assert [args for word, args in steps if word == "FROM"] == [
        "python:3.11-slim AS build",
        "python:3.11-slim",
    ]
    runs = [args for word, args in steps if word == "RUN"]
    pip = [part.strip() for args in runs for part in re.split(r"&&|\|\|", args) if "pip " in part]
    assert pip == [
        f"pip install --no-cache-dir --require-hashes -r {LOCK_FILE}",
        "pip install --no-cache-dir --no-deps .",
    ]
    order = [args for word, args in steps if word in ("COPY", "RUN")]
    copy_lock = order.index(f"{LOCK_FILE} {LOCK_FILE}")
    hashed = next(i for i, args in enumerate(order) if "--require-hashes" in args)
    copy_code = order.index("bot/ bot/")
    assert copy_lock < hashed < copy_code  # a code change does not reinstall the dependencies
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    [user] = [args for word, args in final if word == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    assert ("ENTRYPOINT", '["branchbot"]') in final
    assert ("CMD", '["run", "--webhook"]') in final


def copied_sources() -> list[str]:
    sources = []
    for word, args in dockerfile():
        if word == "COPY" and not args.startswith("--from="):
            sources += [part.rstrip("/") for part in args.split()[:-1]]
    return sources


def test_the_image_gets_every_package_pyproject_names() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    sources = copied_sources()
    for pattern in packages:
        assert pattern.rstrip("*") in sources, pattern
    assert pyproject["project"]["readme"] in sources
    for source in sources:
        assert source == LOCK_FILE or (ROOT / source).exists(), source


def dockerignore_excludes(path: str) -> bool:
    """Whether deploy/Dockerfile.dockerignore leaves `path` (relative to the context) out,
    as Docker decides: the last pattern matching the path or a folder above it wins."""
    rules = []
    for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        for token in re.findall(r"\*\*/|\*\*|\*|\?|\[[^]]*\]|[^*?[]", pattern):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                token, token if token.startswith("[") else re.escape(token)
            )
        rules.append((negated, re.compile(regex)))
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negated, regex in rules:
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def test_the_build_context_holds_what_the_image_needs_and_no_more() -> None:
    for source in copied_sources():
        if source == LOCK_FILE:
            assert not dockerignore_excludes(source)
            continue
        folder = ROOT / source
        files = [
            str(p.relative_to(ROOT))
            for p in ([folder] if folder.is_file() else folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        ]
        assert files, source
        for name in files:
            assert not dockerignore_excludes(name), name
    for name in [
        ".git/HEAD",
        ".venv/bin/python",
        "tests/test_deploy.py",
        "branchbot.toml",
        "deploy/.env",
        "branchbot.db",
        "bot/__pycache__/cli.cpython-311.pyc",
        "models/branchbot.db-wal",
        "dev.py",
    ]:
        assert dockerignore_excludes(name), name


# The kit as a whole


def test_every_deploy_path_the_kit_mentions_exists() -> None:
    mentioned = set()
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            mentioned |= set(re.findall(r"\bdeploy/[\w./-]*[\w]", text))
    assert "deploy/Caddyfile" in mentioned
    missing = [m for m in sorted(mentioned) if m != "deploy/.env" and not (ROOT / m).exists()]
    assert not missing
