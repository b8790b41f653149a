"""Demo casework for `make run` (demo mode only): once the demo's reports have opened their
cases, six children are put under monitoring and four get a disposition of detention decided
but not executed (the source's figures for the year). Seeded in the background once per store."""

from __future__ import annotations

import asyncio
import logging

from services.case_tracking import store
from services.case_tracking.deadlines import Deadlines
from services.case_tracking.monitoring import start_monitoring
from services.case_tracking.notes import NoteSealer
from services.case_tracking.outcomes import record_disposition
from shared.contracts.cases import DispositionKind, DispositionRecord, MonitoringStart
from shared.events import utcnow
from shared.identity import Principal, Role
from shared.runtime import Runtime
from shared.store import DuplicateKeyError, Store, Writer
from shared.store.retry import transact

log = logging.getLogger("hulei.case_tracking.demo")
SUPERVISOR = Principal(user_id="supervisor1", role=Role.supervisor)
MONITORED, DETAINED = 6, 4
DEMO_SEEDS_C = "demo_seeds"


async def _claim(port: Store) -> bool:
    """True for the one start that seeds (two replicas starting together seed once)."""

    async def claim(tx: Writer) -> None:
        await tx.insert(DEMO_SEEDS_C, {"id": "casework", "at": utcnow().isoformat()})

    try:
        await transact(port, claim)
    except DuplicateKeyError:
        return False
    return True


async def _oldest_open_cases(port: Store, *, wait_s: float, poll_s: float) -> list[str]:
    """The ids of the six oldest open cases, once there are six (the demo reports' cases
    arrive through the bus); fewer if they do not come within `wait_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        docs = await port.find(store.CASES_C, where={"status": "open"})
        if len(docs) >= MONITORED or loop.time() >= deadline:
            docs.sort(key=lambda d: (d["opened_at"], d["id"]))
            return [d["id"] for d in docs[:MONITORED]]
        await asyncio.sleep(poll_s)


async def seed(
    runtime: Runtime,
    *,
    notes: NoteSealer,
    deadlines: Deadlines,
    wait_s: float = 300.0,
    poll_s: float = 1.0,
) -> None:
    try:
        cases = await _oldest_open_cases(runtime.store, wait_s=wait_s, poll_s=poll_s)
        if len(cases) < MONITORED or not await _claim(runtime.store):
            return
        for n, case_id in enumerate(cases):
            body = MonitoringStart(responsible_user_id="social1", interval_days=14 + 7 * (n % 3))
            await start_monitoring(
                runtime, caller=SUPERVISOR, case_id=case_id, body=body, deadlines=deadlines
            )
            if n < DETAINED:
                ruling = DispositionRecord(
                    kind=DispositionKind.detention_not_executed,
                    note="Detention decided; not executed because of the child's age",
                )
                await record_disposition(
                    runtime, caller=SUPERVISOR, case_id=case_id, body=ruling, notes=notes
                )
    except Exception as exc:  # demo data missing is no reason to stop serving
        log.warning("seeding the demo casework failed: %r", exc)
