"""Logs are one JSON object per line, name the node, and never carry secrets."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from realtime._logging import configure_logging


def test_json_lines_name_the_node_and_redact_secrets(capsys: pytest.CaptureFixture) -> None:
    configure_logging(level="info", fmt="json", node_id="node-7")
    structlog.get_logger("test").info(
        "login", email="a@b.c", password="hunter22", token="eyJsecret", ticket="t-123"
    )
    logging.getLogger("hypercorn.error").warning("from the standard library")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    login, stdlib = lines[-2], lines[-1]
    assert login["event"] == "login" and login["node"] == "node-7"
    assert login["email"] == "a@b.c"
    assert {login["password"], login["token"], login["ticket"]} == {"[redacted]"}
    assert "hunter22" not in str(lines) and "eyJsecret" not in str(lines)
    assert stdlib["event"] == "from the standard library" and stdlib["node"] == "node-7"
