"""Recognise the shapes a pool definition comes in and where its fields live (as JSON paths).

* management plane (ARM): ``{"properties": {"vmSize", "scaleSettings": {"autoScale": {...}}, ...}, "identity"}``,
  also wrapped as an ARM template (``resources[]`` with ``type: Microsoft.Batch/batchAccounts/pools``) or as the
  retired CLI-extension template ``{"pool": {...}}``;
* data plane (``az batch pool create --json-file``, ``az batch pool show``, REST ``BatchPoolCreateOptions``):
  ``{"id", "vmSize", "enableAutoScale", "autoScaleFormula", "autoScaleEvaluationInterval", ...}``.
"""

from __future__ import annotations

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


def detect_pool_shape(data: Any) -> PoolShape | None:
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("resources"), list):  # ARM template: the first pool resource
        for i, res in enumerate(data["resources"]):
            t = res.get("type") if isinstance(res, dict) else None
            if (
                isinstance(t, str)
                and t.lower().endswith("batchaccounts/pools")
                and isinstance(res.get("properties"), dict)
            ):
                return PoolShape("management", ("resources", i), "arm-template")
        return None
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
