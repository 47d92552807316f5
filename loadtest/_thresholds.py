"""k6-style thresholds: ``"ws.latency.p99 < 50ms"``, ``"http.errors < 0.1%"``.

A threshold names a metric and, for latency histograms, a statistic::

    <histogram>.<stat>  OP  <number>[ms|s]     stat: min mean p50 p90 p95 p99 p99.9 max
    <counter>           OP  <number>           the count over the run
    <counter>.rate      OP  <number>[/s]       per second of measured time
    <counter>           OP  <number>%          as a share of its denominator (errors of
                                               requests, ws errors of ws operations)

OP is one of ``<  <=  >  >=  ==``. Latencies are compared in milliseconds.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import ScenarioError

HISTOGRAMS = (
    "ws.connect",
    "ws.join",
    "ws.latency",
    "ws.ack",
    "ws.reconnect",
    "http.latency",
)
HTTP_ROUTES = (
    "register",
    "login",
    "refresh",
    "ws_token",
    "browse",
    "search",
    "detail",
    "like",
    "nda",
    "create_pitch",
    "publish",
)
STATS = ("min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max", "count")
COUNTERS = (
    "ws.connects",
    "ws.sent",
    "ws.deliveries",
    "ws.gaps",
    "ws.duplicates",
    "ws.reconnects",
    "ws.errors",
    "ws.operations",
    "http.requests",
    "http.errors",
)
# A counter written with % is a share of this other counter.
DENOMINATORS = {"http.errors": "http.requests", "ws.errors": "ws.operations"}

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
}
_EXPR = re.compile(
    r"^\s*(?P<metric>[a-z][a-z0-9_.]*)\s*(?P<op><=|>=|==|<|>)\s*"
    r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|%|/s)?\s*$"
)


def histogram_names() -> tuple[str, ...]:
    return HISTOGRAMS + tuple(f"http.{route}" for route in HTTP_ROUTES)


@dataclass(frozen=True, slots=True)
class Threshold:
    expr: str
    metric: str  # a histogram or counter name
    stat: str  # a histogram stat, "count", "rate" or "share"
    op: str
    value: float  # milliseconds for latencies, a fraction for shares


@dataclass(frozen=True, slots=True)
class Verdict:
    threshold: Threshold
    actual: float | None  # None: the metric has no data
    ok: bool


def parse_threshold(expr: str, where: str = "thresholds") -> Threshold:
    """Parse one expression; raise :class:`ScenarioError` naming what is wrong."""
    if not isinstance(expr, str):
        raise ScenarioError(
            where, f"a threshold is a string like 'ws.latency.p99 < 50ms', not {expr!r}"
        )
    match = _EXPR.match(expr)
    if match is None:
        raise ScenarioError(
            where, f"{expr!r} is not '<metric> <op> <number>[unit]', e.g. 'ws.latency.p99 < 50ms'"
        )
    name, op, unit = match["metric"], match["op"], match["unit"]
    value = float(match["value"])
    base, _, stat = name.rpartition(".")
    if name.endswith(".p99.9"):
        base, stat = name[: -len(".p99.9")], "p99.9"
    if base in histogram_names():
        if stat not in STATS:
            raise ScenarioError(
                where, f"{expr!r}: {base} has no statistic {stat!r}; use one of {', '.join(STATS)}"
            )
        if stat == "count":
            if unit is not None:
                raise ScenarioError(where, f"{expr!r}: a count takes no unit")
        elif unit in ("%", "/s"):
            raise ScenarioError(where, f"{expr!r}: a latency is compared in ms or s")
        elif unit == "s":
            value *= 1000.0
        return Threshold(expr, base, stat, op, value)
    if base in COUNTERS and stat == "rate":
        if unit not in (None, "/s"):
            raise ScenarioError(where, f"{expr!r}: a rate is per second ('/s' or no unit)")
        return Threshold(expr, base, "rate", op, value)
    if name in COUNTERS:
        if unit == "%":
            if name not in DENOMINATORS:
                raise ScenarioError(
                    where, f"{expr!r}: only {', '.join(DENOMINATORS)} can be a share"
                )
            return Threshold(expr, name, "share", op, value / 100.0)
        if unit is not None:
            raise ScenarioError(where, f"{expr!r}: a count takes no unit (or % for a share)")
        return Threshold(expr, name, "count", op, value)
    known = ", ".join((*histogram_names(), *COUNTERS))
    raise ScenarioError(where, f"{expr!r}: unknown metric {name!r}; known: {known}")


def measure(threshold: Threshold, metrics: Mapping[str, Any], duration_s: float) -> float | None:
    """The value the threshold compares, from a results.json ``metrics`` map."""
    entry = metrics.get(threshold.metric)
    if threshold.stat in STATS:
        if not entry or not entry.get("count"):
            return 0.0 if threshold.stat == "count" else None
        return float(entry[threshold.stat])
    count = float((entry or {}).get("count", 0))
    if threshold.stat == "count":
        return count
    if threshold.stat == "rate":
        return count / duration_s if duration_s > 0 else None
    total = float((metrics.get(DENOMINATORS[threshold.metric]) or {}).get("count", 0))
    if not total:
        return float("inf") if count else 0.0  # errors with no operations: all failed
    return count / total


def evaluate(
    thresholds: tuple[Threshold, ...], metrics: Mapping[str, Any], duration_s: float
) -> list[Verdict]:
    """Judge every threshold. A latency threshold with no data fails: a run that measured
    nothing proves nothing."""
    verdicts = []
    for threshold in thresholds:
        actual = measure(threshold, metrics, duration_s)
        ok = actual is not None and _OPS[threshold.op](actual, threshold.value)
        verdicts.append(Verdict(threshold, actual, ok))
    return verdicts
