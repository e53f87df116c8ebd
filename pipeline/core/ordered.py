"""Work on a stream of parts a few at a time, the results in the parts' order.

`ordered_map(function, items)` is `map(function, items)` with up to `workers` calls running at once
on threads. Worth it where `function` spends its time outside Python's lock, as polars does while it
parses and computes: a big contribution is checked two 16 MiB chunks at a time on two cores.
"""

from __future__ import annotations

import os
from collections import deque
from itertools import chain

WORKERS = min(2, os.cpu_count() or 1)
_END = object()


def ordered_map(function, items, workers: int = WORKERS, queued: int = 1):
    """function(item) for each item, yielded in order. Items are taken from `items` in the calling
    thread, one more each time a result is taken, so at most `workers` + `queued` are in hand: a
    queued item starts as soon as a worker is free, so a worker whose item finished early does not
    wait for the item before it to be taken. An exception is raised where its item's result would
    have been; the work still running is waited for first. A single item is worked on in the calling
    thread (no threads started)."""
    items = iter(items)
    first = next(items, _END)
    second = _END if first is _END or workers <= 1 else next(items, _END)
    if second is _END:
        yield from map(function, chain([] if first is _END else [first], items))
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ketamap")
    pending: deque = deque()
    try:
        for item in chain([first, second], items):
            pending.append(pool.submit(function, item))
            if len(pending) >= workers + queued:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
