"""Configuration: defaults, validation, and one clear line for each mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from realtime import ConfigError, ensure_jwt_secret, load_settings


def test_defaults_without_configuration() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port, settings.ws_port) == ("127.0.0.1", 8001, 8002)
    assert settings.database_url is None and settings.redis_url is None
    assert settings.embedded
    assert settings.data_dir == Path(".pitchey").resolve()
    assert settings.allowed_origins == ("http://localhost:8001", "http://127.0.0.1:8001")
    assert settings.log_format == "json"


def test_console_logs_when_stdout_is_a_terminal() -> None:
    assert load_settings({}, stdout_is_tty=True).log_format == "console"
    assert load_settings({"LOG_FORMAT": "json"}, stdout_is_tty=True).log_format == "json"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PORT": "abc"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"WS_PORT": "-1"}, "WS_PORT"),
        ({"DATABASE_URL": "mysql://x/y", "JWT_SECRET": "s" * 40}, "DATABASE_URL"),
        ({"REDIS_URL": "http://localhost"}, "REDIS_URL"),
        ({"DATABASE_URL": "postgresql://h/db"}, "JWT_SECRET"),
        ({"JWT_SECRET": "short"}, "JWT_SECRET"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"DATABASE_POOL_SIZE": "0"}, "DATABASE_POOL_SIZE"),
        ({"ALLOWED_ORIGINS": "example.com"}, "ALLOWED_ORIGINS"),
    ],
)
def test_invalid_variable_is_named(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert caught.value.variable == variable


def test_allowed_origins_are_parsed() -> None:
    settings = load_settings({"ALLOWED_ORIGINS": "https://pitchey.com, http://localhost:3000/"})
    assert settings.allowed_origins == ("https://pitchey.com", "http://localhost:3000")


def test_embedded_jwt_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = load_settings({"PITCHEY_DATA_DIR": str(tmp_path)})
    first = ensure_jwt_secret(settings).jwt_secret
    second = ensure_jwt_secret(settings).jwt_secret
    assert first == second and first is not None and len(first) >= 32
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o077 == 0


def test_cli_prints_one_line_for_bad_configuration(tmp_path: Path) -> None:
    env = {**os.environ, "PORT": "not-a-port", "PITCHEY_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "realtime", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "PORT" in lines[0] and "Traceback" not in result.stderr


def test_cli_flag_overrides_environment(tmp_path: Path) -> None:
    env = {**os.environ, "PORT": "8001", "PITCHEY_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "realtime", "serve", "--port", "99999"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "PORT" in result.stderr and "99999" in result.stderr
