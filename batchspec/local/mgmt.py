"""Management plane (ARM, ``Microsoft.Batch``): the batch account and its pools, in ``CloudError`` shape.

Update rules (post 2024-07-01 service, prior-art.md §5, the tables in ``spec/pool_updates.py``): ``metadata``,
``scaleSettings``, ``startTask``, ``applicationPackages`` and ``certificates`` change at any pool size; every other
writable property changes only while the pool has zero nodes (else ``400 PropertyCannotBeUpdated``); read-only
properties sent by a client are ignored, as ARM does; an unknown property is ``400 InvalidRequestBody``.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
import uuid

from batchspec.local import autoscale
from batchspec.local.model import (
    POOL_NAME_RE,
    ApiError,
    Request,
    Response,
    iso,
    new_etag,
    parse_duration,
    request_id,
)
from batchspec.spec import pool_updates

# the update rules live in spec/pool_updates.py, shared with apply's plan
ZERO_NODES = pool_updates.ZERO_NODES
READ_ONLY = pool_updates.READ_ONLY
WRITABLE = pool_updates.WRITABLE
DEFAULTS = {
    "taskSlotsPerNode": 1,
    "interNodeCommunication": "Disabled",
    "taskSchedulingPolicy": {"nodeFillType": "Spread"},
}
POOL_TYPE = "Microsoft.Batch/batchAccounts/pools"


def _pascal(value: str | None) -> str | None:
    return None if value is None else value[:1].upper() + value[1:]


class ManagementPlane:
    def __init__(self, service) -> None:
        self.svc = service
        self.engine = service.engine
        self._delete_ops: dict[str, str] = {}  # operation id -> pool key

    # --- routing -------------------------------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        seg = req.segments
        low = [s.lower() for s in seg]
        if req.param("api-version") != "2025-06-01":
            raise ApiError(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{req.param('api-version')}' is invalid. The supported versions are "
                "'2025-06-01'.",
            )
        # /subscriptions/{sub}/providers/Microsoft.Batch/locations/{loc}/poolOperationResults/{id}
        if (
            len(seg) == 8
            and low[2:5] == ["providers", "microsoft.batch", "locations"]
            and low[6] == "pooloperationresults"
        ):
            return self._operation_result(seg[7])
        if (
            len(seg) < 8
            or low[2] != "resourcegroups"
            or low[4:7] != ["providers", "microsoft.batch", "batchaccounts"]
        ):
            raise ApiError(
                404,
                "InvalidResourceType",
                "The resource type could not be found in the namespace "
                "'Microsoft.Batch' for api version '2025-06-01'.",
            )
        sub, rg, account = seg[1], seg[3], seg[7]
        svc = self.svc
        if sub.lower() != svc.subscription_id.lower():
            raise ApiError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        if rg.lower() != svc.resource_group.lower():
            raise ApiError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        if account.lower() != svc.account_name.lower():
            raise ApiError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Batch/batchAccounts/{account}' under resource group '{rg}' "
                "was not found.",
            )
        rest = low[8:]
        if not rest:
            if req.method == "GET":
                return Response(200, self._account())
            raise ApiError(
                405, "MethodNotAllowed", f"The method {req.method} is not allowed on a batch account"
            )
        if rest[0] != "pools":
            raise ApiError(
                404, "NotFound", f"The resource type '{seg[8]}' is not supported by the local service"
            )
        if len(rest) == 1:
            if req.method == "GET":
                return self._list(req)
            raise ApiError(
                405, "MethodNotAllowed", f"The method {req.method} is not allowed on the pools collection"
            )
        name = seg[9]
        if not POOL_NAME_RE.match(name):
            raise ApiError(
                400,
                "InvalidParameter",
                f"The pool name '{name}' is invalid: 1-64 letters, digits, hyphens and underscores.",
                target="poolName",
            )
        if len(rest) == 2:
            if req.method == "PUT":
                return self._put(req, name)
            if req.method == "PATCH":
                return self._patch(req, name)
            if req.method == "GET":
                with self.engine.lock:
                    return self._pool_response(self._pool(name))
            if req.method == "DELETE":
                return self._delete(req, name)
        if len(rest) == 3 and req.method == "POST":
            if rest[2] == "disableautoscale":
                return self._disable_autoscale(name)
            if rest[2] == "stopresize":
                return self._stop_resize(name)
        raise ApiError(404, "NotFound", f"No route for {req.method} {req.raw_path}")

    # --- views ---------------------------------------------------------------------------------------------------
    def arm_id(self, name: str) -> str:
        s = self.svc
        return (
            f"/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}/providers/Microsoft.Batch/"
            f"batchAccounts/{s.account_name}/pools/{name}"
        )

    def _account(self) -> dict:
        s = self.svc
        return {
            "id": f"/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}/providers/Microsoft.Batch/"
            f"batchAccounts/{s.account_name}",
            "name": s.account_name,
            "type": "Microsoft.Batch/batchAccounts",
            "location": "local",
            "identity": {"type": "None"},
            "properties": {
                "accountEndpoint": s.batch_url.split("://", 1)[1],
                "nodeManagementEndpoint": s.batch_url.split("://", 1)[1],
                "provisioningState": "Succeeded",
                "poolAllocationMode": "BatchService",
                "publicNetworkAccess": "Enabled",
                "dedicatedCoreQuotaPerVMFamilyEnforced": False,
                "dedicatedCoreQuota": 1000,
                "lowPriorityCoreQuota": 1000,
                "poolQuota": 100,
                "activeJobAndJobScheduleQuota": 300,
                "allowedAuthenticationModes": ["SharedKey", "AAD", "TaskAuthenticationToken"],
            },
        }

    def pool_view(self, pool: dict) -> dict:
        props = copy.deepcopy(pool["properties"])
        for k, v in DEFAULTS.items():
            props.setdefault(k, copy.deepcopy(v))
        fixed = props.get("scaleSettings", {}).get("fixedScale")
        if fixed is not None:
            fixed.pop("nodeDeallocationOption", None)  # write-only: GET never returns it
            fixed.setdefault("resizeTimeout", "PT15M")
        auto = props.get("scaleSettings", {}).get("autoScale")
        if auto is not None:
            auto.setdefault("evaluationInterval", "PT15M")
        key = pool["name"].lower()
        ded, low = self.engine.current_counts(key)
        props.update(
            {
                "provisioningState": "Deleting" if pool["state"] == "deleting" else "Succeeded",
                "provisioningStateTransitionTime": pool["stateTransitionTime"],
                "allocationState": _pascal(pool["allocationState"]),
                "allocationStateTransitionTime": pool["allocationStateTransitionTime"],
                "creationTime": pool["creationTime"],
                "lastModified": pool["lastModified"],
                "currentDedicatedNodes": ded,
                "currentLowPriorityNodes": low,
            }
        )
        if pool.get("autoScaleRun") and auto is not None:
            props["autoScaleRun"] = copy.deepcopy(pool["autoScaleRun"])
        if pool.get("resizeErrors"):
            props["resizeOperationStatus"] = {
                "targetDedicatedNodes": pool["targetDedicated"],
                "targetLowPriorityNodes": pool["targetLowPriority"],
                "startTime": pool["allocationStateTransitionTime"],
                "errors": pool["resizeErrors"],
            }
        out = {
            "id": self.arm_id(pool["name"]),
            "name": pool["name"],
            "type": POOL_TYPE,
            "etag": f'W/"{pool["etag"]}"',
            "properties": props,
        }
        if pool.get("identity") is not None:
            out["identity"] = copy.deepcopy(pool["identity"])
        if pool.get("tags"):
            out["tags"] = dict(pool["tags"])
        return out

    def _pool_response(self, pool: dict, status: int = 200) -> Response:
        return Response(status, self.pool_view(pool), {"ETag": f'W/"{pool["etag"]}"'})

    def _pool(self, name: str) -> dict:
        pool = self.engine.pools.get(name.lower())
        if pool is None:
            raise ApiError(404, "PoolNotFound", "The specified pool does not exist.", target="BatchAccount")
        return pool

    def _list(self, req: Request) -> Response:
        with self.engine.lock:
            pools = [self.pool_view(p) for p in self.engine.pools.values()]
        try:
            skip = int(req.param("$skiptoken") or 0)
            size = int(req.param("maxresults") or self.svc.page_size)
        except ValueError:
            raise ApiError(400, "InvalidQueryParameterValue", "maxresults must be an integer") from None
        size = max(1, min(size, 1000))
        page = pools[skip : skip + size]
        body: dict = {"value": page}
        if skip + size < len(pools):
            body["nextLink"] = (
                f"{req.base_url}{req.raw_path}?api-version=2025-06-01&maxresults={size}"
                f"&$skiptoken={skip + size}"
            )
        return Response(200, body)

    # --- preconditions -------------------------------------------------------------------------------------------
    @staticmethod
    def _check_conditions(req: Request, pool: dict | None) -> None:
        if_match = req.headers.get("if-match")
        if_none = req.headers.get("if-none-match")
        current = f'W/"{pool["etag"]}"' if pool else None
        if if_none is not None:
            if if_none.strip() == "*" and pool is not None:
                raise ApiError(
                    412, "ConditionNotMet", "The pool already exists and If-None-Match: * was given."
                )
            if pool is not None and _etag_eq(if_none, current):
                raise ApiError(412, "ConditionNotMet", "The pool's ETag matches If-None-Match.")
        if if_match is not None:
            if pool is None:
                raise ApiError(412, "ConditionNotMet", "The pool does not exist (If-Match was given).")
            if if_match.strip() != "*" and not _etag_eq(if_match, current):
                raise ApiError(
                    412,
                    "ConditionNotMet",
                    "The ETag given in If-Match does not match the pool's current ETag.",
                )

    # --- body validation -----------------------------------------------------------------------------------------
    def _read_body(self, req: Request, *, partial: bool) -> tuple[dict, dict | None, dict | None, bool, bool]:
        body = req.json(data_plane=False)
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidRequestBody", "The request body must be a JSON object")
        from batchspec.local.wire import canonical_body, check_body

        body = canonical_body("mgmt", "Pool", body)
        problem = check_body("mgmt", "Pool", body, partial=partial)
        if problem is not None:
            path, message = problem
            raise ApiError(
                400,
                "InvalidRequestBody",
                message
                if message.startswith("Could not find")
                else f"The request body is invalid at '{path}': {message}",
                target=path,
            )
        props = body.get("properties", {} if partial else None)
        if props is None:
            props = {}
        if not isinstance(props, dict):
            raise ApiError(400, "InvalidRequestBody", "'properties' must be an object", target="properties")
        for k in props:
            if k not in WRITABLE and k not in READ_ONLY:
                raise ApiError(
                    400,
                    "InvalidRequestBody",
                    f"Could not find member '{k}' on object of type 'PoolProperties'.",
                    target=f"properties.{k}",
                )
        props = {k: v for k, v in props.items() if k in WRITABLE and v is not None}
        self._validate(props)
        identity = body.get("identity")
        if identity is not None:
            if not isinstance(identity, dict) or identity.get("type") not in ("None", "UserAssigned"):
                raise ApiError(
                    400,
                    "InvalidRequestBody",
                    "identity.type must be 'None' or 'UserAssigned'",
                    target="identity.type",
                )
            identity = copy.deepcopy(identity)
            for ident in (identity.get("userAssignedIdentities") or {}).values():
                if isinstance(ident, dict):
                    ident.setdefault("principalId", str(uuid.uuid5(uuid.NAMESPACE_URL, str(ident))))
                    ident.setdefault("clientId", str(uuid.uuid5(uuid.NAMESPACE_DNS, str(ident))))
        tags = body.get("tags")
        if tags is not None and not isinstance(tags, dict):
            raise ApiError(400, "InvalidRequestBody", "tags must be an object", target="tags")
        return props, identity, tags, "identity" in body, "tags" in body

    @staticmethod
    def _validate(props: dict) -> None:
        def bad(path: str, message: str, code: str = "InvalidRequestBody"):
            return ApiError(400, code, message, target=f"properties.{path}")

        if "metadata" in props:
            from batchspec.local.dataplane import check_name_values

            try:
                check_name_values(props["metadata"], "metadata")
            except ApiError as err:
                raise bad("metadata", err.values[-1][1], "InvalidPropertyValue") from None
        for k in ("deploymentConfiguration", "networkConfiguration", "upgradePolicy"):
            if k in props and not isinstance(props[k], dict):
                raise bad(k, f"{k} must be an object")
        vm = (props.get("deploymentConfiguration") or {}).get("virtualMachineConfiguration")
        if vm is not None and (
            not isinstance(vm, dict) or not isinstance(vm.get("imageReference", {}), dict)
        ):
            raise bad(
                "deploymentConfiguration.virtualMachineConfiguration",
                "virtualMachineConfiguration and its imageReference must be objects",
            )
        for k in ("userAccounts", "mountConfiguration", "applicationPackages"):
            if k in props and not isinstance(props[k], list):
                raise bad(k, f"{k} must be a list")
        if "displayName" in props and (
            not isinstance(props["displayName"], str) or len(props["displayName"]) > 1024
        ):
            raise bad("displayName", "displayName must be a string of at most 1024 characters")
        if "vmSize" in props and (not isinstance(props["vmSize"], str) or not props["vmSize"]):
            raise bad("vmSize", "vmSize must be a non-empty string")
        if "taskSlotsPerNode" in props:
            v = props["taskSlotsPerNode"]
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 256:
                raise bad(
                    "taskSlotsPerNode",
                    "taskSlotsPerNode must be an integer from 1 to 256",
                    "InvalidPropertyValue",
                )
        if "taskSchedulingPolicy" in props:
            tsp = props["taskSchedulingPolicy"]
            if not isinstance(tsp, dict) or tsp.get("nodeFillType") not in ("Spread", "Pack"):
                raise bad("taskSchedulingPolicy.nodeFillType", "nodeFillType must be 'Spread' or 'Pack'")
        if "interNodeCommunication" in props and props["interNodeCommunication"] not in (
            "Enabled",
            "Disabled",
        ):
            raise bad("interNodeCommunication", "interNodeCommunication must be 'Enabled' or 'Disabled'")
        if "startTask" in props:
            st = props["startTask"]
            if not isinstance(st, dict):
                raise bad("startTask", "startTask must be an object")
            if st and not isinstance(st.get("commandLine"), str):
                raise bad(
                    "startTask.commandLine",
                    "startTask.commandLine is required when a start task is given",
                    "MissingRequiredProperty",
                )
            from batchspec.local.dataplane import check_name_values
            from batchspec.local.transfer import unsafe_path

            try:
                check_name_values(st.get("environmentSettings"), "environmentSettings")
            except ApiError as err:
                raise bad(
                    "startTask.environmentSettings", err.values[-1][1], "InvalidPropertyValue"
                ) from None
            retries = st.get("maxTaskRetryCount", 0)
            if not isinstance(retries, int) or isinstance(retries, bool) or retries < -1:
                raise bad(
                    "startTask.maxTaskRetryCount",
                    "maxTaskRetryCount must be an integer >= -1",
                    "InvalidPropertyValue",
                )
            if not isinstance(st.get("waitForSuccess", True), bool):
                raise bad(
                    "startTask.waitForSuccess", "waitForSuccess must be true or false", "InvalidPropertyValue"
                )
            rfs = st.get("resourceFiles") or []
            if not isinstance(rfs, list) or not all(isinstance(rf, dict) for rf in rfs):
                raise bad(
                    "startTask.resourceFiles",
                    "resourceFiles must be a list of objects",
                    "InvalidPropertyValue",
                )

            for i, rf in enumerate(st.get("resourceFiles") or []):
                if isinstance(rf, dict) and rf.get("filePath") and unsafe_path(rf["filePath"]):
                    raise bad(
                        f"startTask.resourceFiles[{i}].filePath",
                        "The file path must be relative and must not escape the working directory",
                        "InvalidPropertyValue",
                    )
        if "scaleSettings" in props:
            ss = props["scaleSettings"]
            if not isinstance(ss, dict):
                raise bad("scaleSettings", "scaleSettings must be an object")
            if "fixedScale" in ss and "autoScale" in ss:
                raise bad(
                    "scaleSettings",
                    "Only one of fixedScale and autoScale may be given",
                    "InvalidPropertyValue",
                )
            auto = ss.get("autoScale")
            if auto is not None:
                if not isinstance(auto, dict) or not isinstance(auto.get("formula"), str):
                    raise bad(
                        "scaleSettings.autoScale.formula",
                        "autoScale.formula is required",
                        "MissingRequiredProperty",
                    )
                interval = auto.get("evaluationInterval")
                if interval is not None:
                    td = parse_duration(interval)
                    if td is None or not dt.timedelta(minutes=5) <= td <= dt.timedelta(hours=168):
                        raise bad(
                            "scaleSettings.autoScale.evaluationInterval",
                            "The evaluation interval must be between 5 minutes and 168 hours",
                            "InvalidPropertyValue",
                        )
                try:
                    autoscale.check(auto["formula"])
                except autoscale.FormulaError as exc:
                    raise bad(
                        "scaleSettings.autoScale.formula",
                        f"The autoscale formula is invalid: {exc}",
                        "InvalidAutoScaleFormula",
                    ) from None
            fixed = ss.get("fixedScale")
            if fixed is not None:
                if not isinstance(fixed, dict):
                    raise bad("scaleSettings.fixedScale", "fixedScale must be an object")
                for k in ("targetDedicatedNodes", "targetLowPriorityNodes"):
                    v = fixed.get(k, 0)
                    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                        raise bad(
                            f"scaleSettings.fixedScale.{k}",
                            f"{k} must be a non-negative integer",
                            "InvalidPropertyValue",
                        )
                rt = fixed.get("resizeTimeout")
                if rt is not None:
                    td = parse_duration(rt)
                    if td is None or td < dt.timedelta(minutes=5):
                        raise bad(
                            "scaleSettings.fixedScale.resizeTimeout",
                            "The resize timeout must be at least 5 minutes",
                            "InvalidPropertyValue",
                        )
                opt = fixed.get("nodeDeallocationOption")
                if opt is not None and opt not in ("Requeue", "Terminate", "TaskCompletion", "RetainedData"):
                    raise bad(
                        "scaleSettings.fixedScale.nodeDeallocationOption",
                        "nodeDeallocationOption must be Requeue, Terminate, TaskCompletion or RetainedData",
                    )

    # --- writes --------------------------------------------------------------------------------------------------
    def _changed_zero_node_props(self, pool: dict, new_props: dict, keys) -> list[str]:
        old = pool["properties"]
        changed = []
        for k in keys:
            if k in ZERO_NODES and _normal(new_props.get(k, DEFAULTS.get(k))) != _normal(
                old.get(k, DEFAULTS.get(k))
            ):
                changed.append(k)
        return changed

    def _refuse_if_nodes(self, pool: dict, changed: list[str]) -> None:
        if not changed:
            return
        ded, low = self.engine.current_counts(pool["name"].lower())
        if ded + low == 0:
            return
        reason = "A property that cannot be updated was specified as part of the request."
        raise ApiError(
            400,
            "PropertyCannotBeUpdated",
            reason,
            target="BatchAccount",
            values=[
                (
                    "Reason",
                    f"{reason} '{changed[0]}' can only be changed while the pool has zero "
                    f"nodes; it has {ded + low}.",
                ),
                ("PropertyName", changed[0]),
                ("PropertyPath", f"properties.{changed[0]}"),
            ],
        )

    def _apply_scale(self, pool: dict, old_scale: dict | None) -> None:
        scale = pool["properties"].get("scaleSettings") or {}
        if "autoScale" in scale:
            if not old_scale or "autoScale" not in old_scale:
                # no sampled metrics are available whenever autoscaling is turned on (formula-language.md §4.1)
                self.engine.history.setdefault(pool["name"].lower(), autoscale.MetricHistory()).clear()
            if not old_scale or "autoScale" not in old_scale or old_scale["autoScale"] != scale["autoScale"]:
                self.engine.run_autoscale(pool["name"].lower(), pool)
        else:
            fixed = scale.get("fixedScale") or {}
            pool["targetDedicated"] = int(fixed.get("targetDedicatedNodes", 0))
            pool["targetLowPriority"] = int(fixed.get("targetLowPriorityNodes", 0))
            pool["_deallocation"] = (fixed.get("nodeDeallocationOption") or "Requeue").lower()
            pool.pop("autoScaleRun", None)
        if (pool["targetDedicated"], pool["targetLowPriority"]) != self.engine.current_counts(
            pool["name"].lower()
        ):
            self.engine.set_allocation_state(pool, "resizing")
        self.engine.wake()

    def _put(self, req: Request, name: str) -> Response:
        props, identity, tags, _, _ = self._read_body(req, partial=False)
        eng = self.engine
        with eng.lock:
            pool = eng.pools.get(name.lower())
            self._check_conditions(req, pool)
            if pool is not None and pool["state"] == "deleting":
                raise ApiError(
                    409,
                    "PoolBeingDeleted",
                    "The specified pool has been marked for deletion and is being reclaimed.",
                )
            if "vmSize" not in props:
                raise ApiError(
                    400,
                    "InvalidRequestBody",
                    "The value of property 'vmSize' is required.",
                    target="properties.vmSize",
                )
            now = iso()
            if pool is None:
                pool = {
                    "name": name,
                    "properties": props,
                    "identity": identity,
                    "tags": tags,
                    "etag": new_etag(),
                    "creationTime": now,
                    "lastModified": now,
                    "state": "active",
                    "stateTransitionTime": now,
                    "allocationState": "steady",
                    "allocationStateTransitionTime": now,
                    "targetDedicated": 0,
                    "targetLowPriority": 0,
                }
                eng.pools[name.lower()] = pool
                eng.history.setdefault(name.lower(), autoscale.MetricHistory())
                old_scale = None
            else:  # create-or-replace: every property is replaced; zero-node rules still hold
                self._refuse_if_nodes(pool, self._changed_zero_node_props(pool, props, ZERO_NODES))
                old_scale = pool["properties"].get("scaleSettings")
                pool.update(properties=props, identity=identity, tags=tags, etag=new_etag(), lastModified=now)
            self._apply_scale(pool, old_scale)
            eng.save_pool(pool)
            return self._pool_response(pool)

    def _patch(self, req: Request, name: str) -> Response:
        props, identity, tags, has_identity, has_tags = self._read_body(req, partial=True)
        eng = self.engine
        with eng.lock:
            pool = eng.pools.get(name.lower())
            if pool is None and req.headers.get("if-match") is None:
                self._pool(name)
            self._check_conditions(req, pool)
            assert pool is not None
            if pool["state"] == "deleting":
                raise ApiError(
                    409,
                    "PoolBeingDeleted",
                    "The specified pool has been marked for deletion and is being reclaimed.",
                )
            self._refuse_if_nodes(pool, self._changed_zero_node_props(pool, props, props.keys()))
            old_scale = copy.deepcopy(pool["properties"].get("scaleSettings"))
            for k, v in props.items():
                if k == "startTask" and v == {}:
                    pool["properties"].pop("startTask", None)  # PATCH startTask: {} removes the start task
                else:
                    pool["properties"][k] = v
            if has_identity:
                if (
                    identity
                    and identity.get("type") == "UserAssigned"
                    and (pool.get("identity") or {}).get("type") == "UserAssigned"
                ):
                    merged = dict(pool["identity"].get("userAssignedIdentities") or {})
                    for ident_id, value in (identity.get("userAssignedIdentities") or {}).items():
                        if value is None:
                            merged.pop(ident_id, None)
                        else:
                            merged[ident_id] = value
                    identity["userAssignedIdentities"] = merged
                pool["identity"] = identity
            if has_tags:
                pool["tags"] = tags
            pool["etag"] = new_etag()
            pool["lastModified"] = iso()
            if "scaleSettings" in props:
                self._apply_scale(pool, old_scale)
            eng.save_pool(pool)
            return self._pool_response(pool)

    def _delete(self, req: Request, name: str) -> Response:
        eng = self.engine
        with eng.lock:
            pool = eng.pools.get(name.lower())
            if pool is None:
                return Response(204)
            self._check_conditions(req, pool)
            if pool["state"] != "deleting":
                pool["state"] = "deleting"
                pool["stateTransitionTime"] = iso()
                pool["etag"] = new_etag()
                eng.save_pool(pool)
                eng.wake()
            op = uuid.uuid4().hex
            self._delete_ops[op] = name.lower()
        return Response(202, None, self._operation_headers(req, op))

    def _operation_headers(self, req: Request, op: str) -> dict[str, str]:
        return {
            "Location": f"{req.base_url}/subscriptions/{self.svc.subscription_id}/providers/Microsoft.Batch/"
            f"locations/local/poolOperationResults/{op}?api-version=2025-06-01",
            "Retry-After": "0",
        }

    def _operation_result(self, op: str) -> Response:
        pool_key = self._delete_ops.get(op)
        if pool_key is None:
            raise ApiError(404, "OperationNotFound", f"The operation '{op}' was not found.")
        with self.engine.lock:
            pending = pool_key in self.engine.pools
        if pending:
            time.sleep(0.02)  # Retry-After is 0: keep a polling client from spinning hot
            return Response(202, None, {"Retry-After": "0"})
        self._delete_ops.pop(op, None)
        return Response(200, None)

    def _disable_autoscale(self, name: str) -> Response:
        eng = self.engine
        with eng.lock:
            pool = self._pool(name)
            scale = pool["properties"].get("scaleSettings") or {}
            if "autoScale" in scale:
                pool["properties"]["scaleSettings"] = {
                    "fixedScale": {
                        "targetDedicatedNodes": pool["targetDedicated"],
                        "targetLowPriorityNodes": pool["targetLowPriority"],
                    }
                }
                pool.pop("autoScaleRun", None)
                pool["etag"] = new_etag()
                pool["lastModified"] = iso()
                eng.save_pool(pool)
            return self._pool_response(pool)

    def _stop_resize(self, name: str) -> Response:
        eng = self.engine
        with eng.lock:
            pool = self._pool(name)
            if pool["allocationState"] == "resizing":
                # keep the nodes that exist; the ones still being allocated are given up
                kept = [
                    n for n in eng.pool_nodes(name.lower()) if n["state"] not in ("creating", "leavingpool")
                ]
                ded = sum(1 for n in kept if n["isDedicated"])
                low = len(kept) - ded
                pool["targetDedicated"], pool["targetLowPriority"] = ded, low
                fixed = (pool["properties"].get("scaleSettings") or {}).get("fixedScale")
                if fixed is not None:
                    fixed["targetDedicatedNodes"], fixed["targetLowPriorityNodes"] = ded, low
                eng.set_allocation_state(pool, "stopping")
                pool["etag"] = new_etag()
                eng.save_pool(pool)
                eng.wake()
            return self._pool_response(pool)


def _etag_eq(given: str, current: str | None) -> bool:
    if current is None:
        return False

    def bare(e: str) -> str:
        e = e.strip()
        if e.startswith("W/"):
            e = e[2:]
        return e.strip('"')

    return any(bare(part) == bare(current) for part in given.split(","))


def _normal(value):
    """Compare values as the service would: enum strings case-insensitively."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, str):
        return value.lower()
    return value


def cloud_error(err: ApiError) -> dict:
    body: dict = {"code": err.code, "message": f"{err.message}\nRequestId:{request_id()}\nTime:{iso()}"}
    if err.target:
        body["target"] = err.target
    if err.values:
        body["details"] = [{"code": k, "message": v} for k, v in err.values]
    return {"error": body}
