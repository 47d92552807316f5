"""Latency histograms: HDR histograms (the ``hdrhistogram`` package) in microseconds.

Workers record into their own histograms and ship them encoded; the runner adds the
counts bucket by bucket, so the merged percentiles are exactly those of one histogram
that had seen every value (to the histogram's 3 significant digits), never an average of
per-worker percentiles.
"""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 600_000_000  # ten minutes; slower values are recorded as ten minutes
SIGNIFICANT_DIGITS = 3
PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0), ("p99.9", 99.9))


class Histogram:
    """Values in microseconds in, statistics in milliseconds out."""

    __slots__ = ("_h",)

    def __init__(self, hdr: HdrHistogram | None = None) -> None:
        self._h = hdr or HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)

    @property
    def count(self) -> int:
        return int(self._h.get_total_count())

    def record_us(self, value: float) -> None:
        self._h.record_value(min(HIGHEST_US, max(LOWEST_US, round(value))))

    def record_ms(self, value: float) -> None:
        self.record_us(value * 1000.0)

    def merge(self, other: Histogram) -> None:
        """Add ``other``'s counts to this one (exact)."""
        if other.count:
            self._h.add(other._h)

    def encode(self) -> bytes:
        return bytes(self._h.encode())

    @classmethod
    def decode(cls, data: bytes | str) -> Histogram:
        raw = data.encode() if isinstance(data, str) else data
        hdr = HdrHistogram.decode(raw)
        # Decoded histograms keep the encoder's range; normalise to ours so every merge adds
        # into identical bucket layouts.
        own = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        own.add(hdr)
        return cls(own)

    def percentile_ms(self, percentile: float) -> float:
        return self._h.get_value_at_percentile(percentile) / 1000.0

    def summary(self) -> dict[str, Any]:
        """count, min, mean, p50 … p99.9 and max, in milliseconds."""
        if not self.count:
            return {"count": 0}
        out: dict[str, Any] = {
            "count": self.count,
            "min": self._h.get_min_value() / 1000.0,
            "mean": round(self._h.get_mean_value() / 1000.0, 3),
        }
        for name, percentile in PERCENTILES:
            out[name] = self.percentile_ms(percentile)
        out["max"] = self._h.get_max_value() / 1000.0
        return out

    def counts(self) -> dict[int, int]:
        """Bucket value -> count, for comparing histograms exactly."""
        return {
            int(item.value_iterated_to): int(item.count_at_value_iterated_to)
            for item in self._h.get_recorded_iterator()
        }
