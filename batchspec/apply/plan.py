"""Desired vs live: the diff behind ``batchspec plan`` and ``apply`` (pure code over wire-JSON dicts).

Every change to a pool is labelled with what it takes to make it (prior-art.md §5.1, management plane, API
2024-07-01 and later):

* ``update-in-place``: ``metadata``, ``scaleSettings`` (formula, interval, fixed targets, switching modes), ``tags``;
* ``update-in-place-reboot``: ``startTask``, ``applicationPackages``, ``certificates``; accepted at any size, but
  existing nodes only see it after a reboot or reimage;
* ``needs-zero-nodes``: ``vmSize``, ``displayName``, the whole ``deploymentConfiguration``, ``networkConfiguration``,
  ``taskSlotsPerNode``, ``taskSchedulingPolicy``, ``interNodeCommunication``, ``userAccounts``, ``mountConfiguration``,
  ``targetNodeCommunicationMode``, ``upgradePolicy``, ``resourceTags``, and ``identity`` (only nodes created after a
  shrink to zero get the new identities, so it is treated as a zero-node change);
* ``needs-recreation``: any other property (nothing documents that it can be updated).

Comparison rules: the live pool carries defaults the service filled in, so a key the spec leaves out is ignored,
except a non-empty list or a removable top-level property (``startTask``, ``metadata``…), whose removal is a change.
Durations compare by value (``PT5M`` == ``PT05M00S``), enum-like values and VM sizes case-insensitively, formulas
modulo line endings, URLs without their query string (a SAS token is not part of a resource's identity), and
write-only values the service never returns (passwords, keys, ``nodeDeallocationOption``) are not compared.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from batchspec.apply.backend import Json, LivePool
from batchspec.apply.redact import SECRET_KEYS, is_secret_name
from batchspec.apply.staging import abstract_storage
from batchspec.spec import pool_updates


class ChangeClass(str, enum.Enum):
    NONE = "no-change"
    CREATE = "create"
    IN_PLACE = "update-in-place"
    REBOOT = "update-in-place-reboot"
    ZERO_NODES = "needs-zero-nodes"
    RECREATE = "needs-recreation"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def label(self) -> str:
        return _LABEL[self]


_RANK = {
    ChangeClass.NONE: 0,
    ChangeClass.IN_PLACE: 1,
    ChangeClass.REBOOT: 2,
    ChangeClass.ZERO_NODES: 3,
    ChangeClass.RECREATE: 4,
    ChangeClass.CREATE: 5,
}
_LABEL = {
    ChangeClass.NONE: "no change",
    ChangeClass.CREATE: "create",
    ChangeClass.IN_PLACE: "update in place",
    ChangeClass.REBOOT: "update in place + node reboot",
    ChangeClass.ZERO_NODES: "needs zero nodes",
    ChangeClass.RECREATE: "needs recreation",
}

# the update rules live in spec/pool_updates.py, shared with the local service
IN_PLACE_PROPERTIES = frozenset(pool_updates.IN_PLACE)
REBOOT_PROPERTIES = frozenset(pool_updates.IN_PLACE_REBOOT)
ZERO_NODE_PROPERTIES = frozenset(pool_updates.ZERO_NODES)
READ_ONLY_PROPERTIES = frozenset(pool_updates.READ_ONLY)
# top-level properties whose absence from the spec means "remove it", and the PATCH value that removes it
REMOVABLE_PROPERTIES: dict[str, Any] = {
    "startTask": {},
    "metadata": [],
    "applicationPackages": [],
    "certificates": [],
    "userAccounts": [],
    "mountConfiguration": [],
}
# values the service accepts but never returns on GET: cannot be compared
WRITE_ONLY_KEYS = frozenset(
    {"password", "accountKey", "sasKey", "protectedSettings", "nodeDeallocationOption", "sshPrivateKey"}
)
CASE_INSENSITIVE_KEYS = frozenset(
    {
        "vmSize",
        "nodeFillType",
        "jobDefaultOrder",
        "elevationLevel",
        "scope",
        "interNodeCommunication",
        "nodeDeallocationOption",
        "type",
        "storageAccountType",
        "caching",
        "licenseType",
        "nodeAgentSkuId",
        "nodeAgentSKUId",
        "loginMode",
        "protocol",
        "access",
        "provision",
        "ipAddressProvisioningType",
        "dynamicVnetAssignmentScope",
        "targetNodeCommunicationMode",
        "publisher",
        "offer",
        "sku",
        "onAllTasksComplete",
        "onTaskFailure",
        "uploadCondition",
        "jobAction",
        "dependencyAction",
        "containerWorkingDirectory",
    }
)
URL_KEYS = frozenset({"httpUrl", "storageContainerUrl", "containerUrl", "blobSource"})
FORMULA_KEYS = frozenset({"formula", "autoScaleFormula"})
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)

_MISSING: Any = object()


def duration_seconds(text: str) -> float | None:
    """ISO-8601 duration (days and time part, as Batch uses them) in seconds; None if it is not one."""
    m = _DURATION.match(text.strip().upper())
    if not m or text.strip().upper() in ("P", "PT"):
        return None
    d, h, mi, s = (float(m.group(g) or 0) for g in "dhms")
    return ((d * 24 + h) * 60 + mi) * 60 + s


def _same_scalar(key: str, want: Any, have: Any) -> bool:
    if isinstance(want, bool) or isinstance(have, bool):
        return type(want) is type(have) and want == have
    if isinstance(want, (int, float)) and isinstance(have, (int, float)):
        return float(want) == float(have)
    if isinstance(want, str) and isinstance(have, str):
        if want == have:
            return True
        if key in FORMULA_KEYS:
            return _normalise_formula(want) == _normalise_formula(have)
        if key in URL_KEYS:
            return want.split("?", 1)[0] == have.split("?", 1)[0]
        if key in CASE_INSENSITIVE_KEYS and want.lower() == have.lower():
            return True
        dw, dh = duration_seconds(want), duration_seconds(have)
        return dw is not None and dw == dh
    return bool(want == have)


def _normalise_formula(text: str) -> str:
    return "\n".join(
        line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n")
    )


def _is_empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ""


@dataclass(frozen=True)
class Difference:
    path: str  # dotted wire path, list items as [i]: "properties.startTask.environmentSettings[0].value"
    before: Any  # _MISSING-free: None when absent
    after: Any
    sensitive: bool = False  # a secret value: shown as "(sensitive)" everywhere


def _secret_key(container: dict, key: str) -> bool:
    if str(key).lower() in SECRET_KEYS:
        return True
    return key == "value" and isinstance(container.get("name"), str) and is_secret_name(container["name"])


def diff_values(want: Any, have: Any, path: str, key: str = "", sensitive: bool = False) -> list[Difference]:
    """Leaf differences between a desired value and a live one under the comparison rules above."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return [Difference(path, None if have is _MISSING else have, want, sensitive)]
        out: list[Difference] = []
        # the service matches member names ignoring case and answers in its own spelling (nodeAgentSKUId in a
        # spec is nodeAgentSkuId on GET): a key that differs only in case is the same key
        have_keys = {str(k).lower(): k for k in have}
        want_keys = {str(k).lower() for k in want}
        for k in sorted(want):
            sub = f"{path}.{k}" if path else k
            secret = sensitive or _secret_key(want, k)
            live = have.get(k, _MISSING)
            if live is _MISSING:
                live = have.get(have_keys.get(str(k).lower(), k), _MISSING)
            if live is _MISSING or live is None:
                if k in WRITE_ONLY_KEYS or _is_empty(want[k]):
                    continue
                out.append(Difference(sub, None, want[k], secret))
                continue
            out.extend(diff_values(want[k], live, sub, k, secret))
        for k in sorted(k for k in have if str(k).lower() not in want_keys):
            # the service fills defaults in: only a non-empty list the spec dropped is a change
            if isinstance(have[k], list) and have[k]:
                out.append(Difference(f"{path}.{k}" if path else k, have[k], None))
        return out
    if isinstance(want, list):
        if not isinstance(have, list):
            return [Difference(path, None if have is _MISSING else have, want, sensitive)]
        if len(want) != len(have):
            return [Difference(path, have, want, sensitive)]
        out = []
        for i, (w, h) in enumerate(zip(want, have, strict=True)):
            out.extend(diff_values(w, h, f"{path}[{i}]", key, sensitive))
        return out
    if have is _MISSING:
        return [Difference(path, None, want, sensitive)]
    if _same_scalar(key, want, have):
        return []
    return [Difference(path, have, want, sensitive)]


@dataclass(frozen=True)
class Change:
    """One changed top-level pool property with its class and the leaf differences inside it."""

    property: str  # "properties.vmSize", "identity", "tags"
    change_class: ChangeClass
    differences: tuple[Difference, ...]
    patch_value: Any  # what PATCH sends for this property (the whole desired value, or the removing value)
    reason: str


def classify_property(name: str) -> tuple[ChangeClass, str]:
    """Class and explanation of changing the top-level pool property ``name`` (wire name)."""
    if name == "identity":
        return (
            ChangeClass.ZERO_NODES,
            "only nodes created after the pool has shrunk to zero get a new identity set",
        )
    if name == "tags":
        return ChangeClass.IN_PLACE, "ARM tags change without touching the nodes"
    prop = name.removeprefix("properties.")
    if prop in IN_PLACE_PROPERTIES:
        return ChangeClass.IN_PLACE, "applied without touching the nodes"
    if prop in REBOOT_PROPERTIES:
        return (
            ChangeClass.REBOOT,
            "accepted at any size; new nodes get it at once, existing nodes after a reboot or reimage",
        )
    if prop in ZERO_NODE_PROPERTIES:
        return ChangeClass.ZERO_NODES, "the service accepts this change only while the pool has no nodes"
    return ChangeClass.RECREATE, "no API can change this property on an existing pool"


@dataclass
class PoolPlan:
    pool_id: str
    action: ChangeClass
    changes: list[Change] = field(default_factory=list)
    desired: Json = field(default_factory=dict)
    live: LivePool | None = None

    @property
    def live_nodes(self) -> int:
        return self.live.node_count if self.live else 0

    def patch(self, classes: Iterable[ChangeClass] | None = None) -> Json:
        """Minimal PATCH body with the changes of the given classes (all by default)."""
        wanted = set(classes) if classes is not None else None
        body: Json = {}
        for ch in self.changes:
            if wanted is not None and ch.change_class not in wanted:
                continue
            if ch.property.startswith("properties."):
                body.setdefault("properties", {})[ch.property.removeprefix("properties.")] = ch.patch_value
            else:
                body[ch.property] = ch.patch_value
        return body

    def classes(self) -> set[ChangeClass]:
        return {c.change_class for c in self.changes}


def plan_pool(pool_id: str, desired: Json, live: LivePool | None) -> PoolPlan:
    """Compare the rendered management-plane pool body with the live pool (None: it does not exist)."""
    if live is None:
        return PoolPlan(pool_id, ChangeClass.CREATE, [], desired, None)
    changes: list[Change] = []
    want_props = desired.get("properties") or {}
    have_props = live.properties
    for name in sorted(set(want_props) | set(REMOVABLE_PROPERTIES)):
        if name in READ_ONLY_PROPERTIES:
            continue
        want = want_props.get(name, _MISSING)
        have = have_props.get(name, _MISSING)
        path = f"properties.{name}"
        if want is _MISSING:
            if name in REMOVABLE_PROPERTIES and not _is_empty(None if have is _MISSING else have):
                klass, reason = classify_property(path)
                changes.append(
                    Change(path, klass, (Difference(path, have, None),), REMOVABLE_PROPERTIES[name], reason)
                )
            continue
        if have is _MISSING or have is None:
            if _is_empty(want):
                continue
            diffs = [Difference(path, None, want)]
        else:
            diffs = diff_values(want, have, path, name)
        if diffs:
            klass, reason = classify_property(path)
            changes.append(Change(path, klass, tuple(diffs), want, reason))
    for top in ("identity", "tags"):
        if top not in desired:
            continue
        want, have = desired[top], live.body.get(top, _MISSING)
        if have is _MISSING or have is None:
            if _is_empty(want) or (top == "identity" and str(want.get("type", "")).lower() == "none"):
                continue
            diffs = [Difference(top, None, want)]
        else:
            diffs = diff_values(want, have, top, top)
        if diffs:
            klass, reason = classify_property(top)
            changes.append(Change(top, klass, tuple(diffs), want, reason))
    if not changes:
        return PoolPlan(pool_id, ChangeClass.NONE, [], desired, live)
    action = max((c.change_class for c in changes), key=lambda c: c.rank)
    return PoolPlan(pool_id, action, changes, desired, live)


# -- jobs -----------------------------------------------------------------------------------------------------------

JOB_READ_ONLY = frozenset(
    {
        "url",
        "eTag",
        "lastModified",
        "creationTime",
        "state",
        "stateTransitionTime",
        "previousState",
        "previousStateTransitionTime",
        "executionInfo",
        "stats",
        "odata.metadata",
    }
)


class JobAction(str, enum.Enum):
    CREATE = "create"
    REUSE = "no-change"  # identical job exists: reused, missing tasks added
    CONFLICT = "conflict"  # a different job with this id exists
    REPLACE = "replace"  # conflict, and the user asked to replace it


@dataclass
class TaskConflict:
    task_id: str
    differences: list[Difference]


@dataclass
class JobPlan:
    job_id: str
    action: JobAction
    desired: Json
    tasks: list[Json]
    differences: list[Difference] = field(default_factory=list)
    live_state: str | None = None
    present: int = 0  # desired tasks already in the job, identical
    to_add: list[Json] = field(default_factory=list)
    conflicts: list[TaskConflict] = field(default_factory=list)
    extra_task_ids: list[str] = field(default_factory=list)  # in the job but not in the spec (left alone)

    @property
    def has_changes(self) -> bool:
        return self.action is not JobAction.REUSE or bool(self.to_add) or bool(self.conflicts)


def job_differences(desired: Json, live: Json) -> list[Difference]:
    want = {k: v for k, v in desired.items() if k not in JOB_READ_ONLY and k != "id"}
    have = {k: v for k, v in live.items() if k not in JOB_READ_ONLY}
    return [
        d
        for d in diff_values(want, have, "")
        # the live job carries service defaults (priority 0, constraints…) the spec may leave out
        if d.after is not None
    ]


def task_differences(desired: Json, live: Json) -> list[Difference]:
    live = abstract_storage(desired, live)  # SAS container URLs back to the spec's abstract form
    want = {k: v for k, v in desired.items() if k != "id"}
    have = {
        k: v for k, v in live.items() if k not in ("url", "eTag", "lastModified", "creationTime", "state")
    }
    return [d for d in diff_values(want, have, "") if d.after is not None]


def plan_job(desired: Json, tasks: list[Json], live: Json | None, live_tasks: list[Json] | None) -> JobPlan:
    """Compare a rendered job (data-plane body) and its tasks with the live job and its tasks."""
    job_id = str(desired.get("id"))
    if live is None:
        return JobPlan(job_id, JobAction.CREATE, desired, tasks, to_add=list(tasks))
    diffs = job_differences(desired, live)
    state = str(live.get("state") or "") or None
    if diffs:
        return JobPlan(job_id, JobAction.CONFLICT, desired, tasks, differences=diffs, live_state=state)
    live_by_id = {str(t.get("id", "")).lower(): t for t in live_tasks or []}
    plan = JobPlan(job_id, JobAction.REUSE, desired, tasks, live_state=state)
    wanted_ids = set()
    for task in tasks:
        tid = str(task.get("id", ""))
        wanted_ids.add(tid.lower())
        existing = live_by_id.get(tid.lower())
        if existing is None:
            plan.to_add.append(task)
            continue
        tdiffs = task_differences(task, existing)
        if tdiffs:
            plan.conflicts.append(TaskConflict(tid, tdiffs))
        else:
            plan.present += 1
    plan.extra_task_ids = sorted(str(t.get("id")) for k, t in live_by_id.items() if k not in wanted_ids)
    return plan


@dataclass
class Plan:
    target: str
    pool: PoolPlan
    jobs: list[JobPlan]

    @property
    def has_changes(self) -> bool:
        return self.pool.action is not ChangeClass.NONE or any(j.has_changes for j in self.jobs)
