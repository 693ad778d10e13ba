"""One server per SQLite file: an exclusive ``flock`` on a lock file beside the database.

    lock = ServerLock.for_database("sqlite+aiosqlite:///firstline.db")  # None: not SQLite
    lock.acquire()   # raises DatabaseInUse if another `firstline serve` holds it
    ...
    lock.release()   # also released by the OS if the process dies

SQLite allows one writer and Firstline's timer sweep assumes one process (no
``SKIP LOCKED``), so a second server on the same file would double-fire timers. The
kernel drops a ``flock`` when its holder exits, even on SIGKILL, so no stale lock
survives a crash.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from sqlalchemy.engine import make_url

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: no lock, as before
    fcntl = None  # type: ignore[assignment]


class DatabaseInUse(Exception):
    def __init__(self, path: Path, holder: str) -> None:
        self.path = path
        self.holder = holder
        super().__init__(f"{path} is in use by {holder}")


class ServerLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @classmethod
    def for_database(cls, url: str) -> ServerLock | None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite" or not parsed.database:
            return None
        if parsed.database == ":memory:" or parsed.database.startswith("file::memory:"):
            return None
        database = Path(parsed.database).resolve()
        return cls(database.with_name(database.name + ".serve.lock"))

    def acquire(self) -> None:
        if fcntl is None or self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            raise DatabaseInUse(self.path, holder or "another process") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"firstline serve, pid {os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing drops the flock
