"""What makes nats-server's resident set grow: the soak's JetStream traffic without the services.

    python -m tests.bench.nats_memory [--case fixed] [--reports 30000] [--every 5000]
        [--dupe-window-s 1] [--due-s 60] [--gomemlimit 96MiB] [--prof]

Starts one nats-server as the launcher does (its config, `sync_interval: always`, every stream
and durable of shared/streams.py declared by `deploy.streams`) in a temporary directory, then
publishes what `--reports` filed reports store, pipelined: SCHOOL 1 and CASES 1 message (the
intake's carrier; 4 before session 11) on fixed subjects (`--case fixed`: the platform's shape),
TIMERS 2 schedules each on a subject of its own, due a day later like an escalation (`--case
timers`: what the platform published before its timers moved into case_tracking's store,
shared/timers.py; kept to measure the difference), or both. Every message is a ~1 KB JSON
envelope with a fresh Nats-Msg-Id, as the bus publishes it. Prints the server's VmRSS every
`--every` reports and the growth per 100 000 messages. `--prof` adds a profiling port: the live
heap (after a forced collection) at every sample, bytes per message, and the heap by allocating
site at the end. `--dupe-window-s` overrides every stream's duplicate window (to see what the
Nats-Msg-Id tracking costs), `--due-s` makes the timers fire soon (to see what firing gives
back). Not a test: nothing here fails a build. Findings: docs/performance.md, "nats-server
memory".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
from nats.aio.client import Client as NATS

from deploy.launcher import Platform, Ports, free_port
from shared.nats_auth import ADMIN
from shared.streams import STREAMS
from tests.bench.soak import rss_mib

# A report's messages since session 11: its filing, and its intake as one carrier.
FIXED = (
    ("school.report.filed.v1", 1),
    ("case.intake.recorded.v1", 1),
)
TIMERS_PER_REPORT = 2
ENVELOPE_BYTES = 1000
IN_FLIGHT = 2000


def envelope(subject: str) -> tuple[bytes, str]:
    """A JSON envelope of about ENVELOPE_BYTES and its event id (the Nats-Msg-Id)."""
    event_id = uuid.uuid4().hex
    body = {
        "id": event_id,
        "type": subject,
        "subject": uuid.uuid4().hex,
        "correlation_id": uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": {},
    }
    pad = ENVELOPE_BYTES - len(json.dumps(body))
    body["data"] = {"note": "x" * max(pad - 12, 0)}
    return json.dumps(body).encode(), event_id


def messages(case: str, *, due_s: float) -> Iterator[tuple[str, bytes, dict[str, str]]]:
    """One report's messages: (subject, payload, headers); its timers due in `due_s`."""
    if case in ("fixed", "both"):
        for subject, times in FIXED:
            for _ in range(times):
                payload, event_id = envelope(subject)
                yield subject, payload, {"Nats-Msg-Id": event_id}
    if case in ("timers", "both"):
        at = (datetime.now(UTC) + timedelta(seconds=due_s)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for step in range(TIMERS_PER_REPORT):
            payload, event_id = envelope("timer.task.due.v1")
            headers = {
                "Nats-Msg-Id": event_id,
                "Nats-Schedule": f"@at {at}",
                "Nats-Schedule-Target": "timer.task.due.v1",
            }
            yield f"timer.schedule.task.{uuid.uuid4().hex}.s{step}", payload, headers


class Server(Platform):
    """The launcher's NATS, optionally with Go's profiling port (debugging only)."""

    prof_port: int | None = None

    def _nats_config(self, index: int) -> str:
        config = super()._nats_config(index)
        return config + (f"prof_port: {self.prof_port}\n" if self.prof_port else "")


@dataclass
class Sample:
    reports: int
    stored: int
    rss: float
    heap: float | None  # live, after a collection (only with --prof)


async def subjects(nc: NATS, stream: str) -> int:
    """How many subjects the stream holds messages on (nats-py's StreamState lacks it)."""
    reply = await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=10)
    return int(json.loads(reply.data)["state"].get("num_subjects", 0))


async def publish(
    *,
    server: Server,
    case: str,
    reports: int,
    every: int,
    dupe_window_s: float | None,
    due_s: float,
) -> list[Sample]:
    pid = server.procs["nats"].pid
    nc = await nats.connect(server.nats_url, **server.credentials(ADMIN))
    js = nc.jetstream(publish_async_max_pending=IN_FLIGHT)
    if dupe_window_s is not None:  # what a shorter window would save; the specs say 600 s
        for spec in STREAMS:
            config = (await js.stream_info(spec.name)).config
            config.duplicate_window = dupe_window_s
            await js.update_stream(config)

    def sample(reports: int) -> Sample:
        heap = live_heap(server.prof_port) if server.prof_port else None
        samples.append(Sample(reports, stored, rss_mib(pid), heap))
        live = "" if heap is None else f"  live heap {heap:6.1f} MiB"
        print(
            f"{reports:8} reports {stored:9} msgs  RSS {samples[-1].rss:7.1f} MiB{live}", flush=True
        )
        return samples[-1]

    samples: list[Sample] = []
    stored = 0
    sample(0)
    try:
        for n in range(1, reports + 1):
            for subject, payload, headers in messages(case, due_s=due_s):
                await js.publish_async(subject, payload, headers=headers)
                stored += 1
            if n % every == 0:
                await js.publish_async_completed()
                sample(n)
        await js.publish_async_completed()
        if case != "fixed" and due_s < 600:  # wait for every schedule to fire (and go)
            deadline = time.monotonic() + due_s + 600
            while await subjects(nc, "TIMERS") > 1:
                if time.monotonic() > deadline:
                    raise TimeoutError("schedules still pending")
                await asyncio.sleep(1)  # a bounded poll
            for _ in range(6):  # and how the resident set goes on after that
                heap = live_heap(server.prof_port) if server.prof_port else 0.0
                print(f"all fired: RSS {rss_mib(pid):7.1f} MiB  live heap {heap:6.1f} MiB")
                await asyncio.sleep(10)
    finally:
        await nc.close()
    return samples


def live_heap(port: int) -> float:
    """MiB of live heap: HeapAlloc right after a collection (pprof's gc=1)."""
    url = f"http://127.0.0.1:{port}/debug/pprof/heap?debug=1&gc=1"
    text = urllib.request.urlopen(url, timeout=30).read().decode()
    return int(re.search(r"# HeapAlloc = (\d+)", text).group(1)) / 2**20  # type: ignore[union-attr]


def heap_by_function(port: int, *, top: int = 15) -> list[tuple[str, float]]:
    """Live heap by where nats-server allocated it (its two innermost own frames), from pprof.

    The server samples one allocation per MiB (the header's rate), so each record is scaled up
    as Go's own tools do: by 1 / (1 - exp(-average size / rate)).
    """
    # gc=1: the server collects first, so MemStats.HeapAlloc is the live heap.
    url = f"http://127.0.0.1:{port}/debug/pprof/heap?debug=1&gc=1"
    text = urllib.request.urlopen(url, timeout=30).read().decode()
    Path(tempfile.gettempdir(), "nats-heap.txt").write_text(text)  # the whole profile, to read
    rate = int(re.search(r"@ heap/(\d+)", text).group(1))  # type: ignore[union-attr]
    inuse: Counter[str] = Counter()
    for record in text.split("\n\n"):
        head = re.match(r"(\d+): (\d+) \[\d+: \d+\] @", record)
        frames = re.findall(r"#\s+0x[0-9a-f]+\s+(\S+)", record)
        own = [f.rsplit("/", 1)[-1] for f in frames if "nats-server" in f and ".init." not in f]
        if head and own and int(head.group(1)):
            objects, size = int(head.group(1)), int(head.group(2))
            scale = 1 / (1 - math.exp(-size / objects / rate))
            inuse[" < ".join(own[:2])] += int(size * scale)
    stats = dict(
        re.findall(r"# (HeapAlloc|HeapInuse|HeapIdle|HeapReleased|Sys|NextGC) = (\d+)", text)
    )
    found = [(name, size / 2**20) for name, size in inuse.most_common(top)]
    return found + [(f"MemStats.{k}", int(v) / 2**20) for k, v in stats.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("fixed", "timers", "both"), default="fixed")
    parser.add_argument("--reports", type=int, default=30000)
    parser.add_argument("--every", type=int, default=5000)
    parser.add_argument("--due-s", type=float, default=86400.0, help="when timers fire")
    parser.add_argument("--dupe-window-s", type=float, help="override every stream's window")
    parser.add_argument("--gomemlimit", help="GOMEMLIMIT for nats-server, e.g. 64MiB")
    parser.add_argument("--prof", action="store_true", help="print the heap by function")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hulei-natsmem-") as tmp:
        if args.gomemlimit:  # the launcher hands nats-server this process's environment
            os.environ["GOMEMLIMIT"] = args.gomemlimit
        server = Server(var_dir=Path(tmp), ports=Ports.free())
        server.prof_port = free_port() if args.prof else None
        server.var_dir.mkdir(parents=True, exist_ok=True)
        try:
            server.start_nats()
            server.declare_streams()
            started = time.monotonic()
            samples = asyncio.run(
                publish(
                    server=server,
                    case=args.case,
                    reports=args.reports,
                    every=args.every,
                    dupe_window_s=args.dupe_window_s,
                    due_s=args.due_s,
                )
            )
            took = time.monotonic() - started
            if server.prof_port:
                for name, mib in heap_by_function(server.prof_port):
                    print(f"  heap {mib:8.1f} MiB  {name}")
        finally:
            server.stop()
    first, last = samples[1] if len(samples) > 2 else samples[0], samples[-1]
    per_100k = (last.rss - first.rss) / max(last.stored - first.stored, 1) * 100_000
    print(
        f"case {args.case}: {last.stored} msgs in {took:.0f} s; RSS {first.rss:.1f} → "
        f"{last.rss:.1f} MiB after the first sample: {per_100k:.1f} MiB per 100k msgs"
    )
    if first.heap is not None and last.heap is not None:
        per_msg = (last.heap - first.heap) * 2**20 / max(last.stored - first.stored, 1)
        print(f"live heap {first.heap:.1f} → {last.heap:.1f} MiB: {per_msg:.0f} bytes per msg")


if __name__ == "__main__":
    main()
