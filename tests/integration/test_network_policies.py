"""The rendered overlays' NetworkPolicies let through every connection the pods need, NATS routes
name the cluster's own pods, and MongoDB members authenticate each other (tests/netpol.py).

Each breakage below is one the schema and reference checks of test_deploy.py let pass; it is made
in a copy of a real render and must be reported.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests import deploy_checks as dc
from tests import netpol

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Obj]]:
    if dc.kubectl() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl is required in CI to render the overlays")
        pytest.skip("kubectl (with its built-in kustomize) is not on PATH: cannot render overlays")
    return {overlay: dc.render_overlay(overlay) for overlay in dc.OVERLAYS}


def broken(objects: list[Obj], change: Callable[[list[Obj]], None]) -> list[Obj]:
    copied = copy.deepcopy(objects)
    change(copied)
    return copied


def named(objects: list[Obj], kind: str, name: str) -> Obj:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


@pytest.mark.parametrize("overlay", dc.OVERLAYS)
def test_every_needed_connection_is_allowed_and_clusters_hold_together(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objects = rendered[overlay]
    assert netpol.reachability_errors(objects) == []
    assert netpol.nats_route_errors(objects) == []
    assert netpol.mongo_keyfile_errors(objects) == []


def test_the_evaluator_denies_what_no_policy_allows(rendered: dict[str, list[Obj]]) -> None:
    """Not a rubber stamp: flows the policies do not list are refused."""
    cluster = netpol.Cluster(rendered["prod"])
    gateway, nats = cluster.workloads["gateway"][0], cluster.workloads["nats"][0]
    liaison = cluster.workloads["school-liaison"][0]
    assert cluster.allows(gateway, nats, 4222)
    assert not cluster.allows(gateway, nats, 6222)  # routes are for NATS servers only
    assert not cluster.allows(liaison, gateway, 8000)  # services never call the gateway
    assert not cluster.allows(netpol.INGRESS_CONTROLLER, liaison, 8101)
    assert cluster.allows(liaison, netpol.DNS, 53, "UDP")
    assert not cluster.allows(liaison, netpol.DNS, 5353, "UDP")


def test_without_the_dns_allow_rule_nothing_resolves(rendered: dict[str, list[Obj]]) -> None:
    objects = broken(rendered["prod"], lambda o: o.remove(named(o, "NetworkPolicy", "allow-dns")))
    errors = netpol.reachability_errors(objects)
    assert any("DNS: gateway-0 → kube-dns:53/UDP" in e for e in errors), errors


def test_without_the_streams_job_to_nats_allow_streams_are_never_declared(
    rendered: dict[str, list[Obj]],
) -> None:
    def drop(objects: list[Obj]) -> None:
        rule = named(objects, "NetworkPolicy", "nats")["spec"]["ingress"][0]
        rule["from"] = [p for p in rule["from"] if "declare-streams" not in str(p)]

    errors = netpol.reachability_errors(broken(rendered["prod"], drop))
    assert any("Job/declare-streams dials nats:4222" in e for e in errors), errors


def test_a_typo_in_a_nats_route_hostname_is_reported(rendered: dict[str, list[Obj]]) -> None:
    def typo(objects: list[Obj]) -> None:
        config = next(o for o in objects if o["metadata"]["name"].startswith("nats-config"))
        config["data"]["nats.conf"] = config["data"]["nats.conf"].replace(
            "nats-1.nats-headless", "nats-1.nats-headles"
        )

    objects = broken(rendered["prod"], typo)
    assert any("nats-1.nats-headles" in e for e in netpol.nats_route_errors(objects))
    # The evaluator sees it too: that name leads to no pod.
    assert any("nats-1.nats-headles" in e for e in netpol.reachability_errors(objects))


def test_mongod_without_its_keyfile_is_reported(rendered: dict[str, list[Obj]]) -> None:
    with_mongo = [
        objects
        for objects in rendered.values()
        if any(o["kind"] == "StatefulSet" and o["metadata"]["name"] == "mongo" for o in objects)
    ]
    if not with_mongo:
        pytest.skip("no overlay runs MongoDB: no keyFile to lose")

    def drop(objects: list[Obj]) -> None:
        mongo = named(objects, "StatefulSet", "mongo")["spec"]["template"]["spec"]
        command = mongo["containers"][0]["command"]
        command[-1] = re.sub(r" --keyFile \S+", "", command[-1])

    objects = broken(with_mongo[0], drop)
    assert netpol.mongo_keyfile_errors(objects) == [
        "StatefulSet/mongo container mongo: mongod without --keyFile"
    ]
