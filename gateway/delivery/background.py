"""Running a loop (the outbox worker, the journal poller) on a daemon thread of the API."""

from __future__ import annotations

import threading
from collections.abc import Callable

Loop = Callable[[threading.Event, float], None]


def start_in_background(run_forever: Loop, poll_seconds: float, name: str) -> Callable[[], None]:
    """Run ``run_forever(stop, poll_seconds)`` on a daemon thread called ``name``; returns a
    function that stops it and waits (at most 10 s) for it to finish."""
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(stop, poll_seconds), daemon=True, name=name)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=10)

    return halt
