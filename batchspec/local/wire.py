"""Request bodies checked against the official REST definitions (the copies vendored in ``schemas/vendor``).

The service parses requests as strictly as Batch's own deserialiser: a property the definition does not have is
``InvalidRequestBody`` ("Could not find member ..."), and a value of the wrong type or outside an enum is refused
with its path. Like that deserialiser (Newtonsoft), member names and enum values match case-insensitively:
``canonical_body`` rewrites them to the definition's spelling first, so ``nodeAgentSKUId`` is stored and returned
as ``nodeAgentSkuId`` and ``"pack"`` as ``"Pack"``. Used for pool bodies on both planes and job bodies (task bodies are checked by hand in
``dataplane.py``: 100 per request must stay fast).
"""

from __future__ import annotations

import json
import threading
from functools import cache
from pathlib import Path

MGMT = "batch/resource-manager/Microsoft.Batch/Batch/stable/2025-06-01/openapi.json"
DATA = "batch/data-plane/Batch/stable/2025-06-01/BatchService.json"
TYPES = "common-types/resource-management/v5/types.json"
_lock = threading.Lock()


def _root() -> Path:
    from batchspec.resources import data_dir

    return Path(str(data_dir("schemas"))) / "vendor" / "specification"


@cache
def _docs() -> dict[str, dict]:
    root = _root()
    return {
        rel: json.loads((root / rel).read_text(encoding="utf-8"))
        for rel in (MGMT, DATA, TYPES)
        if (root / rel).is_file()
    }


@cache
def _validator(rel: str, definition: str):
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    root = _root()
    registry = Registry().with_resources(
        ((root / r).as_uri(), Resource.from_contents(doc, default_specification=DRAFT4))
        for r, doc in _docs().items()
    )
    return jsonschema.Draft4Validator(
        {"$ref": f"{(root / rel).as_uri()}#/definitions/{definition}"}, registry=registry
    )


def _resolve(rel: str, node: dict) -> tuple[str, dict]:
    while "$ref" in node:
        file_part, _, pointer = node["$ref"].partition("#")
        if file_part:
            parts: list[str] = []
            for p in (str(Path(rel).parent / file_part)).split("/"):
                if p == "..":
                    parts.pop()
                elif p not in ("", "."):
                    parts.append(p)
            rel = "/".join(parts)
        target = _docs()[rel]
        for part in pointer.strip("/").split("/"):
            target = target[part]
        node = target
    return rel, node


def _properties(rel: str, node: dict) -> tuple[dict, object, str]:
    rel, node = _resolve(rel, node)
    props = {k: (rel, v) for k, v in (node.get("properties") or {}).items()}
    extra = node.get("additionalProperties")
    name = node.get("x-ms-client-name") or node.get("title") or ""
    for part in node.get("allOf") or []:
        more, more_extra, _ = _properties(rel, part)
        props.update(more)
        extra = extra if extra is not None else more_extra
    return props, extra, name


def _unknown(rel: str, schema: dict, value, path: str, type_name: str) -> tuple[str, str] | None:
    rel, schema = _resolve(rel, schema)
    if isinstance(value, dict):
        props, extra, _ = _properties(rel, schema)
        if not props and extra is None:
            return None
        for k, v in value.items():
            here = f"{path}.{k}" if path else k
            if k in props:
                ref = props[k][1].get("$ref", "")
                found = _unknown(props[k][0], props[k][1], v, here, ref.rsplit("/", 1)[-1] or k)
            elif isinstance(extra, dict):
                found = _unknown(rel, extra, v, here, type_name)
            elif extra is True:
                found = None
            else:
                return here, type_name
            if found:
                return found
    elif isinstance(value, list) and "items" in schema:
        item_ref = schema["items"].get("$ref", "")
        for i, item in enumerate(value):
            found = _unknown(
                rel, schema["items"], item, f"{path}[{i}]", item_ref.rsplit("/", 1)[-1] or type_name
            )
            if found:
                return found
    return None


def _canonical(rel: str, schema: dict, value):
    rel, schema = _resolve(rel, schema)
    if isinstance(value, dict):
        props, extra, _ = _properties(rel, schema)
        if not props and not isinstance(extra, dict):
            return value
        by_lower = {k.lower(): k for k in props}
        out: dict = {}
        for k, v in value.items():
            name = k if k in props else by_lower.get(k.lower(), k) if isinstance(k, str) else k
            if name in props:
                out[name] = _canonical(props[name][0], props[name][1], v)
            elif isinstance(extra, dict):
                out[name] = _canonical(rel, extra, v)
            else:
                out[name] = v  # unknown: check_body reports it with the client's spelling
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_canonical(rel, schema["items"], item) for item in value]
    if isinstance(value, str) and isinstance(schema.get("enum"), list) and value not in schema["enum"]:
        for option in schema["enum"]:
            if isinstance(option, str) and option.lower() == value.lower():
                return option
    return value


def canonical_body(plane: str, definition: str, body: object) -> object:
    """``body`` with member names and enum values respelled as ``definition`` spells them (matched ignoring case).

    Azure's deserialiser matches both case-insensitively, so a pool written with ``nodeAgentSKUId`` or
    ``"nodeFillType": "pack"`` works there and is returned in the canonical spelling. Unknown members are kept
    as sent. Returns a new object; ``body`` is not changed.
    """
    rel = MGMT if plane == "mgmt" else DATA
    with _lock:
        _docs()
    return _canonical(rel, {"$ref": f"#/definitions/{definition}"}, body)


def check_body(plane: str, definition: str, body: object, *, partial: bool = False) -> tuple[str, str] | None:
    """The first problem of ``body`` as ``(property path, message)``, or None when it matches ``definition``."""
    rel = MGMT if plane == "mgmt" else DATA
    with _lock:
        validator = _validator(rel, definition)
    unknown = _unknown(rel, {"$ref": f"#/definitions/{definition}"}, body, "", definition)
    if unknown is not None:
        path, type_name = unknown
        return path, f"Could not find member '{path.rsplit('.', 1)[-1]}' on object of type '{type_name}'."
    for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        if partial and error.validator == "required":
            continue
        path = ""
        for part in error.absolute_path:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        return path, error.message
    return None
