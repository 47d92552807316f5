"""The ``pitchey`` subcommands, run in-process against this run's servers."""

from __future__ import annotations

import pytest
import trio

from http_api import DEMO_PASSWORD, verify_password
from realtime import main
from storage import open_storage

from support import Servers, node_env


@pytest.fixture
def env(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in node_env(servers).items():
        monkeypatch.setenv(name, value)


def test_migrate_reports_nothing_pending(env: None, capsys: pytest.CaptureFixture) -> None:
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out.strip() == "applied 0 migration(s)"


def test_seed_demo_twice_creates_nothing_the_second_time(
    env: None, capsys: pytest.CaptureFixture
) -> None:
    assert main(["seed-demo"]) == 0
    capsys.readouterr()
    assert main(["seed-demo"]) == 0
    assert capsys.readouterr().out.strip() == "demo data: 0 user(s), 0 pitch(es) created"


def test_demo_accounts_log_in_with_the_demo_password(env: None, servers: Servers) -> None:
    assert main(["seed-demo"]) == 0

    async def check() -> tuple[bool, bool]:
        async with open_storage(servers.database_url, servers.redis_url, pool_size=1) as s:
            password_hash = await s.connection(
                lambda conn: conn.fetchval(
                    "SELECT password_hash FROM users WHERE email = 'alex.creator@demo.com'"
                )
            )
        return (
            await verify_password(password_hash, DEMO_PASSWORD),
            await verify_password(password_hash, "wrong-password"),
        )

    assert trio.run(check) == (True, False)


def test_storage_failure_is_one_line_and_status_1(
    env: None, servers: Servers, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    missing = servers.server_url.rsplit("/", 1)[0] + "/no_such_database"
    monkeypatch.setenv("DATABASE_URL", missing)
    assert main(["migrate"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("pitchey: postgres:") and "no_such_database" in err[-1]
