"""Which management-plane pool properties can change on an existing pool, and how (pure data).

One home for the rules that ``apply/plan.py`` (classifying a diff) and ``local/mgmt.py`` (the local service
refusing a change with ``PropertyCannotBeUpdated``) both need, so they cannot drift apart. Source: prior-art.md
§5.1 (Learn "Update Batch pool properties", ARM spec 2024-07-01 and later). Names are management-plane wire names
under ``properties``; ``identity`` and ``tags`` sit outside ``properties`` and are classified by the callers.

The tables follow §5 (API 2024-07-01 rules). API 2025-06-01, the version batchspec and the local service speak,
no longer has the members in ``NOT_IN_API_2025_06_01`` (certificates and node communication mode were retired):
the service refuses them as unknown members before these rules apply, so they stay here only to classify a
diff against a pool written with an older API version.

Tuples, not sets: the local service reports the first changed property, and that must not depend on hash order.
"""

from __future__ import annotations

# accepted at any pool size, without touching the nodes
IN_PLACE: tuple[str, ...] = ("metadata", "scaleSettings")

# accepted at any pool size; new nodes get it at once, existing nodes only after a reboot or reimage
IN_PLACE_REBOOT: tuple[str, ...] = ("startTask", "applicationPackages", "certificates")

# accepted only while the pool has zero nodes (else 400 PropertyCannotBeUpdated)
ZERO_NODES: tuple[str, ...] = (
    "displayName",
    "vmSize",
    "deploymentConfiguration",
    "interNodeCommunication",
    "networkConfiguration",
    "taskSlotsPerNode",
    "taskSchedulingPolicy",
    "userAccounts",
    "mountConfiguration",
    "targetNodeCommunicationMode",
    "upgradePolicy",
    "resourceTags",
)

# state the service reports; a client that sends it back is ignored (as ARM does), it is never a change
READ_ONLY: tuple[str, ...] = (
    "lastModified",
    "creationTime",
    "provisioningState",
    "provisioningStateTransitionTime",
    "allocationState",
    "allocationStateTransitionTime",
    "currentDedicatedNodes",
    "currentLowPriorityNodes",
    "autoScaleRun",
    "resizeOperationStatus",
    "currentNodeCommunicationMode",
)

# every property a client may set on create or update
WRITABLE: tuple[str, ...] = IN_PLACE + IN_PLACE_REBOOT + ZERO_NODES

# members of the tables above that the 2025-06-01 PoolProperties definition no longer has
NOT_IN_API_2025_06_01: tuple[str, ...] = (
    "certificates",
    "targetNodeCommunicationMode",
    "resourceTags",
    "currentNodeCommunicationMode",
)
