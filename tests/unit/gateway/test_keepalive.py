"""The services keep an idle connection open longer than the gateway does, so the gateway never
sends a request on a connection its service has just closed (with uvicorn's 5 s default it did:
aiohttp's "Server disconnected", answered as a 503, found by the deep contract run)."""

from __future__ import annotations

from gateway import wire
from gateway.settings import Settings
from shared.serve import server_options


def test_a_server_outlasts_the_gateways_idle_connections_and_an_ingress_pool() -> None:
    kept = server_options(Settings(demo_mode=True))["timeout_keep_alive"]
    assert kept > wire.KEEPALIVE_S
    assert kept > 60  # nginx's default upstream keepalive_timeout
