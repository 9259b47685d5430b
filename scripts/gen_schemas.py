#!/usr/bin/env python3
"""Generate the pool/job/task JSON Schemas in schemas/ from the vendored Azure REST specifications.

    python scripts/gen_schemas.py            # regenerate schemas/*.schema.json from schemas/vendor/
    python scripts/gen_schemas.py --check    # exit 1 if the committed schemas differ (tests run this)
    python scripts/gen_schemas.py --vendor-from ../shared/specs/azure-rest-api-specs   # refresh the copies

Swagger 2.0 definitions -> JSON Schema draft 2020-12 (reference §9.2): internal refs become #/$defs, the
ProxyResource allOf is replaced by its read-only members, vendor extensions and titles are stripped,
``additionalProperties: false`` is added to every object, strict enums stay enums (extensible ones become plain
strings with the known values listed), ``duration`` becomes an ISO 8601 pattern, read-only properties are kept but
rejected with a readable message, and the rules that exist only in prose are overlaid (see OVERLAYS below).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "schemas"
VENDOR = SCHEMAS / "vendor"
MGMT = "specification/batch/resource-manager/Microsoft.Batch/Batch/stable/2025-06-01/openapi.json"
DATA = "specification/batch/data-plane/Batch/stable/2025-06-01/BatchService.json"
TYPES = "specification/common-types/resource-management/v5/types.json"
VENDORED = (MGMT, DATA, TYPES)
API_VERSION = "2025-06-01"

DURATION_PATTERN = (
    r"^P(?!$)(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$"
)
ID_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"
SEG = r"[^/]+"
ARM_IDENTITY_ID = (
    rf"^/subscriptions/{SEG}/resource[gG]roups/{SEG}/providers/[Mm]icrosoft\.[Mm]anaged[Ii]dentity/"
    rf"user[Aa]ssigned[Ii]dentities/{SEG}$"
)
SUBNET_ID = (
    rf"^/subscriptions/{SEG}/resource[gG]roups/{SEG}/providers/{SEG}/virtual[Nn]etworks/{SEG}/subnets/{SEG}$"
)
GALLERY_IMAGE_ID = (
    rf"^/subscriptions/{SEG}/resource[gG]roups/{SEG}/providers/[Mm]icrosoft\.[Cc]ompute/"
    rf"(galleries/{SEG}/images/{SEG}(/versions/{SEG})?|images/{SEG})$"
)
PUBLIC_IP_ID = rf"^/subscriptions/{SEG}/resource[gG]roups/{SEG}/providers/[Mm]icrosoft\.[Nn]etwork/public[Ii][Pp][Aa]ddresses/{SEG}$"

STRIP = {
    "x-nullable",
    "x-ms-secret",
    "x-ms-identifiers",
    "x-ms-client-name",
    "x-ms-arm-id-details",
    "x-ms-client-flatten",
    "x-ms-mutability",
    "x-ms-external",
    "x-ms-enum",
    "x-ms-discriminator-value",
    "x-ms-azure-resource",
    "externalDocs",
    "title",
    "example",
}


def read_only_property(description: str | None) -> dict[str, Any]:
    return {
        "readOnly": True,
        "not": {},
        "x-batchspec-message": "is read-only: the service sets it and ignores or rejects it in a request",
        **({"description": description} if description else {}),
    }


class Converter:
    def __init__(self, swagger: dict[str, Any], strict_enums: bool) -> None:
        self.defs = swagger["definitions"]
        self.strict_enums = strict_enums
        self.out: dict[str, Any] = {}

    def ref(self, name: str) -> dict[str, Any]:
        if name not in self.out:
            self.out[name] = {}  # placeholder against recursion
            self.out[name] = self.convert(copy.deepcopy(self.defs[name]))
        return {"$ref": f"#/$defs/{name}"}

    def convert(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = node["$ref"]
            if target.startswith("#/definitions/"):
                out = self.ref(target.split("/")[-1])
                if node.get("readOnly"):
                    return read_only_property(node.get("description"))
                if "description" in node:
                    out = {**out, "description": node["description"]}
                return out
            raise ValueError(f"external reference {target} is not supported")
        if (
            (node.get("readOnly")
            and node.get("type") != "object")
            or (node.get("readOnly") and "properties" not in node)
        ):
            return read_only_property(node.get("description"))
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in STRIP or key == "readOnly":
                continue
            if key == "allOf":
                # only ProxyResource/Resource (common-types) is used: its members are all read-only
                for part in value:
                    if "common-types" in part.get("$ref", ""):
                        out.setdefault("properties", {})
                        for member in ("id", "name", "type", "systemData"):
                            out["properties"].setdefault(
                                member, read_only_property(f"ARM {member} (read-only)")
                            )
                    else:
                        merged = self.convert(part)
                        out.setdefault("allOf", []).append(merged)
                continue
            if key == "properties":
                props = out.setdefault("properties", {})
                for name, sub in value.items():
                    props[name] = self.convert(sub)
                continue
            if key in ("items", "additionalProperties") and isinstance(value, dict):
                out[key] = self.convert(value)
                continue
            if key == "format":
                if value == "duration":
                    out["pattern"] = DURATION_PATTERN
                    out["x-batchspec-format"] = "duration"
                elif value == "date-time":
                    pass
                continue
            out[key] = value
        if "enum" in node:
            xenum = node.get("x-ms-enum") or {}
            if xenum.get("modelAsString", not self.strict_enums):
                out.pop("enum")
                out["x-batchspec-known-values"] = node["enum"]
        if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        if "properties" in out and "type" not in out:
            out["type"] = "object"
            out.setdefault("additionalProperties", False)
        if out.get("type") == "integer":
            out.pop("format", None)
        return out


def overlay(schema: dict[str, Any], plane: str) -> None:
    """Constraints that exist only in prose in the REST specifications (reference §9.2 item 9, §10)."""
    d = schema["$defs"]

    def prop(defn: str, name: str) -> dict[str, Any]:
        return d[defn]["properties"][name]

    if plane == "management":
        d["ScaleSettings"]["minProperties"] = 1
        d["ScaleSettings"]["maxProperties"] = 1
        d["ScaleSettings"]["x-batchspec-message"] = 'set exactly one of "fixedScale" and "autoScale"'
        prop("AutoScaleSettings", "formula")["maxLength"] = 8192
        prop("PoolProperties", "taskSlotsPerNode").update(minimum=1, maximum=256)
        prop("PoolProperties", "displayName")["maxLength"] = 1024
        fixed = d["FixedScaleSettings"]
        fixed["anyOf"] = [{"required": ["targetDedicatedNodes"]}, {"required": ["targetLowPriorityNodes"]}]
        d["BatchPoolIdentity"]["properties"]["userAssignedIdentities"]["propertyNames"] = {
            "pattern": ARM_IDENTITY_ID
        }
        prop("NetworkConfiguration", "subnetId")["pattern"] = SUBNET_ID
        prop("ImageReference", "id")["pattern"] = GALLERY_IMAGE_ID
        d["ImageReference"]["anyOf"] = [
            {"required": ["id"]},
            {"required": ["sharedGalleryImageId"]},
            {"required": ["communityGalleryImageId"]},
            {"required": ["publisher", "offer", "sku"]},
        ]
        d["ImageReference"]["x-batchspec-message"] = (
            'an image needs "publisher", "offer" and "sku", or one of "id", "sharedGalleryImageId", '
            '"communityGalleryImageId"'
        )
        prop("StartTask", "maxTaskRetryCount")["minimum"] = -1
        d["UserIdentity"]["maxProperties"] = 1
        d["UserIdentity"]["x-batchspec-message"] = 'set either "userName" or "autoUser", not both'
        prop("PoolProperties", "applicationPackages")["maxItems"] = 10
        prop("UserAccount", "name")["maxLength"] = 20
        prop("DataDisk", "lun").update(minimum=0, maximum=63)
        ip = d["PublicIPAddressConfiguration"]["properties"].get("ipAddressIds")
        if ip is not None:
            ip["items"] = {**ip.get("items", {}), "pattern": PUBLIC_IP_ID}
        start = d["StartTask"]
        rf = "ResourceFile"
    else:
        if "BatchPoolCreateOptions" in d:
            prop("BatchPoolCreateOptions", "id")["pattern"] = ID_PATTERN
            prop("BatchPoolCreateOptions", "autoScaleFormula")["maxLength"] = 8192
            prop("BatchPoolCreateOptions", "taskSlotsPerNode").update(minimum=1, maximum=256)
            prop("BatchPoolCreateOptions", "applicationPackageReferences")["maxItems"] = 10
            prop("BatchPoolCreateOptions", "displayName")["maxLength"] = 1024
            prop("BatchVmImageReference", "virtualMachineImageId")["pattern"] = GALLERY_IMAGE_ID
            prop("NetworkConfiguration", "subnetId")["pattern"] = SUBNET_ID
            d["BatchPoolCreateOptions"]["not"] = {"required": ["autoScaleFormula", "targetDedicatedNodes"]}
            d["BatchPoolCreateOptions"]["x-batchspec-message"] = (
                'an autoscale pool ("autoScaleFormula") cannot also set "targetDedicatedNodes"'
            )
        if "BatchJobCreateOptions" in d:
            prop("BatchJobCreateOptions", "id")["pattern"] = ID_PATTERN
            prop("BatchJobCreateOptions", "priority").update(minimum=-1000, maximum=1000)
        if "BatchTaskCreateOptions" in d:
            prop("BatchTaskCreateOptions", "id")["pattern"] = ID_PATTERN
        start = d.get("BatchStartTask", {})
        rf = "ResourceFile"
    if rf in d:
        d[rf]["oneOf"] = [
            {"required": ["autoStorageContainerName"]},
            {"required": ["storageContainerUrl"]},
            {"required": ["httpUrl"]},
        ]
        d[rf]["x-batchspec-message"] = (
            'a resource file needs exactly one of "autoStorageContainerName", "storageContainerUrl" and "httpUrl"'
        )
    if start:
        start["required"] = sorted(set(start.get("required", [])) | {"commandLine"})


def build(root_name: str, swagger: dict[str, Any], *, plane: str, title: str, source: str) -> dict[str, Any]:
    conv = Converter(swagger, strict_enums=(plane == "management"))
    conv.ref(root_name)
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://batchspec.dev/schemas/{title}",
        "title": f"{root_name} request body (api-version {API_VERSION})",
        "description": f"Generated by scripts/gen_schemas.py from schemas/vendor/{source}; do not edit by hand.",
        "$ref": f"#/$defs/{root_name}",
        "$defs": dict(sorted(conv.out.items())),
    }
    overlay(schema, plane)
    return schema


def generate() -> dict[str, str]:
    mgmt = json.loads((VENDOR / MGMT).read_text(encoding="utf-8"))
    data = json.loads((VENDOR / DATA).read_text(encoding="utf-8"))
    outputs = {
        "pool.schema.json": build("Pool", mgmt, plane="management", title="pool.schema.json", source=MGMT),
        "pool-data.schema.json": build(
            "BatchPoolCreateOptions", data, plane="data", title="pool-data.schema.json", source=DATA
        ),
        "job.schema.json": build(
            "BatchJobCreateOptions", data, plane="data", title="job.schema.json", source=DATA
        ),
        "task.schema.json": build(
            "BatchTaskCreateOptions", data, plane="data", title="task.schema.json", source=DATA
        ),
    }
    return {name: json.dumps(s, indent=1, ensure_ascii=False) + "\n" for name, s in outputs.items()}


def sha256sums() -> str:
    lines = []
    for rel in VENDORED:
        digest = hashlib.sha256((VENDOR / rel).read_bytes()).hexdigest()
        lines.append(f"{digest}  {rel}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--check", action="store_true", help="fail if the committed schemas are not what this generates"
    )
    ap.add_argument("--vendor-from", metavar="DIR", help="copy the REST specification files from DIR first")
    args = ap.parse_args(argv)
    if args.vendor_from:
        for rel in VENDORED:
            dest = VENDOR / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(args.vendor_from) / rel, dest)
        (VENDOR / "SHA256SUMS").write_text(sha256sums(), encoding="utf-8")
    generated = generate()
    if args.check:
        stale = [
            n
            for n, text in generated.items()
            if not (SCHEMAS / n).is_file() or (SCHEMAS / n).read_text(encoding="utf-8") != text
        ]
        sums = (
            (VENDOR / "SHA256SUMS").read_text(encoding="utf-8") if (VENDOR / "SHA256SUMS").is_file() else ""
        )
        if sums != sha256sums():
            stale.append("vendor/SHA256SUMS (vendored files changed)")
        if stale:
            print("out of date: " + ", ".join(stale) + "; run python scripts/gen_schemas.py", file=sys.stderr)
            return 1
        return 0
    for name, text in generated.items():
        (SCHEMAS / name).write_text(text, encoding="utf-8")
        print(f"wrote schemas/{name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
