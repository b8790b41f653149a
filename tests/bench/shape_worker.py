"""One part of the shape's floor (tests/bench/shape.py), in a process of its own so that /proc and
the process clock see it alone: bare nats-py publishes and pull deliveries, and the same through
the platform's runtime (outbox relay, `Runtime.consume` on a SQLite file). uvloop, as services.

    python -m tests.bench.shape_worker MODE N   (env: URL, NATS_USER, NATS_PASSWORD, STORE, RATE)

Prints "ready" once connected, waits for a line on stdin, does its N messages, then prints one
JSON line: the process CPU (all threads) spent from the go to the last message, in ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import nats
import uvloop
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from shared.contracts.cases import ReportLinked
from shared.events import Envelope

STREAM, SUBJECT, DURABLE = "CASES", "case.report.linked.v1", "bench-floor"
BACKLOG_BATCH = 64


def event(n: int) -> Envelope:
    """An event of the platform's own (a report linked to its case), about its usual size."""
    data = ReportLinked(report_id=f"rep-{n}", case_id=f"case-{n}")
    return Envelope.wrap(data, source="case_tracking", subject=f"rep-{n}", correlation_id="b")


async def _go() -> None:
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def _timed(n: int, work: Callable[[], Awaitable[None]]) -> None:
    """`work` between the go and its end, its CPU and wall time printed per message."""
    await _go()
    cpu, wall = time.process_time(), time.monotonic()
    await work()
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    print(json.dumps({"n": n, "client_ms": 1000 * cpu / n, "wall_ms": 1000 * wall / n}), flush=True)


async def _connect() -> Client:
    return await nats.connect(
        os.environ["URL"], user=os.environ["NATS_USER"], password=os.environ["NATS_PASSWORD"]
    )


async def publish(n: int, *, rate: float) -> None:
    """One at a time, each awaiting its ack, with the relay's Nats-Msg-Id; paced if `rate`."""
    nc = await _connect()
    js = nc.jetstream()
    events = [(e.id, e.model_dump_json().encode()) for e in map(event, range(n))]

    async def work() -> None:
        start = time.monotonic()
        for i, (msg_id, payload) in enumerate(events):
            if rate:
                await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            await js.publish(SUBJECT, payload, headers={"Nats-Msg-Id": msg_id})

    await _timed(n, work)
    await nc.close()


async def deliver(n: int, *, batch: int) -> None:
    """A bare durable pull consumer: fetch `batch` (1: each as it arrives), ack each."""
    nc = await _connect()
    js = nc.jetstream()
    config = ConsumerConfig(
        durable_name=DURABLE,
        filter_subject=SUBJECT,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
    )
    await js.add_consumer(STREAM, config)
    sub = await js.pull_subscribe_bind(DURABLE, stream=STREAM)

    async def work() -> None:
        seen = 0
        while seen < n:
            try:
                msgs = await sub.fetch(min(batch, n - seen), timeout=5)
            except nats.errors.TimeoutError:
                continue
            for msg in msgs:
                await msg.ack()
            seen += len(msgs)

    await _timed(n, work)
    await nc.close()


def _settings() -> object:
    from shared.settings import BaseServiceSettings

    return BaseServiceSettings(
        demo_mode=True,
        nats_url=os.environ["URL"],
        nats_user=os.environ["NATS_USER"],
        nats_password=os.environ["NATS_PASSWORD"],
        store_url=os.environ["STORE"],
    )


async def kernel_deliver(n: int, *, trickle: bool) -> None:
    """`Runtime.consume` with a no-op effect: each event marked once, a batch per commit. For a
    backlog it starts pulling at the go; for a trickle it waits, bound, for the first event."""
    from shared.runtime import UnitOfWork, open_runtime
    from shared.streams import ConsumerSpec

    seen, done = 0, asyncio.Event()

    async def effect(_envelope: Envelope, _uow: UnitOfWork) -> None:
        nonlocal seen
        seen += 1
        if seen >= n:
            done.set()

    spec = ConsumerSpec(STREAM, DURABLE, SUBJECT)
    async with open_runtime(_settings(), name="bench", declare=True) as rt:  # type: ignore[arg-type]
        if trickle:
            rt.consume(spec, effect)
            await asyncio.sleep(0.5)  # bound and pulling before the first event

        async def work() -> None:
            if not trickle:
                rt.consume(spec, effect)
            await done.wait()

        await _timed(n, work)


async def kernel_publish(n: int) -> None:
    """`Runtime.transact` emitting one event, one after another; the relay publishes each (and
    the next transaction deletes it from the outbox). Ends when the stream holds all n."""
    from shared.runtime import UnitOfWork, open_runtime

    events = [event(i) for i in range(n)]
    async with open_runtime(_settings(), name="bench", declare=True) as rt:  # type: ignore[arg-type]
        first = (await rt.bus.js.stream_info(STREAM)).state.last_seq

        async def work() -> None:
            for e in events:

                async def emit(uow: UnitOfWork, e: Envelope = e) -> None:
                    uow.emit(e)

                await rt.transact(emit)
            for _ in range(3000):  # the last few still being relayed; a minute at most
                if (await rt.bus.js.stream_info(STREAM)).state.last_seq >= first + n:
                    return
                await asyncio.sleep(0.02)
            raise RuntimeError("the relay did not publish every event within a minute")

        await _timed(n, work)


def main() -> None:
    mode, n = sys.argv[1], int(sys.argv[2])
    rate = float(os.environ.get("RATE", "0"))
    run: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
        "publish": lambda: publish(n, rate=rate),
        "deliver-trickle": lambda: deliver(n, batch=1),
        "deliver-backlog": lambda: deliver(n, batch=BACKLOG_BATCH),
        "kernel-deliver-trickle": lambda: kernel_deliver(n, trickle=True),
        "kernel-deliver-backlog": lambda: kernel_deliver(n, trickle=False),
        "kernel-publish": lambda: kernel_publish(n),
    }
    uvloop.run(run[mode]())  # as the services run (uvicorn's defaults pick uvloop)


if __name__ == "__main__":
    main()
