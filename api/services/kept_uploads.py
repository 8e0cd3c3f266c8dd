"""Uploads kept between an import's preview and its commit.

The import page checks a file and shows every change before anything is stored; the
coordinator then confirms. The file is kept on disk meanwhile (never in memory: it may be
as large as the import limit), under a random token only the person who uploaded it can
use, for a limited time; confirming or cancelling takes it away.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

KEPT_FOR_S = 30 * 60
KEPT_PER_PERSON = 3  # previews waiting for a decision; the oldest goes first


@dataclass(frozen=True)
class KeptUpload:
    token: str
    username: str
    kind: str
    filename: str
    path: Path
    kept_at: float


class KeptUploads:
    """Files waiting for an import's confirmation, in a directory of their own."""

    def __init__(self, directory: Path | None = None) -> None:
        self._dir = directory or Path(tempfile.mkdtemp(prefix="bedmatch-imports-"))
        self._dir.mkdir(parents=True, exist_ok=True)
        self._kept: dict[str, KeptUpload] = {}
        self._lock = threading.Lock()

    def keep(self, username: str, kind: str, filename: str, file: IO[bytes]) -> KeptUpload:
        token = secrets.token_urlsafe(24)
        path = self._dir / token
        file.seek(0)
        with path.open("wb") as out:
            shutil.copyfileobj(file, out)
        kept = KeptUpload(token, username.lower(), kind, filename, path, time.monotonic())
        with self._lock:
            self._expire()
            mine = sorted(
                (k for k in self._kept.values() if k.username == kept.username),
                key=lambda k: k.kept_at,
            )
            for old in mine[: max(0, len(mine) - KEPT_PER_PERSON + 1)]:
                self._drop(old.token)
            self._kept[token] = kept
        return kept

    def take(self, token: str, username: str) -> KeptUpload | None:
        """The upload, taken away (the caller reads its file, then calls `discard`); None if
        there is none under the token for this person, or it expired."""
        with self._lock:
            self._expire()
            kept = self._kept.get(token)
            if kept is None or kept.username != username.lower():
                return None
            del self._kept[token]
            return kept

    def discard(self, kept: KeptUpload) -> None:
        kept.path.unlink(missing_ok=True)

    def _drop(self, token: str) -> None:
        kept = self._kept.pop(token, None)
        if kept is not None:
            kept.path.unlink(missing_ok=True)

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, k in self._kept.items() if now - k.kept_at > KEPT_FOR_S]:
            self._drop(token)


__all__ = ["KEPT_FOR_S", "KeptUpload", "KeptUploads"]
