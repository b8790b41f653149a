"""Declare every JetStream stream and durable consumer from `shared/streams.py`.

The services may not declare anything (their NATS identities lack the rights): this command,
run as the `admin` NATS identity, declares it all up front (the launcher, the compose `streams`
service and the Kubernetes Job run it) from the very same definitions, and deletes the durables
retired since (`shared/streams.RETIRED`, after placing their successors: deploy/durables.py):

    NATS_USER=admin NATS_PASSWORD=… python -m deploy.streams --nats-url nats://nats:4222 \
        --replicas 3 [--ca-file ca.crt]
    python -m deploy.streams --print      # the JetStream configs as JSON, declaring nothing
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

from deploy.durables import declare_consumers
from shared.bus import Bus
from shared.streams import CONSUMERS, STREAMS, consumer_config, stream_config


def configs(replicas: int) -> dict[str, object]:
    return {
        "streams": [stream_config(s, replicas=replicas).as_dict() for s in STREAMS],
        "consumers": [
            {"stream": c.stream, "config": consumer_config(c).as_dict()} for c in CONSUMERS
        ],
    }


async def declare(
    url: str,
    replicas: int,
    *,
    user: str | None = None,
    password: str | None = None,
    ca_file: str | None = None,
) -> list[str]:
    """Declare everything; the retired durables this run deleted."""
    bus = Bus(
        url=url,
        name="declare-streams",
        replicas=replicas,
        user=user,
        password=password,
        ca_file=ca_file,
    )
    await bus.connect()
    try:
        await bus.ensure_streams()
        return await declare_consumers(bus.js)
    finally:
        await bus.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS", "1")))
    parser.add_argument("--ca-file", default=os.environ.get("NATS_CA_FILE"))
    parser.add_argument("--print", action="store_true", help="print the configs and exit")
    args = parser.parse_args()
    if args.print:
        print(json.dumps(configs(args.replicas), indent=2))
        return
    # Credentials from the environment only, never the command line (visible in `ps`).
    user, password = os.environ.get("NATS_USER"), os.environ.get("NATS_PASSWORD")
    retired = asyncio.run(
        declare(args.nats_url, args.replicas, user=user, password=password, ca_file=args.ca_file)
    )
    print(f"declared {len(STREAMS)} streams and {len(CONSUMERS)} consumers")
    if retired:
        print(f"deleted retired consumers: {', '.join(retired)}")


if __name__ == "__main__":
    main()
