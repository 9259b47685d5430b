"""Recognise the shapes a pool definition comes in and where its fields live (as JSON paths).

* management plane (ARM): ``{"properties": {"vmSize", "scaleSettings": {"autoScale": {...}}, ...}, "identity"}``,
  also wrapped as an ARM template (``resources[]`` with ``type: Microsoft.Batch/batchAccounts/pools``) or as the
  retired CLI-extension template ``{"pool": {...}}``;
* data plane (``az batch pool create --json-file``, ``az batch pool show``, REST ``BatchPoolCreateOptions``):
  ``{"id", "vmSize", "enableAutoScale", "autoScaleFormula", "autoScaleEvaluationInterval", ...}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from batchspec.spec.loader import JsonPath

POOL_RESOURCE_TYPE = "microsoft.batch/batchaccounts/pools"

_MGMT_MARKERS = ("vmSize", "deploymentConfiguration", "scaleSettings", "startTask", "taskSlotsPerNode")
_DATA_MARKERS = (
    "autoScaleFormula",
    "enableAutoScale",
    "virtualMachineConfiguration",
    "targetDedicatedNodes",
    "cloudServiceConfiguration",
    "maxTasksPerNode",
)


@dataclass(frozen=True)
class PoolShape:
    plane: str  # "management" | "data"
    root: JsonPath  # where the pool object is (the ARM resource for management, the pool for data)
    wrapper: str  # "resource" | "arm-template" | "cli-template" | "body"

    @property
    def props(self) -> JsonPath:
        return (*self.root, "properties") if self.plane == "management" else self.root

    def path(self, concept: str) -> JsonPath:
        p = self.props
        if self.plane == "management":
            table: dict[str, JsonPath] = {
                "formula": (*p, "scaleSettings", "autoScale", "formula"),
                "interval": (*p, "scaleSettings", "autoScale", "evaluationInterval"),
                "autoScale": (*p, "scaleSettings", "autoScale"),
                "fixedScale": (*p, "scaleSettings", "fixedScale"),
                "dedicated": (*p, "scaleSettings", "fixedScale", "targetDedicatedNodes"),
                "lowPriority": (*p, "scaleSettings", "fixedScale", "targetLowPriorityNodes"),
                "slots": (*p, "taskSlotsPerNode"),
                "fill": (*p, "taskSchedulingPolicy", "nodeFillType"),
                "vmSize": (*p, "vmSize"),
                "vmConfig": (*p, "deploymentConfiguration", "virtualMachineConfiguration"),
                "startTask": (*p, "startTask"),
                "metadata": (*p, "metadata"),
                "identity": (*self.root, "identity"),
            }
        else:
            table = {
                "formula": (*p, "autoScaleFormula"),
                "interval": (*p, "autoScaleEvaluationInterval"),
                "autoScale": p,
                "fixedScale": p,
                "dedicated": (*p, "targetDedicatedNodes"),
                "lowPriority": (*p, "targetLowPriorityNodes"),
                "slots": (*p, "taskSlotsPerNode"),
                "fill": (*p, "taskSchedulingPolicy", "nodeFillType"),
                "vmSize": (*p, "vmSize"),
                "vmConfig": (*p, "virtualMachineConfiguration"),
                "startTask": (*p, "startTask"),
                "metadata": (*p, "metadata"),
                "identity": (*p, "identity"),
            }
        return table[concept]


def get(data: Any, path: JsonPath) -> Any:
    cur = data
    for part in path:
        if isinstance(part, int):
            if not isinstance(cur, list) or part >= len(cur):
                return None
        elif not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _is_mgmt(obj: Any) -> bool:
    if not isinstance(obj, dict) or not isinstance(obj.get("properties"), dict):
        return False
    t = obj.get("type")
    if isinstance(t, str) and t.lower() == POOL_RESOURCE_TYPE:
        return True
    return any(k in obj["properties"] for k in _MGMT_MARKERS)


def _is_data(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and "properties" not in obj
        and any(k in obj for k in (*_DATA_MARKERS, "vmSize"))
    )


ARM_EXPRESSION = re.compile(r"^\s*\[(?!\[).*\]\s*$", re.S)


def is_arm_expression(value: Any) -> bool:
    """``"[parameters('vmSize')]"``: a value ARM computes at deployment (``[[`` escapes a literal bracket)."""
    return isinstance(value, str) and bool(ARM_EXPRESSION.match(value))


def _pool_resources(resources: Any, prefix: JsonPath, parent_is_account: bool = False) -> list[JsonPath]:
    """JSON paths of every pool resource in an ARM template, including pools nested under a Batch account."""
    out: list[JsonPath] = []
    if not isinstance(resources, list):
        return out
    for i, res in enumerate(resources):
        if not isinstance(res, dict):
            continue
        t = res.get("type")
        t = t.lower() if isinstance(t, str) else ""
        if (t.endswith("batchaccounts/pools") or (parent_is_account and t == "pools")) and isinstance(
            res.get("properties"), dict
        ):
            out.append((*prefix, i))
        if isinstance(res.get("resources"), list):
            out.extend(
                _pool_resources(res["resources"], (*prefix, i, "resources"), t.endswith("batchaccounts"))
            )
    return out


def all_pool_shapes(data: Any) -> list[PoolShape]:
    """Every pool in the document (an ARM template can hold several)."""
    if isinstance(data, dict) and isinstance(data.get("resources"), list):
        return [
            PoolShape("management", p, "arm-template")
            for p in _pool_resources(data["resources"], ("resources",))
        ]
    shape = detect_pool_shape(data)
    return [shape] if shape is not None else []


def detect_pool_shape(data: Any) -> PoolShape | None:
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("resources"), list):  # ARM template: the first pool resource (nested ones too)
        found = _pool_resources(data["resources"], ("resources",))
        return PoolShape("management", found[0], "arm-template") if found else None
    params = data.get("parameters")
    if isinstance(params, dict) and "responses" in data:  # a REST API example file (x-ms-examples)
        for key in ("parameters", "pool"):
            inner = params.get(key)
            if _is_mgmt(inner):
                return PoolShape("management", ("parameters", key), "rest-example")
            if _is_data(inner):
                return PoolShape("data", ("parameters", key), "rest-example")
        responses = data.get("responses")
        for status in ("200", "201"):  # a GET example: the pool is the response body
            body = responses.get(status, {}).get("body") if isinstance(responses, dict) else None
            if _is_mgmt(body):
                return PoolShape("management", ("responses", status, "body"), "rest-example")
            if _is_data(body):
                return PoolShape("data", ("responses", status, "body"), "rest-example")
    if (
        isinstance(data.get("pool"), dict) and len(data) <= 3
    ):  # retired CLI-extension template {"pool": {...}}
        inner = data["pool"]
        if _is_mgmt(inner):
            return PoolShape("management", ("pool",), "cli-template")
        if _is_data(inner):
            return PoolShape("data", ("pool",), "cli-template")
    if _is_mgmt(data):
        return PoolShape("management", (), "resource")
    if _is_data(data):
        return PoolShape("data", (), "body")
    return None


def strip_nulls(value: Any) -> Any:
    """A copy without null members: ``az ... show -o json`` writes every unset property as null, and the
    service treats null as absent."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value
