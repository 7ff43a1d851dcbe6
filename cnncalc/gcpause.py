"""Building large networks without the cyclic garbage collector's pauses."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a network is expanded or propagated.

    A 100,000-layer network allocates millions of objects that form no cycles; each automatic collection scans
    all of them again, so the time per layer would grow with the network's size. Reference counting still frees
    everything as usual; the collector runs again afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
