"""Gap and duplicate detection from per-room sequence numbers.

Every durable room event carries ``seq``, one more than the previous event of the room.
A tracker follows one connection's view of one room: a ``seq`` more than one ahead is a
gap (the events between were never delivered), one already seen is a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class SequenceTracker:
    last: int | None = None  # None until the first joined snapshot
    gaps: int = 0  # events missed
    duplicates: int = 0

    def snapshot(self, seq: int) -> None:
        """A ``joined`` without ``since``: the room is at ``seq``; start from there."""
        self.last = seq

    def event(self, seq: int) -> tuple[int, int]:
        """Account for one durable event; returns (missed, duplicated) for it."""
        if self.last is None:
            self.last = seq
            return 0, 0
        if seq <= self.last:
            self.duplicates += 1
            return 0, 1
        missed = seq - self.last - 1
        self.gaps += missed
        self.last = seq
        return missed, 0
