"""The event catalogue as an AsyncAPI 3 document, generated from the contracts.

Every event contract in `shared/contracts` becomes a channel (its versioned subject), a message
(the envelope, with `data` as the contract's schema), a `send` operation naming the processes
that may publish it (`shared/streams.PUBLISHERS`) and a `receive` operation per durable
consumer whose filter takes it. The stream that stores each subject is named on its channel.

    python -m shared.asyncapi [--out FILE]     (what `make asyncapi` runs)
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import shared.contracts
from shared.events import Envelope, EventData
from shared.streams import CONSUMERS, STREAMS, matches_any, publishers_of

VERSION = "3.0.0"
SCHEMAS = "#/components/schemas/{model}"


def contracts() -> list[type[EventData]]:
    """Every concrete event contract (one with a TYPE), by subject."""
    for module in pkgutil.iter_modules(shared.contracts.__path__):
        importlib.import_module(f"{shared.contracts.__name__}.{module.name}")
    found = {model.nats_subject(): model for model in _subclasses(EventData) if _concrete(model)}
    return [found[subject] for subject in sorted(found)]


def _subclasses(cls: type[EventData]) -> Iterator[type[EventData]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _concrete(model: type[EventData]) -> bool:
    return isinstance(getattr(model, "TYPE", None), str)


def stream_of(subject: str) -> str:
    for spec in STREAMS:
        if matches_any(spec.subjects, subject):
            return spec.name
    raise LookupError(f"no stream stores {subject}")


def _key(subject: str) -> str:
    return re.sub(r"[^\w\-]", "_", subject)


def _envelope_schema(model: type[EventData], schemas: dict[str, Any]) -> dict[str, Any]:
    data = model.model_json_schema(ref_template=SCHEMAS)
    schemas.update(data.pop("$defs", {}))
    schemas[model.__name__] = data
    envelope = Envelope.model_json_schema(ref_template=SCHEMAS)
    schemas.update(envelope.pop("$defs", {}))
    props = envelope["properties"]
    props["type"] = {**props["type"], "const": model.TYPE}
    props["version"] = {**props["version"], "const": model.VERSION}
    props["data"] = {"$ref": SCHEMAS.format(model=model.__name__)}
    envelope["title"] = f"{model.__name__} envelope"
    return envelope


def address_of(model: type[EventData]) -> str:
    """The channel's address: the subject, and a `{key}` per token published after it."""
    return ".".join([model.nats_subject(), *(f"{{{key}}}" for key in model.SUBJECT_KEYS)])


def _summary(model: type[EventData]) -> str:
    return " ".join((model.__doc__ or model.__name__).split())


def document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    models = contracts()
    for model in models:
        subject, name = model.nats_subject(), model.__name__
        key, stream = _key(subject), stream_of(subject)
        messages[name] = {
            "name": name,
            "title": model.TYPE,
            "summary": _summary(model),
            "contentType": "application/json",
            "payload": _envelope_schema(model, schemas),
        }
        channels[key] = {
            "address": address_of(model),
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "x-stream": stream,
        }
        if model.SUBJECT_KEYS:
            channels[key]["parameters"] = {
                k: {"description": f"the event's {k}"} for k in model.SUBJECT_KEYS
            }
        ref = {"$ref": f"#/channels/{key}"}
        message = {"$ref": f"#/channels/{key}/messages/{name}"}
        operations[f"send.{key}"] = {
            "action": "send",
            "channel": ref,
            "messages": [message],
            "x-publishers": sorted(publishers_of(subject)),
        }
        for spec in CONSUMERS:
            takes = matches_any(spec.subjects, subject)
            if spec.stream == stream and takes:
                operations[f"receive.{spec.durable}.{key}"] = {
                    "action": "receive",
                    "channel": ref,
                    "messages": [message],
                    "x-consumer": spec.durable,
                    "x-owner": spec.owner,
                }
    return {
        "asyncapi": VERSION,
        "info": {
            "title": "Hulei (护蕾) events",
            "version": "1",
            "description": "Every event on the platform's JetStream streams. Events carry no "
            "names, ID numbers or free text about a child (ARCHITECTURE.md). Subjects are "
            "`<type>.v<version>`; the envelope's `data` is the contract.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "nats": {
                "host": "nats:4222",
                "protocol": "nats",
                "description": "one NATS identity per process; subject permissions enforced",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="file to write (default stdout)")
    args = parser.parse_args(argv)
    text = json.dumps(document(), ensure_ascii=False, indent=2) + "\n"
    if args.out is None:
        print(text, end="")
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
