"""Clock-offset estimation between a worker and the runner (or the server).

Each probe is ``(local_send, remote, local_receive)``. Assuming the remote stamped its time
halfway through the round trip, ``remote - (local_send + local_receive) / 2`` is the
offset to add to the local clock; its error is at most half the round trip, so the probe
with the shortest round trip wins (as NTP's clock filter does).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Offset:
    offset_ns: int  # add to the local clock to get the reference clock
    rtt_ns: int  # round trip of the probe it came from; the error bound is half of it

    @property
    def error_ns(self) -> int:
        return self.rtt_ns // 2


def estimate_offset(probes: Iterable[tuple[int, int, int]]) -> Offset:
    best: Offset | None = None
    for sent, remote, received in probes:
        if received < sent:
            raise ValueError("a probe came back before it was sent")
        rtt = received - sent
        if best is None or rtt < best.rtt_ns:
            best = Offset(remote - (sent + received) // 2, rtt)
    if best is None:
        raise ValueError("no probes")
    return best


class ReferenceClock:
    """Wall-clock nanoseconds on the runner's clock, from this process."""

    def __init__(self, offset_ns: int = 0) -> None:
        self.offset_ns = offset_ns

    def now_ns(self) -> int:
        return time.time_ns() + self.offset_ns
