"""Start the embedded servers a node needs, share them between nodes, stop them last."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import structlog

from ._embedded_postgres import EmbeddedPostgres
from ._embedded_process import UserLock, exclusive
from ._embedded_redis import EmbeddedRedis

log = structlog.get_logger("storage.embedded")


@dataclass
class EmbeddedServers:
    """The embedded PostgreSQL and/or Redis of one data folder.

    ``start()`` is blocking (initdb, server start-up): call it from a worker thread in trio
    code. Every node using the folder holds a shared lock until ``stop()``; only the last
    node to stop shuts the servers down, so several local nodes can share them.
    """

    data_dir: Path
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    _users: UserLock | None = field(default=None, repr=False)

    @classmethod
    def for_missing(cls, data_dir: Path, *, database: bool, redis: bool) -> EmbeddedServers:
        data_dir = data_dir.resolve()
        return cls(
            data_dir=data_dir,
            postgres=EmbeddedPostgres(data_dir) if database else None,
            redis=EmbeddedRedis(data_dir) if redis else None,
        )

    @property
    def database_url(self) -> str | None:
        return self.postgres.url if self.postgres else None

    @property
    def redis_url(self) -> str | None:
        return self.redis.url if self.redis else None

    def start(self) -> None:
        if self.postgres is None and self.redis is None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with exclusive(self.data_dir / "embedded.start.lock"):
            self._users = UserLock(self.data_dir / "embedded.users.lock")
            self._users.acquire()
            try:
                if self.postgres is not None:
                    self.postgres.start()
                if self.redis is not None:
                    self.redis.start()
            except BaseException:
                self._release_and_stop()
                raise

    def stop(self) -> None:
        if self._users is None:
            return
        with exclusive(self.data_dir / "embedded.start.lock"):
            self._release_and_stop()

    def _release_and_stop(self) -> None:
        users, self._users = self._users, None
        if users is None or not users.release_is_last():
            log.info("embedded_servers_left_running", reason="other nodes use them")
            return
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()
