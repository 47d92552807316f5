"""Durations, percentages and sizes as scenario files and thresholds write them."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str | int | float) -> float:
    """``"150ms"``, ``"30s"``, ``"2m"``, ``"1h"`` or a bare number of seconds -> seconds.

    Raises ``ValueError`` with a readable message for anything else.
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a duration like '30s', not {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"a duration cannot be negative ({text})")
        return float(text)
    if not isinstance(text, str):
        raise ValueError(f"expected a duration like '30s', not {text!r}")
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"expected a duration like '150ms', '30s', '2m' or '1h', not {text!r}")
    return float(match.group(1)) * _SCALE[match.group(2)]


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 120:
        return f"{seconds:g}s"
    if seconds < 7200:
        return f"{seconds / 60:g}m"
    return f"{seconds / 3600:g}h"


def format_ms(value: float | None) -> str:
    """A latency in milliseconds, with precision that suits its size."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value:.3f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:.0f}"
