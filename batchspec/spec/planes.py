"""Translate a pool between the management-plane (ARM) and data-plane spellings (reference §3.3).

The mapping is total for the fields both planes have; fields only one plane has are reported in the notes
(``identity`` exists only on the management plane) rather than dropped silently.
"""

from __future__ import annotations

import copy
from typing import Any

from batchspec.spec.durations import cli_duration_to_iso

# management-plane enum value -> data-plane value, for the enums whose casing differs
_LOWER_ENUM_KEYS = ("nodeFillType", "elevationLevel", "scope", "jobDefaultOrder", "nodeDeallocationOption")


def _lower_enums(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (v.lower() if k in _LOWER_ENUM_KEYS and isinstance(v, str) else _lower_enums(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_lower_enums(v) for v in value]
    return value


_DATA_ENUMS = {
    "pack": "Pack",
    "spread": "Spread",
    "admin": "Admin",
    "nonadmin": "NonAdmin",
    "pool": "Pool",
    "task": "Task",
    "none": "None",
    "creationtime": "CreationTime",
    "requeue": "Requeue",
    "terminate": "Terminate",
    "taskcompletion": "TaskCompletion",
    "retaineddata": "RetainedData",
}


def _upper_enums(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                _DATA_ENUMS.get(v.lower(), v)
                if k in _LOWER_ENUM_KEYS and isinstance(v, str)
                else _upper_enums(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_upper_enums(v) for v in value]
    return value


def management_to_data(pool_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A management-plane pool body -> the data-plane ``BatchPoolCreateOptions`` body."""
    props = copy.deepcopy(body.get("properties") or {})
    out: dict[str, Any] = {"id": pool_id}
    for k in ("displayName", "vmSize"):
        if k in props:
            out[k] = props.pop(k)
    dc = props.pop("deploymentConfiguration", None)
    if isinstance(dc, dict) and isinstance(dc.get("virtualMachineConfiguration"), dict):
        vm = copy.deepcopy(dc["virtualMachineConfiguration"])
        if "nodeAgentSkuId" in vm:
            vm["nodeAgentSKUId"] = vm.pop("nodeAgentSkuId")
        img = vm.get("imageReference")
        if isinstance(img, dict) and "id" in img:
            img["virtualMachineImageId"] = img.pop("id")
        out["virtualMachineConfiguration"] = vm
    ss = props.pop("scaleSettings", None)
    if isinstance(ss, dict) and isinstance(ss.get("autoScale"), dict):
        out["enableAutoScale"] = True
        a = ss["autoScale"]
        if "formula" in a:
            out["autoScaleFormula"] = a["formula"]
        if "evaluationInterval" in a:
            out["autoScaleEvaluationInterval"] = a["evaluationInterval"]
    elif isinstance(ss, dict) and isinstance(ss.get("fixedScale"), dict):
        out["enableAutoScale"] = False
        for k in ("targetDedicatedNodes", "targetLowPriorityNodes", "resizeTimeout"):
            if k in ss["fixedScale"]:
                out[k] = ss["fixedScale"][k]
    if "interNodeCommunication" in props:
        out["enableInterNodeCommunication"] = str(props.pop("interNodeCommunication")).lower() == "enabled"
    if "applicationPackages" in props:
        out["applicationPackageReferences"] = props.pop("applicationPackages")
    out.update(props)
    # identity and tags have no data-plane form (reference §3.3); the CLI says so when it leaves them out
    return _lower_enums(out)


def data_to_management(
    pool: dict[str, Any], dropped: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """A data-plane pool (create body or ``pool show`` output) -> a management-plane resource, plus notes.

    Read-only state that a ``pool show`` adds is left out and recorded in ``dropped`` (JSON path -> value)."""
    dropped = {} if dropped is None else dropped
    notes_pre: list[str] = []
    src = copy.deepcopy(pool)
    for k in ("autoScaleEvaluationInterval", "resizeTimeout"):
        iso = cli_duration_to_iso(src.get(k))
        if iso is not None:
            notes_pre.append(f'{k} "{src[k]}" (az CLI display form) written as "{iso}"')
            src[k] = iso
    notes = [
        "translated the data-plane pool to the management-plane spelling (render --plane data gives it back)"
    ]
    props: dict[str, Any] = {}
    resource: dict[str, Any] = {}
    if "id" in src:
        resource["name"] = src.pop("id")
    for k in ("displayName", "vmSize"):
        if k in src:
            props[k] = src.pop(k)
    vm = src.pop("virtualMachineConfiguration", None)
    if isinstance(vm, dict):
        if "nodeAgentSKUId" in vm:
            vm["nodeAgentSkuId"] = vm.pop("nodeAgentSKUId")
        elif "nodeAgentSkuId" in vm:
            notes_pre.append('"nodeAgentSkuId" comes back as "nodeAgentSKUId", the data-plane spelling')
        img = vm.get("imageReference")
        if isinstance(img, dict):
            if "virtualMachineImageId" in img:
                img["id"] = img.pop("virtualMachineImageId")
            if "exactVersion" in img:  # read-only
                dropped["virtualMachineConfiguration.imageReference.exactVersion"] = img.pop("exactVersion")
        props["deploymentConfiguration"] = {"virtualMachineConfiguration": vm}
    auto = src.pop("enableAutoScale", None)
    formula = src.pop("autoScaleFormula", None)
    interval = src.pop("autoScaleEvaluationInterval", None)
    fixed = {
        k: src.pop(k) for k in ("targetDedicatedNodes", "targetLowPriorityNodes", "resizeTimeout") if k in src
    }
    if auto or (auto is None and formula is not None):
        a: dict[str, Any] = {}
        if formula is not None:
            a["formula"] = formula
        if interval is not None:
            a["evaluationInterval"] = interval
        props["scaleSettings"] = {"autoScale": a}
        if fixed:
            notes.append(
                "dropped " + ", ".join(fixed) + ": an autoscale pool's targets come from the formula"
            )
            dropped.update(fixed)
    elif fixed:
        props["scaleSettings"] = {"fixedScale": fixed}
    if "enableInterNodeCommunication" in src:
        props["interNodeCommunication"] = "Enabled" if src.pop("enableInterNodeCommunication") else "Disabled"
    if "applicationPackageReferences" in src:
        props["applicationPackages"] = src.pop("applicationPackageReferences")
    for k in (
        "currentDedicatedNodes",
        "currentLowPriorityNodes",
        "autoScaleRun",
        "resizeErrors",
        "stats",
        "url",
        "eTag",
        "lastModified",
        "creationTime",
        "state",
        "stateTransitionTime",
        "allocationState",
        "allocationStateTransitionTime",
        "odata.metadata",
        "identity",
        "currentNodeCommunicationMode",
    ):
        if k in src:
            dropped[k] = src.pop(k)
    if dropped:
        notes.append("dropped read-only state set by the service: " + ", ".join(dropped))
    props.update(src)
    resource["properties"] = _upper_enums(props)
    return resource, notes
