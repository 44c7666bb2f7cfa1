"""Seconds per pipeline stage, for the benchmark: a hook the product exposes, off by default.

``Assistant(..., clock=StageClock())`` makes search and answering record how long each
stage took (embed, dense, lexical, search, answer) in the calling thread; ``take()`` hands
over and resets the totals. Without a clock the stages run under :data:`NO_CLOCK`, which
does nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext


class StageClock:
    """Adds up the wall time of named stages, per thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _totals(self) -> dict[str, float]:
        totals = getattr(self._local, "totals", None)
        if totals is None:
            totals = self._local.totals = {}
        return totals

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            totals = self._totals()
            totals[stage] = totals.get(stage, 0.0) + time.perf_counter() - started

    def take(self) -> dict[str, float]:
        """The totals since the last ``take`` in this thread (then reset)."""
        totals = self._totals()
        self._local.totals = {}
        return totals


class _NoClock:
    def __call__(self, stage: str) -> AbstractContextManager[None]:
        return nullcontext()

    def take(self) -> dict[str, float]:
        return {}


#: The clock of a product that is not being measured.
NO_CLOCK: StageClock | _NoClock = _NoClock()
