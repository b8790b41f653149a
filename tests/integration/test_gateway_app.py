"""The gateway on the shared app builder: its bus follows the redelivery settings, its readyz
reports the services without counting them."""

from __future__ import annotations

from tests.support import Gateway


async def test_the_gateways_bus_honours_the_redelivery_settings(gateway: Gateway) -> None:
    bus = gateway.apps["gateway"].state.bus  # the fixture sets max_deliver=2, retry_base_s=0.05
    assert (bus.max_deliver, bus._retry_base_s, bus._retry_cap_s) == (2, 0.05, 30.0)


async def test_gateway_readyz_reports_the_services_but_counts_only_itself(
    gateway: Gateway,
) -> None:
    ready = await gateway.client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["checks"] == {"nats": True, "store": True}
    assert set(body["services"]) == {"school_liaison", "case_tracking", "patrol", "notifications"}


async def test_background_tasks_run_while_the_app_does(gateway: Gateway) -> None:
    for name, app in gateway.apps.items():
        tasks = app.state.background
        expected = {
            "gateway": {"audit-checkpoints", "stream"},
            "school_liaison": {"retention-sweep", "counselling-sweep"},
            "patrol": {"rectification-sweep", "video-patrol-sweep", "letter-sweep", "post-sweep"},
            "notifications": {"webhooks"},
        }
        assert set(tasks) == expected.get(name, set())
        assert not any(task.done() for task in tasks.values())
