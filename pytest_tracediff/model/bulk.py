"""Bulk work (parsing a golden, normalizing, diffing, writing 100,000 steps) without the cyclic GC.

These phases allocate millions of small objects and create no garbage cycles, so
every collection the allocations trigger walks a growing heap for nothing: at
100,000 steps that was most of their time (json.loads of a 48 MB golden: 1.9 s with
the GC, 0.23 s without). The GC is paused for the phase and restored after it,
however the phase ends; nested phases leave it to the outermost.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with the cyclic GC off (unless the caller had it off already)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
