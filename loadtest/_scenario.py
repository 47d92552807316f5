"""Scenario files (TOML): what to load, how hard, for how long, and what counts as a pass.

Every key is checked; an unknown key, a wrong type or a value outside its limit is a
:class:`ScenarioError` naming the key, and nothing is started. The limits below keep every
run bounded in users, rate and time. See ``scenarios/*.toml`` for annotated examples.
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from protocol import MAX_CONNECTIONS_PER_USER, MAX_ROOMS_PER_CONNECTION, RATE_LIMIT_PER_SECOND

from ._errors import ScenarioError
from ._thresholds import Threshold, parse_threshold
from ._units import parse_duration

ROLES = ("creator", "investor", "production")
HTTP_ACTIONS = ("browse", "search", "detail", "like", "nda")

MAX_USERS = 100_000
MAX_WORKERS = 64
MAX_DURATION_S = 24 * 3600.0
MAX_ROOMS = 10_000
MAX_SOURCE_ADDRESSES = 4096
MAX_HTTP_PER_MIN = 600.0  # per user, all HTTP actions together
# Per connection, everything a user sends over the socket must stay under the server's
# token bucket, with room to spare for joins and pings.
MAX_WS_PER_MIN = RATE_LIMIT_PER_SECOND * 60 * 0.5


@dataclass(frozen=True, slots=True)
class Target:
    http: str  # base URL, e.g. http://127.0.0.1:8001
    ws: str  # the WebSocket endpoint, e.g. ws://127.0.0.1:8002/ws


@dataclass(frozen=True, slots=True)
class Stage:
    duration: float  # seconds
    users: int  # concurrent users at the end of the stage (linear from the previous)


@dataclass(frozen=True, slots=True)
class Storm:
    """At ``at`` seconds, ``fraction`` of the connected users lose their connection at once
    and reconnect within ``within`` seconds, re-joining with ``since``."""

    at: float
    fraction: float
    within: float


@dataclass(frozen=True, slots=True)
class Rooms:
    count: int  # published pitch rooms created for the run
    per_user: int  # rooms each user joins
    hot: int  # the first ``hot`` rooms ...
    hot_share: float  # ... receive this share of the memberships
    nda_pitches: int  # extra NDA-protected pitches for the NDA behaviour (not rooms)


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What one user of a role does, in events per minute (Poisson arrivals)."""

    chat: float = 0.0
    typing: float = 0.0  # typing bursts: typing true, a few refreshes, typing false
    presence: float = 0.0
    edits: float = 0.0  # pitch_update on rooms the user owns (creators)
    reconnects: float = 0.0  # drop the socket and resume with ``since``
    http: dict[str, float] = field(default_factory=dict)  # action -> per minute
    connections: int = 1  # sockets per user, each joined to the user's rooms

    @property
    def ws_per_min(self) -> float:
        return self.chat + self.typing * 4 + self.presence + self.edits

    @property
    def http_per_min(self) -> float:
        return sum(self.http.values())


@dataclass(frozen=True, slots=True)
class RunOptions:
    workers: int
    max_duration: float  # hard ceiling on the measured part, seconds
    setup_timeout: float  # ceiling on creating accounts and rooms
    connect_timeout: float
    http_timeout: float
    setup_concurrency: int  # accounts created or logged in at once per worker
    seed: int
    ws_auth: str  # "ticket" (GET /api/ws/token, as browsers) or "token" (?token=, as tools)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    source: str  # the file it came from
    targets: tuple[Target, ...]
    source_addresses: tuple[str, ...]
    users: dict[str, int]  # role -> how many (the roster)
    rooms: Rooms
    stages: tuple[Stage, ...]
    storms: tuple[Storm, ...]
    behaviours: dict[str, Behaviour]
    thresholds: tuple[Threshold, ...]
    run: RunOptions
    raw: dict[str, Any]  # the parsed TOML, kept for the report

    @property
    def roster_size(self) -> int:
        return sum(self.users.values())

    @property
    def peak_users(self) -> int:
        return max(stage.users for stage in self.stages)

    @property
    def duration(self) -> float:
        return sum(stage.duration for stage in self.stages)

    def allowed_urls(self) -> tuple[str, ...]:
        return tuple(u for t in self.targets for u in (t.http, t.ws))


def shipped_scenarios() -> list[str]:
    """Names of the scenarios that come with the harness."""
    folder = resources.files("loadtest") / "scenarios"
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_scenario(name_or_path: str) -> Scenario:
    """A shipped scenario by name (``smoke``) or a TOML file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text()
        except OSError as exc:
            raise ScenarioError(name_or_path, f"cannot read: {exc.strerror}") from None
        return parse_scenario(text, source=str(path))
    if name_or_path not in shipped_scenarios():
        raise ScenarioError(
            name_or_path,
            f"no such file and no shipped scenario of that name "
            f"(shipped: {', '.join(shipped_scenarios())})",
        )
    text = (resources.files("loadtest") / "scenarios" / f"{name_or_path}.toml").read_text()
    return parse_scenario(text, source=f"{name_or_path} (shipped)")


def parse_scenario(text: str, *, source: str = "<string>") -> Scenario:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, f"not valid TOML: {exc}") from None
    return _Parser(raw).scenario(source)


class _Parser:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def scenario(self, source: str) -> Scenario:
        raw = self.raw
        _keys(
            raw,
            "",
            {"name", "description", "target", "users", "rooms", "stages", "storms",
             "behaviour", "thresholds", "run"},
        )  # fmt: skip
        name = _str(raw, "", "name", None)
        targets = self.targets(_table(raw, "", "target", required=True))
        users = self.users(_table(raw, "", "users", required=True))
        roster = sum(users.values())
        rooms = self.rooms(_table(raw, "", "rooms", required=True), users)
        run = self.run(_table(raw, "", "run"))
        stages = self.stages(raw.get("stages"), roster, run.max_duration)
        duration = sum(s.duration for s in stages)
        storms = self.storms(raw.get("storms", []), duration)
        behaviours = self.behaviours(_table(raw, "", "behaviour"), users)
        for role, behaviour in behaviours.items():
            if "nda" in behaviour.http and rooms.nda_pitches == 0:
                raise ScenarioError(
                    f"behaviour.{role}.http_per_min.nda", "needs rooms.nda_pitches > 0"
                )
        thresholds = raw.get("thresholds", [])
        if not isinstance(thresholds, list):
            raise ScenarioError("thresholds", "must be a list of strings")
        parsed = tuple(parse_threshold(t, f"thresholds[{i}]") for i, t in enumerate(thresholds))
        return Scenario(
            name=name,
            description=_str(raw, "", "description", ""),
            source=source,
            targets=targets[0],
            source_addresses=targets[1],
            users=users,
            rooms=rooms,
            stages=stages,
            storms=storms,
            behaviours=behaviours,
            thresholds=parsed,
            run=run,
            raw=raw,
        )

    def targets(self, table: dict[str, Any]) -> tuple[tuple[Target, ...], tuple[str, ...]]:
        _keys(table, "target", {"http", "ws", "source_addresses"})
        http = _str_list(table, "target", "http")
        ws = _str_list(table, "target", "ws")
        if not http or len(http) != len(ws):
            raise ScenarioError(
                "target", "give http and ws as lists of the same length (one pair per node)"
            )
        for url in http:
            _check_url("target.http", url, ("http", "https"))
        for url in ws:
            _check_url("target.ws", url, ("ws", "wss"))
        sources = _expand_addresses(_str_list(table, "target", "source_addresses"))
        targets = tuple(Target(h.rstrip("/"), w) for h, w in zip(http, ws, strict=True))
        return targets, sources

    def users(self, table: dict[str, Any]) -> dict[str, int]:
        _keys(table, "users", set(ROLES))
        users = {role: _int(table, "users", role, 0, 0, MAX_USERS) for role in ROLES}
        if users["creator"] < 1:
            raise ScenarioError("users.creator", "at least one creator is needed to own the rooms")
        if sum(users.values()) > MAX_USERS:
            raise ScenarioError("users", f"at most {MAX_USERS} users in all")
        return users

    def rooms(self, table: dict[str, Any], users: dict[str, int]) -> Rooms:
        _keys(table, "rooms", {"count", "per_user", "hot", "hot_share", "nda_pitches"})
        count = _int(table, "rooms", "count", None, 1, MAX_ROOMS)
        per_user = _int(table, "rooms", "per_user", 1, 1, min(MAX_ROOMS_PER_CONNECTION, count))
        hot = _int(table, "rooms", "hot", 0, 0, count)
        hot_share = _float(table, "rooms", "hot_share", 0.0, 0.0, 1.0)
        if hot_share > 0 and hot == 0:
            raise ScenarioError("rooms.hot_share", "needs rooms.hot > 0")
        nda = _int(table, "rooms", "nda_pitches", 0, 0, MAX_ROOMS)
        if (count + nda) > users["creator"] * 100:
            raise ScenarioError(
                "rooms", "at most 100 pitches per creator (the creators own the rooms)"
            )
        return Rooms(count, per_user, hot, hot_share, nda)

    def run(self, table: dict[str, Any]) -> RunOptions:
        _keys(
            table,
            "run",
            {"workers", "max_duration", "setup_timeout", "connect_timeout", "http_timeout",
             "setup_concurrency", "seed", "ws_auth"},
        )  # fmt: skip
        return RunOptions(
            workers=_int(table, "run", "workers", 2, 1, MAX_WORKERS),
            max_duration=_duration(table, "run", "max_duration", None, 1.0, MAX_DURATION_S),
            setup_timeout=_duration(table, "run", "setup_timeout", "120s", 1.0, 3600.0),
            connect_timeout=_duration(table, "run", "connect_timeout", "10s", 0.1, 120.0),
            http_timeout=_duration(table, "run", "http_timeout", "10s", 0.1, 120.0),
            setup_concurrency=_int(table, "run", "setup_concurrency", 8, 1, 256),
            seed=_int(table, "run", "seed", 1, 0, 2**31),
            ws_auth=_choice(table, "run", "ws_auth", "ticket", ("ticket", "token")),
        )

    def stages(self, raw: Any, roster: int, max_duration: float) -> tuple[Stage, ...]:
        if not isinstance(raw, list) or not raw:
            raise ScenarioError("stages", "give at least one [[stages]] with duration and users")
        stages = []
        for i, table in enumerate(raw):
            where = f"stages[{i}]"
            if not isinstance(table, dict):
                raise ScenarioError(where, "must be a table with duration and users")
            _keys(table, where, {"duration", "users"})
            stages.append(
                Stage(
                    duration=_duration(table, where, "duration", None, 0.1, MAX_DURATION_S),
                    users=_int(table, where, "users", None, 0, roster),
                )
            )
        total = sum(s.duration for s in stages)
        if total > max_duration:
            raise ScenarioError(
                "stages", f"last {total:g}s, longer than run.max_duration ({max_duration:g}s)"
            )
        if max(s.users for s in stages) == 0:
            raise ScenarioError("stages", "no stage has any users")
        return tuple(stages)

    def storms(self, raw: Any, duration: float) -> tuple[Storm, ...]:
        if not isinstance(raw, list):
            raise ScenarioError("storms", "must be a list of [[storms]] tables")
        storms = []
        for i, table in enumerate(raw):
            where = f"storms[{i}]"
            if not isinstance(table, dict):
                raise ScenarioError(where, "must be a table with at, fraction and within")
            _keys(table, where, {"at", "fraction", "within"})
            at = _duration(table, where, "at", None, 0.0, duration)
            storms.append(
                Storm(
                    at=at,
                    fraction=_float(table, where, "fraction", 1.0, 0.0, 1.0),
                    within=_duration(table, where, "within", "0s", 0.0, 600.0),
                )
            )
        return tuple(sorted(storms, key=lambda s: s.at))

    def behaviours(self, table: dict[str, Any], users: dict[str, int]) -> dict[str, Behaviour]:
        _keys(table, "behaviour", set(ROLES))
        out = {}
        for role in ROLES:
            where = f"behaviour.{role}"
            spec = _table(table, "behaviour", role)
            _keys(
                spec,
                where,
                {"chat_per_min", "typing_per_min", "presence_per_min", "edits_per_min",
                 "reconnects_per_min", "http_per_min", "connections"},
            )  # fmt: skip
            http_table = _table(spec, where, "http_per_min")
            _keys(http_table, f"{where}.http_per_min", set(HTTP_ACTIONS))
            http = {
                action: _float(http_table, f"{where}.http_per_min", action, 0.0, 0.0, 600.0)
                for action in HTTP_ACTIONS
                if action in http_table
            }
            behaviour = Behaviour(
                chat=_float(spec, where, "chat_per_min", 0.0, 0.0, 600.0),
                typing=_float(spec, where, "typing_per_min", 0.0, 0.0, 120.0),
                presence=_float(spec, where, "presence_per_min", 0.0, 0.0, 120.0),
                edits=_float(spec, where, "edits_per_min", 0.0, 0.0, 120.0),
                reconnects=_float(spec, where, "reconnects_per_min", 0.0, 0.0, 60.0),
                http={k: v for k, v in http.items() if v > 0},
                connections=_int(spec, where, "connections", 1, 1, MAX_CONNECTIONS_PER_USER),
            )
            if behaviour.ws_per_min > MAX_WS_PER_MIN:
                raise ScenarioError(
                    where,
                    f"sends {behaviour.ws_per_min:g} socket messages a minute (typing bursts "
                    f"count 4); at most {MAX_WS_PER_MIN:g}, half the server's per-connection "
                    "rate limit",
                )
            if behaviour.http_per_min > MAX_HTTP_PER_MIN:
                raise ScenarioError(where, f"at most {MAX_HTTP_PER_MIN:g} HTTP calls a minute")
            if behaviour.edits and role != "creator":
                raise ScenarioError(f"{where}.edits_per_min", "only creators own pitches to edit")
            if "nda" in behaviour.http and role == "creator":
                raise ScenarioError(f"{where}.http_per_min.nda", "creators do not request NDAs")
            out[role] = behaviour
        return out


def _keys(table: dict[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ScenarioError(
            f"{prefix}{unknown[0]}", f"unknown key (allowed here: {', '.join(sorted(allowed))})"
        )


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _table(raw: dict[str, Any], where: str, key: str, *, required: bool = False) -> dict[str, Any]:
    if key not in raw:
        if required:
            raise ScenarioError(_path(where, key), "missing")
        return {}
    value = raw[key]
    if not isinstance(value, dict):
        raise ScenarioError(_path(where, key), "must be a table")
    return value


def _str(raw: dict[str, Any], where: str, key: str, default: str | None) -> str:
    value = raw.get(key, default)
    if value is None:
        raise ScenarioError(_path(where, key), "missing")
    if not isinstance(value, str) or (key == "name" and not value.strip()):
        raise ScenarioError(_path(where, key), "must be a non-empty string")
    return value


def _str_list(raw: dict[str, Any], where: str, key: str) -> list[str]:
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScenarioError(_path(where, key), "must be a string or a list of strings")
    return value


def _int(
    raw: dict[str, Any], where: str, key: str, default: int | None, low: int, high: int
) -> int:
    value = raw.get(key, default)
    if value is None:
        raise ScenarioError(_path(where, key), "missing")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(_path(where, key), f"must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise ScenarioError(_path(where, key), f"must be between {low} and {high}, not {value}")
    return value


def _choice(
    raw: dict[str, Any], where: str, key: str, default: str, allowed: tuple[str, ...]
) -> str:
    value = raw.get(key, default)
    if value not in allowed:
        raise ScenarioError(
            _path(where, key), f"must be one of {', '.join(allowed)}, not {value!r}"
        )
    return value


def _float(
    raw: dict[str, Any], where: str, key: str, default: float, low: float, high: float
) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(_path(where, key), f"must be a number, not {value!r}")
    if not low <= value <= high:
        raise ScenarioError(_path(where, key), f"must be between {low:g} and {high:g}, not {value}")
    return float(value)


def _duration(
    raw: dict[str, Any], where: str, key: str, default: str | None, low: float, high: float
) -> float:
    value = raw.get(key, default)
    if value is None:
        raise ScenarioError(_path(where, key), "missing")
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ScenarioError(_path(where, key), str(exc)) from None
    if not low <= seconds <= high:
        raise ScenarioError(
            _path(where, key), f"must be between {low:g}s and {high:g}s, not {seconds:g}s"
        )
    return seconds


def _check_url(where: str, url: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise ScenarioError(where, f"{url!r} must be a {' or '.join(schemes)} URL with a host")
    if parts.query or parts.fragment or parts.username:
        raise ScenarioError(where, f"{url!r} must have no query, fragment or credentials")


def _expand_addresses(items: list[str]) -> tuple[str, ...]:
    """Source addresses the clients bind to, as addresses or CIDR blocks."""
    out: list[str] = []
    for item in items:
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ScenarioError(
                "target.source_addresses", f"{item!r} is not an address or a CIDR block"
            ) from None
        hosts = [network.network_address] if network.num_addresses == 1 else network.hosts()
        for address in hosts:
            out.append(str(address))
            if len(out) > MAX_SOURCE_ADDRESSES:
                raise ScenarioError(
                    "target.source_addresses", f"at most {MAX_SOURCE_ADDRESSES} addresses"
                )
    return tuple(out)
