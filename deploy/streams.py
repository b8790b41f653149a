"""Declare every JetStream stream and durable consumer from `shared/streams.py`.

The services declare what they use at start-up; this command lets a deployment do it
up front (the Kubernetes Job runs it) from the very same definitions:

    python -m deploy.streams --nats-url nats://nats:4222 --replicas 3
    python -m deploy.streams --print      # the JetStream configs as JSON, declaring nothing
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

from shared.bus import Bus
from shared.streams import CONSUMERS, STREAMS, consumer_config, stream_config


def configs(replicas: int) -> dict[str, object]:
    return {
        "streams": [stream_config(s, replicas=replicas).as_dict() for s in STREAMS],
        "consumers": [
            {"stream": c.stream, "config": consumer_config(c).as_dict()} for c in CONSUMERS
        ],
    }


async def declare(url: str, replicas: int) -> None:
    bus = Bus(url=url, name="declare-streams", replicas=replicas)
    await bus.connect()
    try:
        await bus.ensure_streams()
        await bus.ensure_consumers()
    finally:
        await bus.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS", "1")))
    parser.add_argument("--print", action="store_true", help="print the configs and exit")
    args = parser.parse_args()
    if args.print:
        print(json.dumps(configs(args.replicas), indent=2))
        return
    asyncio.run(declare(args.nats_url, args.replicas))
    print(f"declared {len(STREAMS)} streams and {len(CONSUMERS)} consumers")


if __name__ == "__main__":
    main()
