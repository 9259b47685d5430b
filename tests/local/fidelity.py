"""Check recorded response bodies against the response schemas of the official REST specifications.

Each recorded answer is matched to its operation in the spec (path template + method), then validated with
``jsonschema`` against the schema of its status code (or ``default`` for errors). Swagger declares no
``additionalProperties: false``, so a second pass walks the body and reports properties the spec does not define
(``allOf`` and ``$ref`` merged) -- otherwise a misspelled field would pass silently.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

# the copies vendored in the repository (schemas/vendor, unmodified; see its README)
SPECS = Path(__file__).resolve().parents[2] / "schemas" / "vendor" / "specification"
MGMT = "batch/resource-manager/Microsoft.Batch/Batch/stable/2025-06-01/openapi.json"
DATA = "batch/data-plane/Batch/stable/2025-06-01/BatchService.json"
TYPES = "common-types/resource-management/v5/types.json"
NSP = "common-types/resource-management/v5/networksecurityperimeter.json"


def specs_root() -> Path:
    if not (SPECS / MGMT).is_file():
        raise FileNotFoundError(f"the vendored REST specifications are missing under {SPECS}")
    return SPECS


@cache
def _docs() -> dict[str, dict]:
    root = specs_root()
    return {
        rel: json.loads((root / rel).read_text(encoding="utf-8"))
        for rel in (MGMT, DATA, TYPES, NSP)
        if (root / rel).is_file()
    }


@cache
def _registry():
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    root = specs_root()
    resources = [
        ((root / rel).as_uri(), Resource.from_contents(doc, default_specification=DRAFT4))
        for rel, doc in _docs().items()
    ]
    return Registry().with_resources(resources)


@cache
def _routes(rel: str) -> list[tuple[re.Pattern, dict]]:
    out = []
    for template, ops in _docs()[rel]["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if template.endswith("{filePath}"):
            pattern = pattern[: -len("[^/]+")] + ".+"
        out.append((re.compile(f"^{pattern}$", re.IGNORECASE), ops))
    return out


def schema_for(plane: str, method: str, path: str, status: int) -> tuple[str, dict] | None:
    """(spec file, response schema) for a recorded answer; None when the spec defines no body for it."""
    if plane == "mgmt":
        rel, local = MGMT, path
    else:
        rel, local = DATA, "/" + "/".join(path.split("/")[3:])
    for pattern, ops in _routes(rel):
        if pattern.match(local):
            op = ops.get(method.lower())
            if op is None:
                return None
            resp = op["responses"].get(str(status)) or op["responses"].get("default")
            return (rel, resp["schema"]) if resp and "schema" in resp else None
    if status >= 400:  # an unknown route: the plane's error shape
        return rel, {"$ref": "#/definitions/" + ("CloudError" if plane == "mgmt" else "BatchError")}
    raise AssertionError(f"{method} {path}: no such operation in {rel}")


def _resolve(rel: str, node: dict) -> tuple[str, dict]:
    while "$ref" in node:
        ref = node["$ref"]
        file_part, _, pointer = ref.partition("#")
        if file_part:
            rel = str(Path(rel).parent / file_part).replace("\\", "/")
            rel = _normalise(rel)
        target = _docs()[rel]
        for part in pointer.strip("/").split("/"):
            target = target[part]
        node = target
    return rel, node


def _normalise(rel: str) -> str:
    parts: list[str] = []
    for p in rel.split("/"):
        if p == "..":
            parts.pop()
        elif p not in ("", "."):
            parts.append(p)
    return "/".join(parts)


def _properties(rel: str, node: dict) -> tuple[dict[str, tuple[str, dict]], object]:
    """All properties of an object schema (allOf merged) -> {name: (file, schema)}, and additionalProperties."""
    rel, node = _resolve(rel, node)
    props = {k: (rel, v) for k, v in (node.get("properties") or {}).items()}
    extra = node.get("additionalProperties")
    for part in node.get("allOf") or []:
        more, more_extra = _properties(rel, part)
        props.update(more)
        extra = extra if extra is not None else more_extra
    return props, extra


def unknown_properties(rel: str, schema: dict, value, where: str = "$") -> list[str]:
    rel, schema = _resolve(rel, schema)
    out: list[str] = []
    if isinstance(value, dict):
        props, extra = _properties(rel, schema)
        if not props and extra is None:
            return out
        for k, v in value.items():
            if k in props:
                out += unknown_properties(props[k][0], props[k][1], v, f"{where}.{k}")
            elif isinstance(extra, dict):
                out += unknown_properties(rel, extra, v, f"{where}.{k}")
            elif extra is not True and not (k.startswith("odata.") and rel == DATA):
                out.append(f"{where}.{k}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += unknown_properties(rel, schema["items"], item, f"{where}[{i}]")
    return out


def problems(record: dict) -> list[str]:
    """Schema violations of one recorded answer (empty when it conforms)."""
    import jsonschema

    if record["plane"] == "token" or record["body"] is None:
        return []  # the token endpoint speaks the identity platform's protocol, not a Batch API
    if record["plane"] == "mgmt" and "/poolOperationResults/" in record["path"]:
        return []  # the delete LRO's Location URL: an opaque ARM operation with no body
    found = schema_for(record["plane"], record["method"], record["path"], record["status"])
    if found is None:
        return []
    rel, schema = found
    root = specs_root()
    wrapped = (
        {"$ref": f"{(root / rel).as_uri()}#{_pointer(rel, schema)}"}
        if "$ref" not in schema
        else {"$ref": (root / rel).as_uri() + schema["$ref"]}
    )
    validator = jsonschema.Draft4Validator(wrapped, registry=_registry())
    label = f"{record['method']} {record['path']} -> {record['status']}"
    selected = "%24select=" in record.get("query", "") or "$select=" in record.get("query", "")
    out = [
        f"{label}: {e.json_path}: {e.message}"
        for e in validator.iter_errors(record["body"])
        # $select returns only the chosen properties, so "required" cannot hold for those answers
        if not (selected and e.validator == "required")
    ]
    out += [
        f"{label}: {p} is not defined by the spec" for p in unknown_properties(rel, schema, record["body"])
    ]
    return out


def _pointer(rel: str, schema: dict) -> str:
    raise AssertionError(f"inline response schema in {rel} is not supported: {schema}")
