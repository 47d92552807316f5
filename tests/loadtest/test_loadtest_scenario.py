"""Scenario files: the shipped ones parse, and every kind of mistake is refused by name."""

from __future__ import annotations

import pytest

from loadtest import ScenarioError, build_roster, load_scenario, parse_scenario, shipped_scenarios
from loadtest._roster import users_at

MINIMAL = """
name = "t"
[target]
http = "http://127.0.0.1:8001"
ws = "ws://127.0.0.1:8002/ws"
[users]
creator = 2
investor = 6
[rooms]
count = 2
[[stages]]
duration = "5s"
users = 8
[run]
max_duration = "10s"
"""


def test_every_shipped_scenario_parses() -> None:
    names = shipped_scenarios()
    assert {"smoke", "seed-profile", "room-fanout", "many-rooms", "soak", "reconnect-storm"} <= set(
        names
    )
    for name in names:
        scenario = load_scenario(name)
        assert scenario.duration <= scenario.run.max_duration
        assert scenario.thresholds


def test_seed_profile_states_the_published_profile() -> None:
    scenario = load_scenario("seed-profile")
    assert scenario.peak_users == 1000
    exprs = {t.expr for t in scenario.thresholds}
    assert {"ws.latency.p95 < 180ms", "ws.latency.p99 < 350ms", "http.errors < 0.1%"} <= exprs


def test_minimal_scenario_gets_defaults() -> None:
    scenario = parse_scenario(MINIMAL)
    assert scenario.run.workers == 2
    assert scenario.targets[0].http == "http://127.0.0.1:8001"
    assert scenario.behaviours["investor"].chat == 0
    assert scenario.roster_size == 8


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (("[rooms]", "[rooms]\ncolour = 1"), "rooms.colour"),
        (("users = 8\n[run]", "users = 9\n[run]"), "stages[0].users"),
        (('max_duration = "10s"', 'max_duration = "2s"'), "stages"),
        (('duration = "5s"', 'duration = "5 parsecs"'), "stages[0].duration"),
        (("creator = 2", "creator = 0"), "users.creator"),
        (("creator = 2", "creator = true"), "users.creator"),
        (('ws = "ws://127.0.0.1:8002/ws"', 'ws = "http://127.0.0.1:8002/ws"'), "target.ws"),
        (("count = 2", "count = 0"), "rooms.count"),
        (("[run]", "[run]\nworkers = 1000"), "run.workers"),
        (("[run]", "[target.x]\n[run]"), "target.x"),
    ],
)
def test_a_mistake_is_refused_naming_the_key(edit: tuple[str, str], where: str) -> None:
    text = MINIMAL.replace(*edit, 1)
    assert text != MINIMAL
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text)
    assert caught.value.where == where


def test_socket_rate_above_the_servers_limit_is_refused() -> None:
    text = MINIMAL + "[behaviour.investor]\nchat_per_min = 500\ntyping_per_min = 50\n"
    with pytest.raises(ScenarioError, match="rate limit"):
        parse_scenario(text)


def test_nda_behaviour_needs_nda_pitches() -> None:
    text = MINIMAL + "[behaviour.investor]\nhttp_per_min = { nda = 1 }\n"
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text)
    assert caught.value.where == "behaviour.investor.http_per_min.nda"


def test_bad_threshold_is_refused() -> None:
    with pytest.raises(ScenarioError, match="unknown metric"):
        parse_scenario('thresholds = ["ws.speed.p99 < 1ms"]\n' + MINIMAL)


def test_invalid_toml_is_refused() -> None:
    with pytest.raises(ScenarioError, match="not valid TOML"):
        parse_scenario("name = ")


def test_unknown_scenario_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match="smoke"):
        load_scenario("no-such-scenario")


def test_source_addresses_expand_cidr_blocks() -> None:
    text = MINIMAL.replace("[users]", 'source_addresses = ["127.10.0.0/30", "127.9.0.1"]\n[users]')
    assert parse_scenario(text).source_addresses == ("127.10.0.1", "127.10.0.2", "127.9.0.1")


def test_stages_ramp_linearly_and_end_at_zero() -> None:
    stages = load_scenario("smoke").stages  # 0 -> 8 over 3s, hold 10s, 8 -> 0 over 2s
    assert users_at(stages, 0.0) == 0
    assert users_at(stages, 1.5) == 4
    assert users_at(stages, 3.0) == 8
    assert users_at(stages, 12.9) == 8
    assert users_at(stages, 14.0) == 4
    assert users_at(stages, 15.0) == 0


def test_roster_interleaves_roles_and_is_deterministic() -> None:
    scenario = load_scenario("seed-profile")
    first = build_roster(scenario, "x")
    assert build_roster(scenario, "x") == first
    head = [u.role for u in first[:10]]
    assert head.count("investor") == 6 and head.count("creator") == 2
    assert all(len(u.username) <= 30 for u in first)
    assert len({u.email for u in first}) == len(first)
    assert all(len(set(u.rooms)) == len(u.rooms) == 2 for u in first)
