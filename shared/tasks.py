"""Stopping a background task: the one way every loop of the platform is shut down.

One cancel is not always enough on Python 3.11: `asyncio.wait_for` returns the awaited
result when it completes in the same loop step as the cancel, and the cancel is lost. Our own
code no longer uses it (ruff bans it), but nats-py does, in every request (a publish's ack),
fetch and flush. A loop whose cancel was lost there runs on, and a shutdown that awaits it
hangs (seen: a test's app that never stopped). So a task still running `RECANCEL_S` after
its cancel is cancelled again, with a warning naming it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("hulei.tasks")

# Longer than any clean-up a cancelled task runs in its `finally` (the gateway's last audit
# checkpoint waits 3 s at most): a second cancel would cut that short.
RECANCEL_S = 5.0


async def stop(task: asyncio.Task[Any], *, recancel_s: float = RECANCEL_S) -> None:
    """Cancel `task` and wait until it has ended; raise what it failed with, if anything but
    its cancel (as `await task` would).

    The caller's own cancellation ends the wait (the task has been cancelled by then)."""
    if not task.done():
        task.cancel()
        while not (await asyncio.wait([task], timeout=recancel_s))[0]:
            log.warning("task %s ran on after its cancel; cancelling it again", task.get_name())
            task.cancel()
    if not task.cancelled() and (error := task.exception()) is not None:
        raise error
