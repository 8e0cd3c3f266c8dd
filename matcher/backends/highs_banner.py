"""HiGHS's banner kept off standard output.

The first `highspy.Highs()` of a process prints "Running HiGHS ..." from C straight to file
descriptor 1, before PuLP's `HiGHS` can switch its output off, so `bedmatch solve --backend
pulp > s.json` would not be JSON; later ones print nothing. `discard` makes that first one
with descriptor 1 on /dev/null. It does so once, not around every solve: pointing descriptor 1
away for a whole solve would also swallow what the service's other threads print meanwhile.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_discarded = False


def discard() -> None:
    """Print HiGHS's banner to /dev/null, once per process (nothing where highspy is missing)."""
    global _discarded
    with _lock:
        if _discarded:
            return
        try:
            import highspy
        except ImportError:
            _discarded = True
            return
        with stdout_descriptor_discarded():
            highspy.Highs()
        _discarded = True


@contextlib.contextmanager
def stdout_descriptor_discarded() -> Iterator[None]:
    """File descriptor 1 on /dev/null for the block: what C code prints there is dropped."""
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor 1 at all: nothing to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        _flush_c_stdio()  # what C buffered goes to /dev/null, not to the restored stdout
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _flush_c_stdio() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).fflush(None)
