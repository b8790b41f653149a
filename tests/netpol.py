"""Which connections a rendered overlay's NetworkPolicies allow, evaluated as Kubernetes does,
and what each pod needs to reach, read from its own configuration.

`Cluster(objects).allows(src, dst, port, protocol)`: the egress policies selecting the source pod
and the ingress policies selecting the destination pod must each let the connection through
(a pod no policy of that direction selects is unrestricted). Peers are podSelector,
namespaceSelector or both (matchLabels and matchExpressions); ports are numbers, names
(resolved on the destination pod) or ranges (endPort). Pods outside the render (cluster DNS, the
ingress controller, Prometheus, the trace collector) are stand-ins in their namespaces.

`needs(objects)`: every pod → cluster DNS on 53/UDP and 53/TCP; every URL in a container's
environment or arguments → the pods behind the Service it names, on the Service's target port;
NATS routes → the peer pods; the ingress controller → the Services its Ingress rules name.
A CloudNativePG Cluster stands for the pods and -rw/-ro/-r Services its operator makes (and
their replication). Not modelled: the operators' and Prometheus's own connections.
`reachability_errors` lists the needs the policies refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests import deploy_checks as dc
from tests.manifests import urls

Obj = dict[str, Any]
NS_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: Mapping[str, str] = field(hash=False)
    ports: Mapping[str, int] = field(default_factory=dict, hash=False)  # named container ports


# Outside the render, in the namespaces the policies assume.
DNS = Pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"})
INGRESS_CONTROLLER = Pod("ingress-controller", "ingress-nginx", {})
PROMETHEUS = Pod("prometheus", "monitoring", {})
COLLECTOR = Pod("otel-collector", "observability", {})
OUTSIDE = (DNS, INGRESS_CONTROLLER, PROMETHEUS, COLLECTOR)


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector; an empty one selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], set(e.get("values") or [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": not (key in labels and labels[key] in values),
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


class Cluster:
    def __init__(self, objects: list[Obj]) -> None:
        self.objects = objects
        self.pods: list[Pod] = [*OUTSIDE]
        self.workloads: dict[str, list[Pod]] = {}
        for obj, spec, labels in dc.pod_specs(objects):
            ns = obj["metadata"].get("namespace", "default")
            ports = {
                p["name"]: int(p["containerPort"])
                for c in dc._containers(spec)
                for p in c.get("ports", [])
                if "name" in p
            }
            count = obj["spec"].get("replicas", 1) if obj["kind"] == "StatefulSet" else 1
            name = obj["metadata"]["name"]
            pods = [Pod(f"{name}-{i}", ns, labels, ports) for i in range(count)]
            self.workloads[name] = pods
            self.pods += pods
        self.services = dc._by_kind(objects, "Service")
        for obj in objects:
            if obj.get("kind") == "Cluster" and obj["apiVersion"].startswith("postgresql.cnpg.io"):
                self._cnpg(obj)
        self.policies = [o for o in objects if o.get("kind") == "NetworkPolicy"]

    def _cnpg(self, cluster: Obj) -> None:
        """The pods and Services the CloudNativePG operator makes for a Cluster."""
        name, ns = cluster["metadata"]["name"], cluster["metadata"].get("namespace", "default")
        labels = {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"}
        ports = {"postgresql": 5432, "metrics": 9187, "status": 8000}
        count = int(cluster["spec"].get("instances", 1))
        pods = [Pod(f"{name}-{i}", ns, labels, ports) for i in range(1, count + 1)]
        self.workloads[name] = pods
        self.pods += pods
        for suffix in ("rw", "ro", "r"):
            self.services[f"{name}-{suffix}"] = {
                "metadata": {"name": f"{name}-{suffix}", "namespace": ns},
                "spec": {"selector": {"cnpg.io/cluster": name}, "ports": [{"port": 5432}]},
            }

    def _selecting(self, pod: Pod, direction: str) -> list[Obj]:
        out = []
        for p in self.policies:
            spec = p["spec"]
            types = spec.get("policyTypes") or [
                "Ingress",
                *(["Egress"] if "egress" in spec else []),
            ]
            same_ns = p["metadata"].get("namespace", "default") == pod.namespace
            if direction in types and same_ns and selects(spec.get("podSelector"), pod.labels):
                out.append(p)
        return out

    @staticmethod
    def _peer(peer: Obj, policy_ns: str, other: Pod) -> bool:
        if "ipBlock" in peer:
            return False  # only pod-to-pod flows are evaluated
        ns_selector = peer.get("namespaceSelector")
        if ns_selector is None:
            in_ns = other.namespace == policy_ns
        else:
            in_ns = selects(ns_selector, {NS_LABEL: other.namespace})
        return in_ns and selects(peer.get("podSelector"), other.labels)

    @staticmethod
    def _port(rule_ports: list[Obj] | None, dst: Pod, port: int, protocol: str) -> bool:
        if not rule_ports:
            return True
        for p in rule_ports:
            if p.get("protocol", "TCP") != protocol:
                continue
            if "port" not in p:
                return True
            number = dst.ports.get(p["port"]) if isinstance(p["port"], str) else int(p["port"])
            if number is not None and number <= port <= int(p.get("endPort", number)):
                return True
        return False

    def _direction_allows(
        self, pod: Pod, other: Pod, direction: str, dst: Pod, port: int, protocol: str
    ) -> bool:
        policies = self._selecting(pod, direction)
        if not policies:
            return True
        key, peers = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        for policy in policies:
            ns = policy["metadata"].get("namespace", "default")
            for rule in policy["spec"].get(key) or []:
                peer_ok = not rule.get(peers) or any(self._peer(p, ns, other) for p in rule[peers])
                if peer_ok and self._port(rule.get("ports"), dst, port, protocol):
                    return True
        return False

    def allows(self, src: Pod, dst: Pod, port: int, protocol: str = "TCP") -> bool:
        return self._direction_allows(
            src, dst, "Egress", dst, port, protocol
        ) and self._direction_allows(dst, src, "Ingress", dst, port, protocol)

    # ---- what the pods need ---------------------------------------------------------------

    def service_backends(self, host: str, port: int | str) -> tuple[str, list[Pod], int] | None:
        """The pods and target port behind `host:port` (a Service, or a StatefulSet pod's
        name under its headless Service), or None if no Service has that name and port."""
        for svc in self.services.values():
            name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "default")
            names = {name, f"{name}.{ns}", f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local"}
            pod_host = host.split(".", 1)
            one = pod_host[0] if len(pod_host) == 2 and pod_host[1] in names else None
            if host not in names and one is None:
                continue
            if one is not None and svc["spec"].get("clusterIP") == "None":
                # A pod's own DNS name under its headless Service: any port of that pod.
                pods = [x for x in self.pods if x.namespace == ns and x.name == one]
                return (name, pods, int(port)) if pods else None
            for p in svc["spec"].get("ports", []):
                if port not in (int(p["port"]), p.get("name")):  # a number, or the port's name
                    continue
                pods = [
                    x
                    for x in self.pods
                    if x.namespace == ns
                    and selects({"matchLabels": svc["spec"].get("selector") or {}}, x.labels)
                    and (one is None or x.name == one)
                ]
                target = p.get("targetPort", p["port"])
                number = pods[0].ports.get(target) if isinstance(target, str) and pods else target
                return name, pods, int(number or 0)
        return None

    def needs(self) -> Iterator[tuple[str, Pod, Pod | None, int, str]]:
        """(why, source, destination, port, protocol) for every connection the pods need;
        destination None: the name dialled leads to no pod."""
        for obj, spec, _labels in dc.pod_specs(self.objects):
            for src in self.workloads[obj["metadata"]["name"]]:
                yield "DNS", src, DNS, 53, "UDP"
                yield "DNS", src, DNS, 53, "TCP"
                for why, host, port in _dialled(obj, spec, self.objects):
                    if host in ("127.0.0.1", "localhost"):
                        continue  # the pod itself (a probe, a local exporter)
                    if host.endswith(f".{COLLECTOR.namespace}.svc.cluster.local"):
                        yield why, src, COLLECTOR, port, "TCP"
                        continue
                    found = self.service_backends(host, port)
                    if found is None or not found[1]:
                        yield why, src, None, port, "TCP"
                        continue
                    for dst in found[1]:
                        if dst != src:
                            yield why, src, dst, found[2], "TCP"
        for obj in self.objects:  # CloudNativePG replication: every instance to every other
            if obj.get("kind") == "Cluster" and obj["metadata"]["name"] in self.workloads:
                pods = self.workloads[obj["metadata"]["name"]]
                for src in pods:
                    for dst in pods:
                        if src != dst:
                            yield "PostgreSQL replication", src, dst, 5432, "TCP"
        for ingress in dc._by_kind(self.objects, "Ingress").values():
            for rule in ingress["spec"].get("rules", []):
                for path in rule.get("http", {}).get("paths", []):
                    svc = path["backend"]["service"]
                    port = svc["port"].get("number") or svc["port"].get("name", "")
                    found = self.service_backends(svc["name"], port)
                    why = f"Ingress {ingress['metadata']['name']} → {svc['name']}:{port}"
                    if found is None or not found[1]:
                        yield why, INGRESS_CONTROLLER, None, 0, "TCP"
                        continue
                    for dst in found[1]:
                        yield why, INGRESS_CONTROLLER, dst, found[2], "TCP"


def _dialled(obj: Obj, spec: Obj, objects: list[Obj]) -> Iterator[tuple[str, str, int]]:
    """(why, host, port) of every URL a pod's containers are given, and NATS routes."""
    found = dc.Sources(objects, {})
    for container in dc._containers(spec):
        env, _ = dc.container_env(dc._name(obj), container, found)
        texts = [
            *(v for v in env.values() if v),
            *container.get("command", []),
            *container.get("args", []),
        ]
        for key, value in env.items():
            if value and key.endswith("_CONFIG"):
                texts.append(value)
        for text in texts:
            for m in urls(str(text)):
                yield f"{dc._name(obj)} dials {m['host']}:{m['port']}", m["host"], int(m["port"])
                # A host list (mongodb://a:1,b:2/…): the others after the first.
                rest = str(text)[m.end() :].split("/", 1)[0]
                for host, port in re.findall(r",([\w.-]+):(\d+)", rest):
                    yield f"{dc._name(obj)} dials {host}:{port}", host, int(port)
    for volume in spec.get("volumes", []):
        cm = volume.get("configMap")
        data = found.configmaps.get(cm["name"], {}) if cm else {}
        for name, text in data.items():
            if name.endswith(".conf") and "routes" in text:
                for m in re.finditer(r"nats-route://|nats://([\w.-]+):(\d+)", text):
                    if m.group(1):
                        yield f"{dc._name(obj)} route {m.group(1)}", m.group(1), int(m.group(2))


def reachability_errors(objects: list[Obj]) -> list[str]:
    cluster = Cluster(objects)
    errors = []
    for why, src, dst, port, protocol in cluster.needs():
        if dst is None:
            errors.append(f"{why}: no Service or pod answers there")
        elif not cluster.allows(src, dst, port, protocol):
            errors.append(f"{why}: {src.name} → {dst.name}:{port}/{protocol} is not allowed")
    return sorted(set(errors))


# ---- cluster membership -----------------------------------------------------------------------


def nats_route_errors(objects: list[Obj]) -> list[str]:
    """Each NATS StatefulSet's routes name exactly its own pods under its headless Service, on
    the cluster port: a typo there splits the cluster without any policy noticing."""
    errors = []
    services = dc._by_kind(objects, "Service")
    for obj, spec, _labels in dc.pod_specs(objects):
        if obj["kind"] != "StatefulSet":
            continue
        found = dc.Sources(objects, {})
        for volume in spec.get("volumes", []):
            data = found.configmaps.get((volume.get("configMap") or {}).get("name", ""), {})
            for file, text in data.items():
                block = re.search(r"routes\s*[:=]?\s*\[([^\]]*)\]", text)
                if not file.endswith(".conf") or block is None:
                    continue
                name, headless = obj["metadata"]["name"], obj["spec"].get("serviceName", "")
                ns = obj["metadata"].get("namespace", "default")
                listen = re.search(r"cluster\s*\{[^}]*?listen:\s*[\d.]*:(\d+)", text, re.S)
                port = int(listen.group(1)) if listen else 6222
                suffixes = {headless, f"{headless}.{ns}", f"{headless}.{ns}.svc",
                            f"{headless}.{ns}.svc.cluster.local"}  # fmt: skip
                wanted = {f"{name}-{i}" for i in range(obj["spec"].get("replicas", 1))}
                named = set()
                for host, p in re.findall(r"[a-z-]+://([\w.-]+):(\d+)", block.group(1)):
                    pod, _, suffix = host.partition(".")
                    if suffix not in suffixes or pod not in wanted or int(p) != port:
                        errors.append(f"{dc._name(obj)} {file}: route {host}:{p} is not one of "
                                      f"its pods ({name}-N.{headless}:{port})")  # fmt: skip
                    named.add(pod)
                if missing := wanted - named:
                    errors.append(f"{dc._name(obj)} {file}: no route to {sorted(missing)}")
                svc = services.get(headless)
                if svc is None or svc["spec"].get("clusterIP") != "None":
                    errors.append(f"{dc._name(obj)}: serviceName {headless} is no headless Service")
    return errors


def mongo_keyfile_errors(objects: list[Obj]) -> list[str]:
    """A mongod replica set with access control needs --keyFile (members authenticate each
    other with it) naming a file mounted from a Secret; without it the members refuse to
    start once users exist."""
    errors = []
    for obj, spec, _labels in dc.pod_specs(objects):
        for c in dc._containers(spec):
            words = " ".join([*c.get("command", []), *c.get("args", [])])
            if "mongod " not in words + " " or "--replSet" not in words:
                continue
            key = re.search(r"--keyFile[= ](\S+)", words)
            if key is None:
                errors.append(f"{dc._name(obj)} container {c['name']}: mongod without --keyFile")
                continue
            # The file may be copied by an init container (mongod wants mode 400): the path must
            # be on one of mongod's volumes, and the pod must get the key from a Secret.
            mounted = any(
                key.group(1).startswith(m["mountPath"].rstrip("/") + "/")
                for m in c.get("volumeMounts", [])
            )
            from_secret = any(
                "secret" in v
                and any("keyfile" in i["key"] for i in v["secret"].get("items", [{"key": ""}]))
                for v in spec.get("volumes", [])
            )
            if not (mounted and from_secret):
                errors.append(f"{dc._name(obj)}: --keyFile {key.group(1)} is not a mounted Secret")
    return errors
