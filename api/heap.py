"""Long-lived data kept out of the cyclic garbage collector's way.

The cached problem and ranking context of a city's portfolio are hundreds of thousands of
objects that live until the data changes. Left in the collector's oldest generation, each
full collection walks all of them: on 10,000 bed-spaces a pause of 40-120 ms, taken by
whichever request happened to allocate last, that stalls every request in flight. Under load
those pauses were the service's p99 (an audited read: p50 45 ms, p99 148 ms; frozen,
p99 60 ms).

So once such data is built, the heap is collected (garbage left by the data it replaced
goes now, in one pause on a request that is already rebuilding) and what remains is frozen:
full collections then walk only what requests allocate. Frozen objects are still freed by
reference counting when the cache drops them; only cyclic garbage among them waits for the
next settle, which unfreezes first.
"""

from __future__ import annotations

import gc
import threading

_settling = threading.Lock()


def settle_long_lived() -> None:
    """Collect, then freeze everything alive (call after building long-lived data). A call
    while another thread settles returns at once: that one freezes this thread's data too,
    or the next rebuild will."""
    if not _settling.acquire(blocking=False):
        return
    try:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
    finally:
        _settling.release()
