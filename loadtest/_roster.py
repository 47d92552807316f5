"""Who the virtual users are and what they do when: the plan every worker follows.

Pure functions of the scenario (and its seed), so every worker computes the same plan
without being told more than its own share.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ._scenario import ROLES, Scenario, Stage

PASSWORD = "Loadtest-2024"  # every harness account; they are throwaway accounts


@dataclass(frozen=True, slots=True)
class VirtualUser:
    index: int  # 0..roster-1; users start in index order and stop in reverse
    role: str
    email: str
    username: str
    target: int  # index into scenario.targets
    rooms: tuple[int, ...]  # indexes into the run's room list
    source: str | None  # local address the user's HTTP requests leave from


def account_prefix(scenario: Scenario, run_tag: str) -> str:
    """Usernames are ``<prefix><role letter><index>``, at most 30 characters."""
    base = "".join(ch for ch in scenario.name.lower() if ch.isalnum())[:8]
    return f"lt{base}{run_tag}"


def build_roster(scenario: Scenario, run_tag: str) -> list[VirtualUser]:
    """The users, roles interleaved so that any prefix of the roster keeps the mix."""
    rng = random.Random(scenario.run.seed)
    total = scenario.roster_size
    roles: list[str] = []
    # Largest-remainder interleave: at every prefix each role has its share, rounded.
    placed = dict.fromkeys(ROLES, 0)
    for i in range(total):
        want = {r: (i + 1) * scenario.users[r] / total - placed[r] for r in ROLES}
        role = max(ROLES, key=lambda r: (want[r], -ROLES.index(r)))
        placed[role] += 1
        roles.append(role)
    prefix = account_prefix(scenario, run_tag)
    sources = scenario.source_addresses
    offset = rng.randrange(len(sources)) if sources else 0
    memberships = assign_rooms(scenario, total, rng)
    users = []
    for i, role in enumerate(roles):
        username = f"{prefix}{role[0]}{i}"
        users.append(
            VirtualUser(
                index=i,
                role=role,
                email=f"{username}@loadtest.pitchey.test",
                username=username,
                target=i % len(scenario.targets),
                rooms=memberships[i],
                source=sources[(offset + i) % len(sources)] if sources else None,
            )
        )
    return users


def assign_rooms(scenario: Scenario, total: int, rng: random.Random) -> list[tuple[int, ...]]:
    """Each user's rooms: with probability ``hot_share`` a membership goes to a random hot
    room, otherwise round-robin over all rooms (an even spread); never the same room twice."""
    rooms = scenario.rooms
    out = []
    for i in range(total):
        chosen: list[int] = []
        for slot in range(rooms.per_user):
            hot = [r for r in range(rooms.hot) if r not in chosen]
            if hot and rng.random() < rooms.hot_share:
                chosen.append(rng.choice(hot))
                continue
            pick = (i * rooms.per_user + slot) % rooms.count
            while pick in chosen:
                pick = (pick + 1) % rooms.count
            chosen.append(pick)
        out.append(tuple(chosen))
    return out


def room_owner(room: int, creators: list[int]) -> int:
    """The roster index of the creator who owns room (or NDA pitch) number ``room``."""
    return creators[room % len(creators)]


def users_at(stages: tuple[Stage, ...], elapsed: float) -> int:
    """Concurrent users the stages ask for ``elapsed`` seconds into the run: linear from
    the previous stage's count (0 before the first) to this stage's over its duration."""
    previous = 0
    start = 0.0
    for stage in stages:
        end = start + stage.duration
        if elapsed < end:
            fraction = (elapsed - start) / stage.duration if stage.duration else 1.0
            return round(previous + (stage.users - previous) * max(0.0, fraction))
        previous, start = stage.users, end
    return 0


def worker_share(users: list[VirtualUser], worker: int, workers: int) -> list[VirtualUser]:
    """Users are dealt round-robin, so every worker carries the same share of each stage."""
    return [u for u in users if u.index % workers == worker]
