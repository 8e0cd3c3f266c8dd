"""Evening out kept-alive connections between the worker processes of one server.

uvicorn's worker processes share one listening socket, and the one that wakes first takes
every connection waiting: 20 clients connecting at once fell 10/10, 13/7, even 19/1 between
two processes. A client keeps its connection and a process serves only its own, so the busier
process answers more slowly for as long as they stay (rank summary, 10,000 bed-spaces,
20 clients, 2 processes: p99 35-48 ms when the connections fell about evenly, 86 ms at 19/1).

So each worker process counts its active connections (those that sent a request in the last
`WINDOW_S`) and publishes the count in its slot of a small file shared by the processes of
the server. A process holding `MARGIN` or more connections above the least loaded of the
others answers one request with `Connection: close`: the client connects again, and the new
connection goes to whichever process accepts it first, most often the one with less to do.
At most one connection is let go every `GAP_S`, so the counts settle between moves. Clients
(browsers, HTTP libraries) connect again on their own; the answer itself is whole.

Only worker processes started by a supervisor (`bedmatch serve --workers N`, uvicorn's
`--workers`) balance; a single process has nobody to balance with.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

try:
    import fcntl
except ImportError:  # not a POSIX system: no balancing
    fcntl = None  # type: ignore[assignment]

WINDOW_S = 1.0  # a connection that sent nothing for this long is not counted
CHECK_S = 0.05  # how often a process recounts and compares
MARGIN = 3  # connections above the least loaded process before one is let go
GAP_S = 0.1  # at least this long between two connections let go by one process
SLOTS = 64  # worker processes one server may have (`bedmatch serve` allows 64)


def shared_path(supervisor_pid: int) -> Path:
    """The slot file of the worker processes of the supervisor `supervisor_pid`."""
    directory = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    return directory / f"bedmatch-workers-{supervisor_pid}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


class WorkerBalance:
    """This process's slot in the shared file, and the decision to let a connection go."""

    def __init__(
        self, path: Path, pid: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = path
        self.pid = os.getpid() if pid is None else pid
        self._clock = clock
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._descriptor = os.open(path, flags, 0o600)
        size = SLOTS * 2 * 8
        if os.fstat(self._descriptor).st_size < size:
            os.ftruncate(self._descriptor, size)  # zero-filled: every slot free
        self._map = mmap.mmap(self._descriptor, size)
        # Column 0: the pid holding the slot (0: free); column 1: its active connections.
        # Each process writes only its own row, one aligned 8-byte word at a time.
        self._slots = np.frombuffer(self._map, dtype=np.int64).reshape(SLOTS, 2)
        self._slot = self._claim()
        self._seen: dict[object, float] = {}  # connection -> when it last sent a request
        self._next_check = 0.0
        self._next_let_go = 0.0
        self._peers: list[int] = []
        self._next_peer_scan = 0.0

    @classmethod
    def for_this_process(cls) -> WorkerBalance | None:
        """A worker process's balance, or None in a process started on its own."""
        parent = multiprocessing.parent_process()
        if parent is None or parent.pid is None or fcntl is None:
            return None
        return cls(shared_path(parent.pid))

    def _claim(self) -> int:
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        try:
            pids = self._slots[:, 0].tolist()
            for slot, pid in enumerate(pids):
                if pid == self.pid or pid == 0 or not _alive(pid):
                    self._slots[slot] = (self.pid, 0)
                    return slot
            raise RuntimeError(f"more than {SLOTS} worker processes share {self.path}")
        finally:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)

    def let_go(self, connection: object) -> bool:
        """Note a request on `connection`; whether to close it after this answer."""
        now = self._clock()
        new = connection not in self._seen
        self._seen[connection] = now
        if new:  # published at once: a peer deciding now must not count it missing
            self._slots[self._slot, 1] = len(self._seen)
        if now < self._next_check:
            return False
        self._next_check = now + CHECK_S
        cutoff = now - WINDOW_S
        self._seen = {c: at for c, at in self._seen.items() if at >= cutoff}
        mine = len(self._seen)
        self._slots[self._slot, 1] = mine
        least = self._least_loaded_other(now)
        if least is None or mine < least + MARGIN or now < self._next_let_go:
            return False
        self._next_let_go = now + GAP_S
        del self._seen[connection]
        self._slots[self._slot, 1] = mine - 1
        return True

    def _least_loaded_other(self, now: float) -> int | None:
        if now >= self._next_peer_scan:  # processes come and go rarely: look once a second
            self._next_peer_scan = now + 1.0
            pids = self._slots[:, 0].tolist()
            self._peers = [
                slot
                for slot, pid in enumerate(pids)
                if slot != self._slot and pid != 0 and _alive(pid)
            ]
        if not self._peers:
            return None
        return int(self._slots[self._peers, 1].min())

    def close(self) -> None:
        """Give the slot back; the last process out removes the file."""
        if self._map.closed:
            return
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        try:
            self._slots[self._slot] = (0, 0)
            others = [pid for pid in self._slots[:, 0].tolist() if pid != 0 and _alive(pid)]
            if not others:
                self.path.unlink(missing_ok=True)
        finally:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)
        del self._slots
        self._map.close()
        os.close(self._descriptor)


class ConnectionBalance:
    """ASGI middleware: `Connection: close` on the answers `WorkerBalance` lets go."""

    def __init__(self, app: ASGIApp, balance: WorkerBalance) -> None:
        self.app = app
        self.balance = balance

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] != "http" or client is None or not self.balance.let_go(tuple(client)):
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["connection"] = "close"
            await send(message)

        await self.app(scope, receive, send_closing)
