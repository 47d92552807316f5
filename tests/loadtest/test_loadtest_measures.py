"""Histograms merge exactly; thresholds judge the numbers; clocks and sequences."""

from __future__ import annotations

import random

import pytest

from loadtest import (
    Histogram,
    ScenarioError,
    SequenceTracker,
    estimate_offset,
    evaluate,
    parse_threshold,
)


def test_merged_histograms_equal_one_histogram_of_all_values() -> None:
    rng = random.Random(7)
    parts = [[rng.lognormvariate(2, 1.2) for _ in range(5000)] for _ in range(4)]
    merged = Histogram()
    for values in parts:
        worker = Histogram()
        for v in values:
            worker.record_ms(v)
        merged.merge(Histogram.decode(worker.encode()))  # as shipped between processes
    whole = Histogram()
    for values in parts:
        for v in values:
            whole.record_ms(v)
    assert merged.counts() == whole.counts()
    assert merged.summary() == whole.summary()
    assert merged.count == 20000


def test_merging_is_not_averaging_percentiles() -> None:
    fast, slow = Histogram(), Histogram()
    for _ in range(990):
        fast.record_ms(1.0)
    for _ in range(10):
        slow.record_ms(1000.0)
    merged = Histogram()
    merged.merge(fast)
    merged.merge(slow)
    assert merged.percentile_ms(99) == pytest.approx(1.0, rel=0.01)
    assert merged.percentile_ms(99.9) == pytest.approx(1000.0, rel=0.01)


def test_histogram_keeps_three_significant_digits() -> None:
    h = Histogram()
    h.record_ms(123.456)
    assert h.summary()["max"] == pytest.approx(123.456, rel=1e-3)


METRICS = {
    "ws.latency": {"count": 100, "p50": 4.0, "p95": 20.0, "p99": 60.0, "max": 90.0},
    "http.requests": {"count": 2000},
    "http.errors": {"count": 3},
    "ws.deliveries": {"count": 1200},
}


@pytest.mark.parametrize(
    ("expr", "ok", "actual"),
    [
        ("ws.latency.p99 < 50ms", False, 60.0),
        ("ws.latency.p99 < 0.07s", True, 60.0),
        ("ws.latency.p95 <= 20ms", True, 20.0),
        ("http.errors < 0.1%", False, 0.0015),
        ("http.errors < 0.2%", True, 0.0015),
        ("http.errors < 5", True, 3),
        ("ws.deliveries.rate > 100/s", True, 120.0),
        ("ws.gaps == 0", True, 0.0),
    ],
)
def test_threshold_verdicts(expr: str, ok: bool, actual: float) -> None:
    (verdict,) = evaluate((parse_threshold(expr),), METRICS, duration_s=10.0)
    assert verdict.ok is ok
    assert verdict.actual == pytest.approx(actual)


def test_latency_threshold_without_data_fails() -> None:
    (verdict,) = evaluate((parse_threshold("ws.ack.p99 < 1s"),), METRICS, 10.0)
    assert verdict.actual is None and not verdict.ok


@pytest.mark.parametrize(
    "expr",
    ["ws.latency < 5ms", "ws.latency.p42 < 5ms", "ws.latency.p99 < 5%", "ws.sent < 5%", "x"],
)
def test_malformed_thresholds_are_refused(expr: str) -> None:
    with pytest.raises(ScenarioError):
        parse_threshold(expr)


def test_clock_offset_comes_from_the_shortest_round_trip() -> None:
    # local clock is 5 ms behind the reference; the slow probe would suggest 20 ms
    probes = [(1_000_000, 1_000_000 + 500_000 + 5_000_000, 2_000_000), (0, 40_000_000, 40_000_000)]
    offset = estimate_offset(probes)
    assert offset.offset_ns == 5_000_000
    assert offset.error_ns == 500_000


def test_sequence_tracker_counts_gaps_and_duplicates() -> None:
    tracker = SequenceTracker()
    tracker.snapshot(10)
    assert tracker.event(11) == (0, 0)
    assert tracker.event(14) == (2, 0)
    assert tracker.event(14) == (0, 1)
    assert tracker.event(12) == (0, 1)
    assert (tracker.gaps, tracker.duplicates, tracker.last) == (2, 2, 14)
