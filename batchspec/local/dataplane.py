"""Data plane (``/accounts/{account}/...``): pools, nodes, jobs, tasks and task files, in ``BatchError`` shape."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import time
from pathlib import Path

from batchspec.local import autoscale, odata
from batchspec.local.engine import _key
from batchspec.local.model import (
    ID_RE,
    ApiError,
    Request,
    Response,
    iso,
    new_etag,
    parse_duration,
    public,
    request_id,
    rfc1123,
)
from batchspec.local.transfer import unsafe_path

MAX_COLLECTION_TASKS = 100
MAX_COLLECTION_BYTES = 1_000_000
FOREVER = "P10675199DT2H48M5.4775807S"
JSON_TYPE = "application/json;odata=minimalmetadata"


def batch_error(batch_url: str, err: ApiError) -> dict:
    body: dict = {
        "odata.metadata": f"{batch_url}/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element",
        "code": err.code,
        "message": {"lang": "en-US", "value": f"{err.message}\nRequestId:{request_id()}\nTime:{iso()}"},
    }
    if err.values:
        body["values"] = [{"key": k, "value": v} for k, v in err.values]
    return body


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _identity_to_data(identity: dict | None) -> dict | None:
    if not isinstance(identity, dict):
        return identity
    out = copy.deepcopy(identity)
    auto = out.get("autoUser")
    if isinstance(auto, dict):
        for k in ("scope", "elevationLevel"):
            if k in auto:
                auto[k] = _lower(auto[k])
    return out


def _identity_to_mgmt(identity: dict | None) -> dict | None:
    if not isinstance(identity, dict):
        return identity
    out = copy.deepcopy(identity)
    auto = out.get("autoUser")
    if isinstance(auto, dict):
        if "scope" in auto:
            auto["scope"] = {"pool": "Pool", "task": "Task"}.get(str(auto["scope"]).lower(), auto["scope"])
        if "elevationLevel" in auto:
            auto["elevationLevel"] = {"admin": "Admin", "nonadmin": "NonAdmin"}.get(
                str(auto["elevationLevel"]).lower(), auto["elevationLevel"]
            )
    return out


def _start_task_to_data(st: dict) -> dict:
    out = copy.deepcopy(st)
    if "userIdentity" in out:
        out["userIdentity"] = _identity_to_data(out["userIdentity"])
    out.setdefault("maxTaskRetryCount", 0)
    out.setdefault("waitForSuccess", True)
    return out


def _start_task_to_mgmt(st: dict) -> dict:
    out = copy.deepcopy(st)
    if "userIdentity" in out:
        out["userIdentity"] = _identity_to_mgmt(out["userIdentity"])
    return out


def _vm_to_data(vm: dict) -> dict:
    out = copy.deepcopy(vm)
    if "nodeAgentSkuId" in out:
        out["nodeAgentSKUId"] = out.pop("nodeAgentSkuId")
    img = out.get("imageReference")
    if isinstance(img, dict) and "id" in img:
        img["virtualMachineImageId"] = img.pop("id")
    return out


def _vm_to_mgmt(vm: dict) -> dict:
    out = copy.deepcopy(vm)
    if "nodeAgentSKUId" in out:
        out["nodeAgentSkuId"] = out.pop("nodeAgentSKUId")
    img = out.get("imageReference")
    if isinstance(img, dict) and "virtualMachineImageId" in img:
        img["id"] = img.pop("virtualMachineImageId")
    return out


_PASS = (
    "displayName",
    "vmSize",
    "taskSlotsPerNode",
    "metadata",
    "networkConfiguration",
    "mountConfiguration",
    "upgradePolicy",
)


def data_to_mgmt_props(body: dict) -> dict:
    """A data-plane pool body (create/patch) in management-plane property names."""
    for k in (
        "virtualMachineConfiguration",
        "taskSchedulingPolicy",
        "startTask",
        "networkConfiguration",
        "upgradePolicy",
    ):
        if body.get(k) is not None and not isinstance(body[k], dict):
            raise _invalid(k, f"{k} must be an object")
    props: dict = {k: copy.deepcopy(body[k]) for k in _PASS if k in body}
    if "virtualMachineConfiguration" in body:
        props["deploymentConfiguration"] = {
            "virtualMachineConfiguration": _vm_to_mgmt(body["virtualMachineConfiguration"])
        }
    if "enableInterNodeCommunication" in body:
        props["interNodeCommunication"] = "Enabled" if body["enableInterNodeCommunication"] else "Disabled"
    if "taskSchedulingPolicy" in body:
        tsp = copy.deepcopy(body["taskSchedulingPolicy"]) or {}
        fill = str(tsp.get("nodeFillType", "spread")).lower()
        tsp["nodeFillType"] = (
            "Pack" if fill == "pack" else "Spread" if fill == "spread" else tsp.get("nodeFillType")
        )
        props["taskSchedulingPolicy"] = tsp
    if "startTask" in body:
        props["startTask"] = _start_task_to_mgmt(body["startTask"] or {})
    if "applicationPackageReferences" in body:
        props["applicationPackages"] = copy.deepcopy(body["applicationPackageReferences"])
    if "userAccounts" in body:
        props["userAccounts"] = copy.deepcopy(body["userAccounts"])
    if body.get("enableAutoScale"):
        auto = {"formula": body.get("autoScaleFormula")}
        if body.get("autoScaleEvaluationInterval"):
            auto["evaluationInterval"] = body["autoScaleEvaluationInterval"]
        props["scaleSettings"] = {"autoScale": auto}
    elif "targetDedicatedNodes" in body or "targetLowPriorityNodes" in body or "enableAutoScale" in body:
        fixed = {
            "targetDedicatedNodes": body.get("targetDedicatedNodes", 0),
            "targetLowPriorityNodes": body.get("targetLowPriorityNodes", 0),
        }
        if body.get("resizeTimeout"):
            fixed["resizeTimeout"] = body["resizeTimeout"]
        props["scaleSettings"] = {"fixedScale": fixed}
    return props


class DataPlane:
    def __init__(self, service) -> None:
        self.svc = service
        self.engine = service.engine
        self.url = service.batch_url

    # --- routing -------------------------------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        seg = req.segments
        if len(seg) < 2 or seg[1] != self.svc.account_name:
            raise ApiError(
                404,
                "AccountNotFound",
                f"The account '{seg[1] if len(seg) > 1 else ''}' does not exist on this service.",
            )
        if req.param("api-version") != "2025-06-01":
            raise ApiError(
                400,
                "InvalidQueryParameterValue",
                "Value for one of the query parameters specified in the request URI is invalid.",
                [
                    ("QueryParameterName", "api-version"),
                    ("QueryParameterValue", str(req.param("api-version"))),
                    ("Reason", "The only supported api-version is 2025-06-01"),
                ],
            )
        rest = seg[2:]
        m = req.method
        if not rest:
            raise ApiError(404, "ResourceNotFound", "The specified resource does not exist.")
        top = rest[0].lower()
        if top == "pools":
            return self._pools(req, rest[1:], m)
        if top == "jobs":
            return self._jobs(req, rest[1:], m)
        raise ApiError(
            404, "ResourceNotFound", f"The resource '{rest[0]}' is not supported by the local service."
        )

    def _pools(self, req, rest, m) -> Response:
        if not rest:
            if m == "GET":
                with self.engine.lock:
                    items = [self.pool_view(p) for p in self.engine.pools.values()]
                return self._list(req, items, "pools")
            if m == "POST":
                return self._create_pool(req)
        elif len(rest) == 1:
            if m in ("GET", "HEAD"):
                with self.engine.lock:
                    pool = self._pool(rest[0])
                    return Response(
                        200,
                        None if m == "HEAD" else _select(req, self.pool_view(pool)),
                        self._etag_headers(pool["etag"], pool["lastModified"]),
                    )
            if m == "PATCH":
                return self._patch_pool(req, rest[0])
            if m == "DELETE":
                return self._delete_pool(rest[0])
        elif len(rest) == 2:
            action = rest[1].lower()
            if m == "POST":
                handler = {
                    "resize": self._resize,
                    "stopresize": self._stop_resize,
                    "enableautoscale": self._enable_as,
                    "disableautoscale": self._disable_as,
                    "evaluateautoscale": self._evaluate_as,
                    "updateproperties": self._update_properties,
                    "removenodes": self._remove_nodes,
                }.get(action)
                if handler is not None:
                    return handler(req, rest[0])
            if m == "GET" and action == "nodes":
                with self.engine.lock:
                    pool = self._pool(rest[0])
                    items = [self.engine.node_view(n) for n in self.engine.pool_nodes(_key(pool["name"]))]
                return self._list(req, items, f"pools/{pool['name']}/nodes")
        elif (
            len(rest) >= 4
            and rest[1].lower() == "nodes"
            and rest[3].lower() == "files"
            and m in ("GET", "HEAD")
        ):
            url, root = self._node_dir(rest[0], rest[2])
            if len(rest) == 4:
                return self._list_files(req, url, root)
            return self._get_file(req, url, root, "/".join(rest[4:]), head=m == "HEAD")
        elif len(rest) == 4 and rest[1].lower() == "nodes" and m == "POST":
            action = rest[3].lower()
            if action in ("disablescheduling", "enablescheduling", "reboot"):
                return self._node_action(req, rest[0], rest[2], action)
        elif len(rest) == 3 and rest[1].lower() == "nodes" and m == "GET":
            with self.engine.lock:
                pool = self._pool(rest[0])
                node = self.engine.nodes.get(rest[2])
                if node is None or node["_pool"] != _key(pool["name"]):
                    raise ApiError(404, "NodeNotFound", "The specified node does not exist.")
                return Response(200, _select(req, self.engine.node_view(node)))
        raise ApiError(
            404 if m in ("GET", "HEAD") else 405,
            "UnsupportedOperation" if m not in ("GET", "HEAD") else "ResourceNotFound",
            f"{m} {req.raw_path} is not supported by the local service.",
        )

    def _jobs(self, req, rest, m) -> Response:
        if not rest:
            if m == "GET":
                with self.engine.lock:
                    items = [self.job_view(j) for j in self.engine.jobs.values()]
                return self._list(req, items, "jobs")
            if m == "POST":
                return self._create_job(req)
        elif len(rest) == 1:
            if m == "GET":
                with self.engine.lock:
                    job = self._job(rest[0])
                    return Response(
                        200,
                        _select(req, self.job_view(job)),
                        self._etag_headers(job["eTag"], job["lastModified"]),
                    )
            if m in ("PATCH", "PUT"):
                return self._update_job(req, rest[0], replace=m == "PUT")
            if m == "DELETE":
                return self._delete_job(rest[0])
        elif len(rest) == 2:
            action = rest[1].lower()
            if m == "POST" and action == "terminate":
                return self._terminate_job(req, rest[0])
            if m == "POST" and action == "disable":
                return self._disable_job(req, rest[0])
            if m == "POST" and action == "enable":
                return self._enable_job(rest[0])
            if m == "GET" and action == "taskcounts":
                with self.engine.lock:
                    job = self._job(rest[0])
                    return Response(200, self.engine.task_counts(_key(job["id"])))
            if action == "tasks" and m == "GET":
                return self._list_tasks(req, rest[0])
            if action == "tasks" and m == "POST":
                return self._create_task(req, rest[0])
            if action == "addtaskcollection" and m == "POST":
                return self._add_collection(req, rest[0])
        elif len(rest) >= 3 and rest[1].lower() == "tasks":
            job_id, task_id = rest[0], rest[2]
            if len(rest) == 3:
                if m == "GET":
                    with self.engine.lock:
                        task = self._task(job_id, task_id)
                        return Response(
                            200,
                            _select(req, self.task_view(task)),
                            self._etag_headers(task["eTag"], task["lastModified"]),
                        )
                if m == "PUT":
                    return self._update_task(req, job_id, task_id)
                if m == "DELETE":
                    return self._delete_task(job_id, task_id)
            elif len(rest) == 4 and m == "POST" and rest[3].lower() == "terminate":
                return self._terminate_task(job_id, task_id)
            elif len(rest) == 4 and m == "POST" and rest[3].lower() == "reactivate":
                return self._reactivate_task(job_id, task_id)
            elif rest[3].lower() == "files":
                if len(rest) == 4 and m == "GET":
                    return self._list_files(req, *self._task_dir(job_id, task_id))
                if len(rest) > 4 and m in ("GET", "HEAD"):
                    url, root = self._task_dir(job_id, task_id)
                    return self._get_file(req, url, root, "/".join(rest[4:]), head=m == "HEAD")
        raise ApiError(
            404 if m in ("GET", "HEAD") else 405,
            "UnsupportedOperation" if m not in ("GET", "HEAD") else "ResourceNotFound",
            f"{m} {req.raw_path} is not supported by the local service.",
        )

    # --- helpers -------------------------------------------------------------------------------------------------
    @staticmethod
    def _etag_headers(etag: str, last_modified: str) -> dict[str, str]:
        from batchspec.local.model import parse_iso

        return {"ETag": etag, "Last-Modified": rfc1123(parse_iso(last_modified))}

    def _created(self, path: str, etag: str) -> Response:
        url = f"{self.url}/{path}"
        return Response(
            201, None, {"ETag": etag, "Last-Modified": rfc1123(), "Location": url, "DataServiceId": url}
        )

    def _pool(self, pool_id: str) -> dict:
        pool = self.engine.pools.get(pool_id.lower())
        if pool is None:
            raise ApiError(404, "PoolNotFound", "The specified pool does not exist.")
        return pool

    def _job(self, job_id: str) -> dict:
        job = self.engine.jobs.get(job_id.lower())
        if job is None:
            raise ApiError(404, "JobNotFound", "The specified job does not exist.")
        return job

    def _task(self, job_id: str, task_id: str) -> dict:
        job = self._job(job_id)
        task = self.engine.tasks[_key(job["id"])].get(task_id.lower())
        if task is None:
            raise ApiError(404, "TaskNotFound", "The specified task does not exist.")
        return task

    def _body(self, req: Request, definition: str | None = None, partial: bool = False) -> dict:
        """The JSON object in the request; checked against the REST ``definition`` when one is given."""
        body = req.json(data_plane=True)
        if not isinstance(body, dict):
            raise ApiError(
                400,
                "InvalidRequestBody",
                "The specified Request Body is not syntactically valid.",
                [("Reason", "the body must be a JSON object")],
            )
        if definition is not None:
            from batchspec.local.wire import canonical_body, check_body

            body = canonical_body("data", definition, body)
            problem = check_body("data", definition, body, partial=partial)
            if problem is not None:
                path, message = problem
                if message.startswith("Could not find member"):
                    raise ApiError(
                        400,
                        "InvalidRequestBody",
                        "The specified Request Body is not syntactically valid.",
                        [("PropertyName", path), ("Reason", message)],
                    )
                raise _invalid(path, message)
        return body

    def _list(self, req: Request, items: list[dict], entity: str) -> Response:
        filt = req.param("$filter")
        if filt:
            try:
                pred = odata.compile_filter(filt)
            except odata.FilterError as exc:
                raise ApiError(
                    400,
                    "InvalidQueryParameterValue",
                    "Value for one of the query parameters specified in the request URI is invalid.",
                    [("QueryParameterName", "$filter"), ("QueryParameterValue", filt), ("Reason", str(exc))],
                ) from None
            items = [i for i in items if pred(i)]
        try:
            skip = int(req.param("$skiptoken") or 0)
            size = int(req.param("maxresults") or self.svc.page_size)
        except ValueError:
            raise ApiError(
                400,
                "InvalidQueryParameterValue",
                "Value for one of the query parameters specified in the request URI is invalid.",
                [("QueryParameterName", "maxresults")],
            ) from None
        if not 1 <= size <= 1000:
            raise ApiError(
                400,
                "InvalidQueryParameterValue",
                "Value for one of the query parameters specified in the request URI is invalid.",
                [
                    ("QueryParameterName", "maxresults"),
                    ("QueryParameterValue", str(size)),
                    ("Reason", "maxresults must be from 1 to 1000"),
                ],
            )
        size = min(size, self.svc.page_size) if req.param("maxresults") is None else size
        page = [_select(req, i) for i in items[skip : skip + size]]
        body: dict = {"odata.metadata": f"{self.url}/$metadata#{entity}", "value": page}
        if skip + size < len(items):
            from urllib.parse import urlencode

            params = {"api-version": "2025-06-01", "maxresults": str(size), "$skiptoken": str(skip + size)}
            for name in ("$filter", "$select", "$expand"):
                if req.param(name):
                    params[name] = req.param(name)
            body["odata.nextLink"] = f"{req.base_url}{req.raw_path}?{urlencode(params)}"
        return Response(200, body)

    # --- pools ---------------------------------------------------------------------------------------------------
    def pool_view(self, pool: dict) -> dict:
        props = pool["properties"]
        key = _key(pool["name"])
        ded, low = self.engine.current_counts(key)
        out: dict = {
            "id": pool["name"],
            "url": f"{self.url}/pools/{pool['name']}",
            "eTag": pool["etag"],
            "lastModified": pool["lastModified"],
            "creationTime": pool["creationTime"],
            "state": pool["state"],
            "stateTransitionTime": pool["stateTransitionTime"],
            "allocationState": pool["allocationState"],
            "allocationStateTransitionTime": pool["allocationStateTransitionTime"],
            "vmSize": props.get("vmSize", ""),
        }
        if props.get("displayName"):
            out["displayName"] = props["displayName"]
        vm = (props.get("deploymentConfiguration") or {}).get("virtualMachineConfiguration")
        if vm:
            out["virtualMachineConfiguration"] = _vm_to_data(vm)
        scale = props.get("scaleSettings") or {}
        auto = scale.get("autoScale")
        out.update(
            currentDedicatedNodes=ded,
            currentLowPriorityNodes=low,
            targetDedicatedNodes=pool["targetDedicated"],
            targetLowPriorityNodes=pool["targetLowPriority"],
            enableAutoScale=auto is not None,
        )
        if auto is not None:
            out["autoScaleFormula"] = auto["formula"]
            out["autoScaleEvaluationInterval"] = auto.get("evaluationInterval", "PT15M")
            run = pool.get("autoScaleRun")
            if run:
                drun: dict = {"timestamp": run["evaluationTime"], "results": run.get("results", "")}
                if run.get("error"):
                    e = run["error"]
                    drun["error"] = {"code": e["code"], "message": e["message"]}
                    if e.get("details"):
                        drun["error"]["values"] = [
                            {"name": d["code"], "value": d["message"]} for d in e["details"]
                        ]
                out["autoScaleRun"] = drun
        else:
            out["resizeTimeout"] = (scale.get("fixedScale") or {}).get("resizeTimeout", "PT15M")
        if pool.get("resizeErrors"):
            out["resizeErrors"] = pool["resizeErrors"]
        out["enableInterNodeCommunication"] = props.get("interNodeCommunication", "Disabled") == "Enabled"
        if props.get("startTask"):
            out["startTask"] = _start_task_to_data(props["startTask"])
        out["taskSlotsPerNode"] = props.get("taskSlotsPerNode", 1)
        tsp = props.get("taskSchedulingPolicy") or {"nodeFillType": "Spread"}
        out["taskSchedulingPolicy"] = {**tsp, "nodeFillType": str(tsp.get("nodeFillType", "Spread")).lower()}
        for k in ("metadata", "networkConfiguration", "mountConfiguration", "upgradePolicy", "userAccounts"):
            if props.get(k):
                out[k] = copy.deepcopy(props[k])
        if props.get("applicationPackages"):
            out["applicationPackageReferences"] = copy.deepcopy(props["applicationPackages"])
        return out

    def _create_pool(self, req: Request) -> Response:
        body = self._body(req, "BatchPoolCreateOptions")
        pool_id = body.get("id")
        _check_id(pool_id, "id")
        if not body.get("vmSize"):
            raise ApiError(
                400,
                "MissingRequiredProperty",
                "A required property was not specified in the request body.",
                [("PropertyName", "vmSize")],
            )
        props = data_to_mgmt_props(body)
        self.svc.mgmt._validate(props)
        eng = self.engine
        with eng.lock:
            if pool_id.lower() in eng.pools:
                raise ApiError(409, "PoolExists", "The specified pool already exists.")
            now = iso()
            pool = {
                "name": pool_id,
                "properties": props,
                "identity": None,
                "tags": None,
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
            eng.pools[pool_id.lower()] = pool
            eng.history.setdefault(pool_id.lower(), autoscale.MetricHistory())
            self.svc.mgmt._apply_scale(pool, None)
            eng.save_pool(pool)
            return self._created(f"pools/{pool_id}", pool["etag"])

    def _patch_pool(self, req: Request, pool_id: str) -> Response:
        body = self._body(req, "BatchPoolUpdateOptions", partial=True)
        for k in ("targetDedicatedNodes", "targetLowPriorityNodes", "enableAutoScale", "autoScaleFormula"):
            if k in body:
                raise ApiError(
                    400,
                    "InvalidPropertyValue",
                    "The value provided for one of the properties in the request body is invalid.",
                    [("PropertyName", k), ("Reason", "use resize or enableautoscale to change it")],
                )
        props = data_to_mgmt_props(body)
        self.svc.mgmt._validate(props)
        eng = self.engine
        with eng.lock:
            pool = self._pool(pool_id)
            self._check_if_match(req, pool["etag"])
            self._zero_node_rule(pool, props)
            for k, v in props.items():
                if k == "startTask" and not v:
                    pool["properties"].pop("startTask", None)
                else:
                    pool["properties"][k] = v
            pool["etag"] = new_etag()
            pool["lastModified"] = iso()
            eng.save_pool(pool)
            return Response(200, None, self._etag_headers(pool["etag"], pool["lastModified"]))

    def _update_properties(self, req: Request, pool_id: str) -> Response:
        body = self._body(req, "BatchPoolReplaceOptions", partial=True)
        props = data_to_mgmt_props(
            {k: body[k] for k in ("startTask", "metadata", "applicationPackageReferences") if k in body}
        )
        self.svc.mgmt._validate(props)
        eng = self.engine
        with eng.lock:
            pool = self._pool(pool_id)
            for k in ("startTask", "metadata", "applicationPackages"):
                if props.get(k):
                    pool["properties"][k] = props[k]
                else:
                    pool["properties"].pop(k, None)
            pool["etag"] = new_etag()
            pool["lastModified"] = iso()
            eng.save_pool(pool)
            return Response(204, None, self._etag_headers(pool["etag"], pool["lastModified"]))

    def _zero_node_rule(self, pool: dict, props: dict) -> None:
        mgmt = self.svc.mgmt
        changed = mgmt._changed_zero_node_props(pool, props, props.keys())
        try:
            mgmt._refuse_if_nodes(pool, changed)
        except ApiError as err:
            raise ApiError(
                409,
                "PropertyCannotBeUpdated",
                err.message,
                [("PropertyName", changed[0]), ("Reason", err.values[0][1])],
            ) from None

    @staticmethod
    def _check_if_match(req: Request, etag: str) -> None:
        given = req.headers.get("if-match")
        if given and given.strip() != "*" and given.strip().strip('"') != etag:
            raise ApiError(
                412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met."
            )

    def _delete_pool(self, pool_id: str) -> Response:
        eng = self.engine
        with eng.lock:
            pool = self._pool(pool_id)
            if pool["state"] != "deleting":
                pool["state"] = "deleting"
                pool["stateTransitionTime"] = iso()
                eng.save_pool(pool)
                eng.wake()
        return Response(202, None, {"Retry-After": "0"})

    def _resize(self, req: Request, pool_id: str) -> Response:
        body = self._body(req, "BatchPoolResizeOptions")
        eng = self.engine
        with eng.lock:
            pool = self._pool(pool_id)
            scale = pool["properties"].get("scaleSettings") or {}
            if "autoScale" in scale:
                raise ApiError(
                    409,
                    "OperationNotValidOnPool",
                    "The specified pool has autoscale enabled; disable autoscale before resizing it.",
                )
            if pool["allocationState"] != "steady":
                raise ApiError(409, "PoolBeingResized", "The specified pool is being resized.")
            fixed: dict = {}
            for k in ("targetDedicatedNodes", "targetLowPriorityNodes"):
                v = body.get(
                    k, pool["targetDedicated" if k == "targetDedicatedNodes" else "targetLowPriority"]
                )
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    raise ApiError(
                        400,
                        "InvalidPropertyValue",
                        "The value provided for one of the properties in the request body is invalid.",
                        [("PropertyName", k)],
                    )
                fixed[k] = v
            if body.get("resizeTimeout"):
                fixed["resizeTimeout"] = body["resizeTimeout"]
            option = str(body.get("nodeDeallocationOption") or "requeue").lower()
            if option not in ("requeue", "terminate", "taskcompletion", "retaineddata"):
                raise ApiError(
                    400,
                    "InvalidPropertyValue",
                    "The value provided for one of the properties in the request body is invalid.",
                    [("PropertyName", "nodeDeallocationOption")],
                )
            pool["properties"]["scaleSettings"] = {"fixedScale": fixed}
            pool["targetDedicated"] = fixed["targetDedicatedNodes"]
            pool["targetLowPriority"] = fixed["targetLowPriorityNodes"]
            pool["_deallocation"] = option
            if (pool["targetDedicated"], pool["targetLowPriority"]) != eng.current_counts(_key(pool["name"])):
                eng.set_allocation_state(pool, "resizing")
            pool["etag"] = new_etag()
            pool["lastModified"] = iso()
            eng.save_pool(pool)
            eng.wake()
        return Response(202, None, {"Retry-After": "0"})

    def _remove_nodes(self, req: Request, pool_id: str) -> Response:
        body = self._body(req, "BatchNodeRemoveOptions")
        ids = body.get("nodeList")
        if not isinstance(ids, list) or not ids or len(ids) > 100:
            raise _invalid("nodeList", "nodeList must list 1 to 100 node ids")
        option = str(body.get("nodeDeallocationOption") or "requeue").lower()
        eng = self.engine
        with eng.lock:
            pool = self._pool(pool_id)
            if pool["allocationState"] != "steady":
                raise ApiError(409, "PoolBeingResized", "The specified pool is being resized.")
            key = _key(pool["name"])
            nodes = []
            for node_id in ids:
                node = eng.nodes.get(str(node_id))
                if node is None or node["_pool"] != key:
                    raise ApiError(
                        404, "NodeNotFound", "The specified node does not exist.", [("NodeId", str(node_id))]
                    )
                nodes.append(node)
            for node in nodes:
                eng.evict(node, "leavingpool", option)
            ded, low = eng.current_counts(key)
            pool["targetDedicated"], pool["targetLowPriority"] = ded, low
            fixed = (pool["properties"].get("scaleSettings") or {}).get("fixedScale")
            if fixed is not None:
                fixed["targetDedicatedNodes"], fixed["targetLowPriorityNodes"] = ded, low
            eng.set_allocation_state(pool, "resizing")
            pool["etag"] = new_etag()
            eng.save_pool(pool)
            eng.wake()
        return Response(202, None, {"Retry-After": "0"})

    def _node_action(self, req: Request, pool_id: str, node_id: str, action: str) -> Response:
        definition = {
            "disablescheduling": "BatchNodeDisableSchedulingOptions",
            "reboot": "BatchNodeRebootOptions",
        }.get(action)
        body = self._body(req, definition) if req.body and definition else {}
        eng = self.engine
        with eng.lock:
            pool = self._pool(pool_id)
            node = eng.nodes.get(node_id)
            if node is None or node["_pool"] != _key(pool["name"]):
                raise ApiError(404, "NodeNotFound", "The specified node does not exist.")
            if action == "enablescheduling":
                node["schedulingState"] = "enabled"
            elif action == "disablescheduling":
                node["schedulingState"] = "disabled"
                eng.stop_tasks_on(node, str(body.get("nodeDisableSchedulingOption") or "requeue").lower())
            else:
                if node["state"] not in ("idle", "running", "starttaskfailed", "unusable"):
                    raise ApiError(
                        409,
                        "OperationNotValidOnNode",
                        f"The node is {node['state']}; it cannot be rebooted now.",
                    )
                eng.evict(node, "rebooting", str(body.get("nodeRebootOption") or "requeue").lower())
            eng.save_node(node)
            eng.wake()
        return Response(202 if action == "reboot" else 200, None)

    def _stop_resize(self, req: Request, pool_id: str) -> Response:
        self.svc.mgmt._stop_resize(pool_id)
        return Response(202, None, {"Retry-After": "0"})

    def _enable_as(self, req: Request, pool_id: str) -> Response:
        body = self._body(req, "BatchPoolEnableAutoScaleOptions")
        formula = body.get("autoScaleFormula")
        interval = body.get("autoScaleEvaluationInterval")
        eng = self.engine
        with eng.lock:
            pool = self._pool(pool_id)
            auto = dict((pool["properties"].get("scaleSettings") or {}).get("autoScale") or {})
            if formula is None and not auto:
                raise ApiError(
                    400,
                    "MissingRequiredProperty",
                    "A required property was not specified in the request body.",
                    [("PropertyName", "autoScaleFormula")],
                )
            if pool["allocationState"] == "resizing" and not auto:
                raise ApiError(
                    409,
                    "PoolBeingResized",
                    "The specified pool is being resized; autoscale cannot be enabled now.",
                )
            last = pool.get("_last_enable", 0)
            if time.time() - last < 30 / eng.clock.time_scale:
                raise ApiError(
                    409,
                    "AutoScaleTooManyRequestsToEnable",
                    "Autoscale was enabled on this pool less than 30 seconds ago.",
                )
            if formula is not None:
                auto["formula"] = formula
            if interval is not None:
                auto["evaluationInterval"] = interval
            props = {"scaleSettings": {"autoScale": auto}}
            try:
                self.svc.mgmt._validate(props)
            except ApiError as err:
                raise ApiError(
                    400, err.code, err.message, [("PropertyName", (err.target or "").split(".")[-1])]
                ) from None
            if "autoScale" not in (pool["properties"].get("scaleSettings") or {}):
                eng.history.setdefault(_key(pool["name"]), autoscale.MetricHistory()).clear()
            pool["properties"]["scaleSettings"] = props["scaleSettings"]
            pool["_last_enable"] = time.time()
            eng.run_autoscale(_key(pool["name"]), pool)
            pool["etag"] = new_etag()
            pool["lastModified"] = iso()
            eng.save_pool(pool)
            eng.wake()
        return Response(200, None)

    def _disable_as(self, req: Request, pool_id: str) -> Response:
        self.svc.mgmt._disable_autoscale(pool_id)
        return Response(200, None)

    def _evaluate_as(self, req: Request, pool_id: str) -> Response:
        body = self._body(req, "BatchPoolEvaluateAutoScaleOptions")
        formula = body.get("autoScaleFormula")
        eng = self.engine
        with eng.lock:
            pool = self._pool(pool_id)
            if "autoScale" not in (pool["properties"].get("scaleSettings") or {}):
                raise ApiError(
                    409, "OperationInvalidForCurrentState", "Autoscale is not enabled on the specified pool."
                )
            if not isinstance(formula, str):
                raise ApiError(
                    400,
                    "MissingRequiredProperty",
                    "A required property was not specified in the request body.",
                    [("PropertyName", "autoScaleFormula")],
                )
            try:
                autoscale.check(formula)
            except autoscale.FormulaError as exc:
                raise ApiError(
                    400,
                    "InvalidAutoScaleFormula",
                    "The specified autoscale formula is invalid.",
                    [("Message", str(exc))],
                ) from None
            result = eng.evaluate(_key(pool["name"]), pool, formula)
        run: dict = {"timestamp": iso(), "results": result.results}
        if result.error is not None:
            run["error"] = {"code": result.error.code, "message": result.error.message}
            if result.error.values:
                run["error"]["values"] = [{"name": v.name, "value": v.value} for v in result.error.values]
        return Response(200, run)

    # --- jobs ----------------------------------------------------------------------------------------------------
    def job_view(self, job: dict) -> dict:
        return public(job)

    def _create_job(self, req: Request) -> Response:
        body = self._body(req, "BatchJobCreateOptions")
        job_id = body.get("id")
        _check_id(job_id, "id")
        for unsupported in ("jobManagerTask", "jobPreparationTask", "jobReleaseTask", "networkConfiguration"):
            if body.get(unsupported):
                raise ApiError(
                    400,
                    "FeatureNotSupported",
                    f"The local service does not run {unsupported}.",
                    [("PropertyName", unsupported)],
                )
        pool_info = body.get("poolInfo")
        if not isinstance(pool_info, dict) or not isinstance(pool_info.get("poolId"), str):
            if isinstance(pool_info, dict) and pool_info.get("autoPoolSpecification"):
                raise ApiError(
                    400,
                    "FeatureNotSupported",
                    "The local service does not support auto pools; create "
                    "the pool first and set poolInfo.poolId.",
                    [("PropertyName", "autoPoolSpecification")],
                )
            raise ApiError(
                400,
                "MissingRequiredProperty",
                "A required property was not specified in the request body.",
                [("PropertyName", "poolInfo")],
            )
        job = _validate_job_fields(body)
        eng = self.engine
        with eng.lock:
            if job_id.lower() in eng.jobs:
                raise ApiError(409, "JobExists", "The specified job already exists.")
            now = iso()
            record = {
                "id": job_id,
                "url": f"{self.url}/jobs/{job_id}",
                "eTag": new_etag(),
                "lastModified": now,
                "creationTime": now,
                "state": "active",
                "stateTransitionTime": now,
                "priority": 0,
                "maxParallelTasks": -1,
                "allowTaskPreemption": False,
                "usesTaskDependencies": False,
                "onAllTasksComplete": "noaction",
                "onTaskFailure": "noaction",
                "constraints": {"maxWallClockTime": FOREVER, "maxTaskRetryCount": 0},
                "poolInfo": {"poolId": pool_info["poolId"]},
            }
            record.update(job)
            if body.get("displayName"):
                record["displayName"] = body["displayName"]
            if body.get("commonEnvironmentSettings"):
                record["commonEnvironmentSettings"] = body["commonEnvironmentSettings"]
            record["executionInfo"] = {"startTime": now, "poolId": pool_info["poolId"]}
            _set_deadline(record)
            key = job_id.lower()
            eng.jobs[key] = record
            eng.tasks[key] = {}
            from collections import deque

            eng.queues[key] = deque()
            eng.blocked[key] = []
            eng.save_job(record)
            return self._created(f"jobs/{job_id}", record["eTag"])

    def _update_job(self, req: Request, job_id: str, replace: bool) -> Response:
        body = self._body(req, "BatchJob" if replace else "BatchJobUpdateOptions", partial=True)
        fields = _validate_job_fields(body, updating=True)
        eng = self.engine
        with eng.lock:
            job = self._job(job_id)
            self._check_if_match(req, job["eTag"])
            if job["state"] in ("completed", "terminating", "deleting"):
                raise ApiError(
                    409,
                    "JobCompleted" if job["state"] != "deleting" else "JobBeingDeleted",
                    f"The specified job is {job['state']}.",
                )
            if replace:
                if "poolInfo" not in body:
                    raise ApiError(
                        400,
                        "MissingRequiredProperty",
                        "A required property was not specified in the request body.",
                        [("PropertyName", "poolInfo")],
                    )
                job.update(
                    {
                        "priority": 0,
                        "maxParallelTasks": -1,
                        "allowTaskPreemption": False,
                        "onAllTasksComplete": "noaction",
                        "metadata": [],
                        "constraints": {"maxWallClockTime": FOREVER, "maxTaskRetryCount": 0},
                    }
                )
            if "usesTaskDependencies" in fields:
                raise ApiError(
                    400,
                    "InvalidPropertyValue",
                    "usesTaskDependencies cannot be changed.",
                    [("PropertyName", "usesTaskDependencies")],
                )
            if (
                "onAllTasksComplete" in fields
                and job.get("onAllTasksComplete") == "terminatejob"
                and fields["onAllTasksComplete"] == "noaction"
            ):
                raise ApiError(
                    400,
                    "InvalidPropertyValue",
                    "onAllTasksComplete cannot be changed from terminatejob to noaction.",
                    [("PropertyName", "onAllTasksComplete")],
                )
            job.update(fields)
            if "poolInfo" in body:
                job["poolInfo"] = {"poolId": body["poolInfo"].get("poolId")}
            _set_deadline(job)
            job["eTag"] = new_etag()
            job["lastModified"] = iso()
            eng.save_job(job)
            eng._check_all_complete(_key(job["id"]))
            eng.wake()
            return Response(200, None, self._etag_headers(job["eTag"], job["lastModified"]))

    def _delete_job(self, job_id: str) -> Response:
        eng = self.engine
        with eng.lock:
            job = self._job(job_id)
            if job["state"] != "deleting":
                eng.delete_job(job)
                eng.wake()
        return Response(202, None, {"Retry-After": "0"})

    def _terminate_job(self, req: Request, job_id: str) -> Response:
        reason = "UserTerminate"
        if req.body:
            body = self._body(req, "BatchJobTerminateOptions")
            reason = str(body.get("terminateReason") or reason)
        eng = self.engine
        with eng.lock:
            job = self._job(job_id)
            if job["state"] == "completed":
                raise ApiError(409, "JobCompleted", "The specified job is already in a completed state.")
            if job["state"] == "terminating":
                raise ApiError(409, "JobBeingTerminated", "The specified job is being terminated.")
            if job["state"] == "deleting":
                raise ApiError(409, "JobBeingDeleted", "The specified job has been marked for deletion.")
            eng.terminate_job(job, reason)
        return Response(202, None, {"Retry-After": "0"})

    def _disable_job(self, req: Request, job_id: str) -> Response:
        body = self._body(req, "BatchJobDisableOptions")
        how = str(body.get("disableTasks", "")).lower()
        if how not in ("requeue", "terminate", "wait"):
            raise ApiError(
                400,
                "InvalidPropertyValue",
                "The value provided for one of the properties in the request body is invalid.",
                [("PropertyName", "disableTasks")],
            )
        eng = self.engine
        with eng.lock:
            job = self._job(job_id)
            if job["state"] != "active":
                raise ApiError(
                    409, "JobNotActive", f"The job is {job['state']}; only an active job can be disabled."
                )
            if how != "wait":
                for running in eng.running.values():
                    for (jk, tk), cancel in running.items():
                        if jk == _key(job["id"]):
                            eng.tasks[jk][tk]["_cancel_reason"] = how
                            cancel.set()
            eng._set_job_state(job, "disabled")
            eng.save_job(job)
        return Response(202, None, {"Retry-After": "0"})

    def _enable_job(self, job_id: str) -> Response:
        eng = self.engine
        with eng.lock:
            job = self._job(job_id)
            if job["state"] != "disabled":
                raise ApiError(
                    409,
                    "OperationInvalidForCurrentState",
                    f"The job is {job['state']}; only a disabled job can be enabled.",
                )
            eng._set_job_state(job, "active")
            eng.save_job(job)
            eng.wake()
        return Response(202, None, {"Retry-After": "0"})

    # --- tasks ---------------------------------------------------------------------------------------------------
    def task_view(self, task: dict) -> dict:
        return public(task)

    def _new_task(self, job: dict, body: object, now: str) -> dict:
        """Validate one task body and build its record; raises ApiError (a client error for that task)."""
        if not isinstance(body, dict):
            raise ApiError(
                400,
                "InvalidRequestBody",
                "The specified Request Body is not syntactically valid.",
                [("Reason", "a task must be a JSON object")],
            )
        task_id = body.get("id")
        _check_id(task_id, "id")
        if not isinstance(body.get("commandLine"), str) or not body["commandLine"].strip():
            raise ApiError(
                400,
                "MissingRequiredProperty",
                "A required property was not specified in the request body.",
                [("PropertyName", "commandLine")],
            )
        for unsupported in ("multiInstanceSettings", "containerSettings"):
            if body.get(unsupported):
                raise ApiError(
                    400,
                    "FeatureNotSupported",
                    f"The local service does not support {unsupported}.",
                    [("PropertyName", unsupported)],
                )
        check_task_shapes(body)
        for i, rf in enumerate(body.get("resourceFiles") or []):
            if not isinstance(rf, dict):
                raise ApiError(
                    400,
                    "InvalidPropertyValue",
                    "The value provided for one of the properties in the request body is invalid.",
                    [("PropertyName", f"resourceFiles[{i}]")],
                )
            sources = [k for k in ("httpUrl", "storageContainerUrl", "autoStorageContainerName") if rf.get(k)]
            if len(sources) != 1:
                raise ApiError(
                    400,
                    "InvalidPropertyValue",
                    "Exactly one of httpUrl, storageContainerUrl and "
                    "autoStorageContainerName must be specified.",
                    [("PropertyName", f"resourceFiles[{i}]")],
                )
            if rf.get("filePath") is not None and unsafe_path(rf["filePath"]):
                raise ApiError(
                    400,
                    "InvalidPropertyValue",
                    "The value provided for one of the properties in the request body is invalid.",
                    [
                        ("PropertyName", "filePath"),
                        ("PropertyValue", str(rf["filePath"])),
                        (
                            "Reason",
                            "The file path must be relative and must not refer outside the task "
                            "working directory (for example with '..').",
                        ),
                    ],
                )
        for i, of in enumerate(body.get("outputFiles") or []):
            pattern = of.get("filePattern") if isinstance(of, dict) else None
            container = (
                ((of or {}).get("destination") or {}).get("container") if isinstance(of, dict) else None
            )
            if (
                not isinstance(pattern, str)
                or not isinstance(container, dict)
                or not container.get("containerUrl")
            ):
                raise ApiError(
                    400,
                    "MissingRequiredProperty",
                    "A required property was not specified in the request body.",
                    [("PropertyName", f"outputFiles[{i}]")],
                )
            check = pattern[3:] if pattern.startswith("../") and "/" not in pattern[3:] else pattern
            if unsafe_path(check):
                raise ApiError(
                    400,
                    "InvalidPropertyValue",
                    "The value provided for one of the properties in the request body is invalid.",
                    [
                        ("PropertyName", "filePattern"),
                        ("PropertyValue", pattern),
                        ("Reason", "The file pattern must not refer outside the task directory."),
                    ],
                )
        constraints = dict(body.get("constraints") or {})
        for k in ("maxWallClockTime", "retentionTime"):
            if k in constraints and parse_duration(constraints[k]) is None:
                raise ApiError(
                    400,
                    "InvalidPropertyValue",
                    "The value provided for one of the properties in the request body is invalid.",
                    [("PropertyName", k), ("PropertyValue", str(constraints[k]))],
                )
        constraints.setdefault("maxWallClockTime", FOREVER)
        constraints.setdefault("retentionTime", "P7D")
        constraints.setdefault(
            "maxTaskRetryCount", (job.get("constraints") or {}).get("maxTaskRetryCount", 0)
        )
        slots = body.get("requiredSlots", 1)
        if not isinstance(slots, int) or isinstance(slots, bool) or slots < 1:
            raise ApiError(
                400,
                "InvalidPropertyValue",
                "The value provided for one of the properties in the request body is invalid.",
                [("PropertyName", "requiredSlots")],
            )
        if body.get("dependsOn") and not job.get("usesTaskDependencies"):
            raise ApiError(
                400,
                "TaskDependenciesNotSpecifiedOnJob",
                "The task depends on other tasks but the job does not have usesTaskDependencies set.",
                [("PropertyName", "dependsOn")],
            )
        deps = body.get("dependsOn") or {}
        if len(json.dumps(deps.get("taskIds") or [])) > 64000:
            raise ApiError(400, "TaskDependencyListTooLong", "The task dependency list is too long.")
        task = {
            "id": task_id,
            "url": f"{self.url}/jobs/{job['id']}/tasks/{task_id}",
            "eTag": new_etag(),
            "creationTime": now,
            "lastModified": now,
            "state": "active",
            "stateTransitionTime": now,
            "commandLine": body["commandLine"],
            "userIdentity": body.get("userIdentity")
            or {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}},
            "constraints": constraints,
            "requiredSlots": slots,
            "executionInfo": {"retryCount": 0, "requeueCount": 0},
        }
        for k in (
            "displayName",
            "resourceFiles",
            "outputFiles",
            "environmentSettings",
            "dependsOn",
            "exitConditions",
            "applicationPackageReferences",
            "affinityInfo",
            "authenticationTokenSettings",
        ):
            if body.get(k) is not None:
                task[k] = body[k]
        return task

    def _writable_job(self, job_id: str) -> dict:
        job = self._job(job_id)
        if job["state"] == "completed":
            raise ApiError(409, "JobCompleted", "The specified job is already in a completed state.")
        if job["state"] == "terminating":
            raise ApiError(409, "JobBeingTerminated", "The specified job is being terminated.")
        if job["state"] == "deleting":
            raise ApiError(
                409,
                "JobBeingDeleted",
                "The specified job has been marked for deletion and is being garbage collected.",
            )
        return job

    def _create_task(self, req: Request, job_id: str) -> Response:
        body = self._body(req)
        eng = self.engine
        with eng.lock:
            job = self._writable_job(job_id)
            task = self._new_task(job, body, iso())
            key = _key(job["id"])
            if _key(task["id"]) in eng.tasks[key]:
                raise ApiError(409, "TaskExists", "The specified task already exists.")
            eng.add_tasks(key, [task])
            return self._created(f"jobs/{job['id']}/tasks/{task['id']}", task["eTag"])

    def _add_collection(self, req: Request, job_id: str) -> Response:
        if len(req.body) >= MAX_COLLECTION_BYTES:
            raise ApiError(
                413,
                "RequestBodyTooLarge",
                "The request body is too large and exceeds the maximum permissible limit.",
                [("MaxLimit", str(MAX_COLLECTION_BYTES))],
            )
        body = self._body(req)
        values = body.get("value")
        if not isinstance(values, list):
            raise ApiError(
                400,
                "MissingRequiredProperty",
                "A required property was not specified in the request body.",
                [("PropertyName", "value")],
            )
        if len(values) > MAX_COLLECTION_TASKS:
            raise ApiError(
                400,
                "InvalidPropertyValue",
                "The value provided for one of the properties in the request body is invalid.",
                [
                    ("PropertyName", "value"),
                    (
                        "Reason",
                        f"A task collection may contain at most "
                        f"{MAX_COLLECTION_TASKS} tasks; got {len(values)}.",
                    ),
                ],
            )
        faults = self.svc.faults
        eng = self.engine
        results: list[dict] = []
        with eng.lock:
            job = self._writable_job(job_id)
            key = _key(job["id"])
            existing = eng.tasks[key]
            now = iso()
            new: list[dict] = []
            seen: set[str] = set()
            for raw in values:
                tid = raw.get("id") if isinstance(raw, dict) else None
                try:
                    task = self._new_task(job, raw, now)
                except ApiError as err:
                    results.append(
                        {"status": "clienterror", "taskId": str(tid or ""), "error": _task_error(err)}
                    )
                    continue
                tkey = _key(task["id"])
                if tkey in existing or tkey in seen:
                    results.append(
                        {
                            "status": "clienterror",
                            "taskId": task["id"],
                            "error": _task_error(
                                ApiError(409, "TaskExists", "The specified task already exists.")
                            ),
                        }
                    )
                    continue
                if faults.partial and faults.task_server_error():
                    results.append(
                        {
                            "status": "servererror",
                            "taskId": task["id"],
                            "error": _task_error(
                                ApiError(
                                    500,
                                    "ServerBusy",
                                    "The server is busy (injected by BATCHSPEC_LOCAL_FAULTS).",
                                )
                            ),
                        }
                    )
                    continue
                seen.add(tkey)
                new.append(task)
                results.append(
                    {
                        "status": "success",
                        "taskId": task["id"],
                        "eTag": task["eTag"],
                        "lastModified": now,
                        "location": task["url"],
                    }
                )
            if new:
                eng.add_tasks(key, new)
        return Response(200, {"value": results})

    def _list_tasks(self, req: Request, job_id: str) -> Response:
        with self.engine.lock:
            job = self._job(job_id)
            items = [public(t) for t in self.engine.tasks[_key(job["id"])].values()]
        return self._list(req, items, "tasks")

    def _update_task(self, req: Request, job_id: str, task_id: str) -> Response:
        body = self._body(req, "BatchTask", partial=True)
        eng = self.engine
        with eng.lock:
            task = self._task(job_id, task_id)
            self._check_if_match(req, task["eTag"])
            constraints = dict(task.get("constraints") or {})
            constraints.update(body.get("constraints") or {})
            task["constraints"] = constraints
            task["eTag"] = new_etag()
            task["lastModified"] = iso()
            eng.save_task(_key(job_id), task)
            return Response(200, None, self._etag_headers(task["eTag"], task["lastModified"]))

    def _delete_task(self, job_id: str, task_id: str) -> Response:
        eng = self.engine
        with eng.lock:
            job = self._job(job_id)
            task = self._task(job_id, task_id)
            jk, tk = _key(job["id"]), _key(task["id"])
            for running in eng.running.values():
                if (jk, tk) in running:
                    task["_cancel_reason"] = "terminate"
                    running[(jk, tk)].set()
            del eng.tasks[jk][tk]
            eng.store.delete("task", f"{jk}/{tk}")
        return Response(200, None)

    def _terminate_task(self, job_id: str, task_id: str) -> Response:
        eng = self.engine
        with eng.lock:
            job = self._job(job_id)
            task = self._task(job_id, task_id)
            jk, tk = _key(job["id"]), _key(task["id"])
            cancel = next((r[(jk, tk)] for r in eng.running.values() if (jk, tk) in r), None)
            if cancel is not None:
                task["_cancel_reason"] = "terminate"
                cancel.set()
            elif task["state"] == "active":
                eng._set_task_state(task, "completed")
                info = task.setdefault("executionInfo", {})
                info.update(
                    result="failure",
                    endTime=iso(),
                    failureInfo={
                        "category": "usererror",
                        "code": "TaskEnded",
                        "message": "The task was terminated",
                    },
                )
                eng.save_task(jk, task)
                eng._check_all_complete(jk)
        return Response(204, None)

    def _reactivate_task(self, job_id: str, task_id: str) -> Response:
        eng = self.engine
        with eng.lock:
            job = self._job(job_id)
            task = self._task(job_id, task_id)
            if task["state"] != "completed":
                raise ApiError(
                    409,
                    "TaskNotCompleted",
                    "The specified task is not in a completed state, and the "
                    "requested operation can be performed only on completed tasks.",
                )
            if task.get("executionInfo", {}).get("result") != "failure":
                raise ApiError(
                    409,
                    "TaskSucceeded",
                    "The specified task has already completed successfully, and "
                    "the requested operation cannot be performed on successful tasks.",
                )
            jk = _key(job["id"])
            eng._set_task_state(task, "active")
            task["executionInfo"] = {"retryCount": 0, "requeueCount": 0}
            eng.queues[jk].append(_key(task["id"]))
            eng.save_task(jk, task)
            eng.wake()
        return Response(204, None)

    # --- task and node files -------------------------------------------------------------------------------------
    def _task_dir(self, job_id: str, task_id: str) -> tuple[str, Path | None]:
        with self.engine.lock:
            task = self._task(job_id, task_id)
            return task["url"], Path(task["_dir"]) if task.get("_dir") else None

    def _node_dir(self, pool_id: str, node_id: str) -> tuple[str, Path]:
        with self.engine.lock:
            pool = self._pool(pool_id)
            node = self.engine.nodes.get(node_id)
            if node is None or node["_pool"] != _key(pool["name"]):
                raise ApiError(404, "NodeNotFound", "The specified node does not exist.")
            return node["url"], Path(node["_dir"])

    def _list_files(self, req: Request, url: str, root: Path | None) -> Response:
        items: list[dict] = []
        recursive = (req.param("recursive") or "").lower() == "true"
        if root is not None and root.is_dir():
            for dirpath, dirs, files in os.walk(root):
                rel_dir = Path(dirpath).relative_to(root)
                if not recursive and rel_dir != Path("."):
                    continue
                for name in sorted(dirs) + sorted(files):
                    path = Path(dirpath) / name
                    rel = (rel_dir / name).as_posix()
                    try:
                        items.append(self._file_entry(url, path, rel))
                    except OSError:
                        continue  # removed while listing
        return self._list(req, items, "files")

    @staticmethod
    def _file_entry(url: str, path: Path, rel: str) -> dict:
        st = path.stat()
        is_dir = path.is_dir()
        when = iso(dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc))
        entry: dict = {"name": rel, "url": f"{url}/files/{rel}", "isDirectory": is_dir}
        if not is_dir:
            entry["properties"] = {
                "creationTime": when,
                "lastModified": when,
                "contentLength": str(st.st_size),
                "contentType": "application/octet-stream",
                "fileMode": f"{st.st_mode & 0o777:o}",
            }
        return entry

    def _get_file(self, req: Request, url: str, root: Path | None, file_path: str, head: bool) -> Response:
        if unsafe_path(file_path):
            raise ApiError(
                400,
                "InvalidPropertyValue",
                "The file path is not valid.",
                [("PropertyName", "filePath"), ("PropertyValue", file_path)],
            )
        target = (root / file_path).resolve() if root is not None else None
        if target is None or not target.is_file() or root.resolve() not in target.parents:
            raise ApiError(404, "FileNotFound", "The specified file does not exist.")
        st = target.stat()
        mtime = dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc)
        headers = {
            "Content-Type": "application/octet-stream",
            "ocp-creation-time": rfc1123(mtime),
            "ocp-batch-file-isdirectory": "False",
            "ocp-batch-file-url": f"{url}/files/{file_path}",
            "ocp-batch-file-mode": f"{st.st_mode & 0o777:o}",
            "Last-Modified": rfc1123(mtime),
        }
        if head:
            headers.pop("Content-Type")
            return Response(200, None, {**headers, "Content-Length-Override": str(st.st_size)})
        limit = 64 * 1024 * 1024
        rng = req.headers.get("ocp-range") or req.headers.get("range")
        start, end = 0, st.st_size - 1
        if rng:
            try:
                start_s, _, end_s = rng.removeprefix("bytes=").partition("-")
                start = int(start_s or 0)
                end = int(end_s) if end_s else st.st_size - 1
            except ValueError:
                raise ApiError(
                    400,
                    "InvalidHeaderValue",
                    "The value for one of the HTTP headers is not in the correct format.",
                    [("HeaderName", "ocp-range"), ("HeaderValue", rng)],
                ) from None
        with open(target, "rb") as fh:
            fh.seek(max(0, start))
            data = fh.read(max(0, min(end - start + 1, limit)))
        return Response(200, data, headers)


def _invalid(prop: str, reason: str) -> ApiError:
    return ApiError(
        400,
        "InvalidPropertyValue",
        "The value provided for one of the properties in the request body is invalid.",
        [("PropertyName", prop), ("Reason", reason)],
    )


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_name_values(value: object, prop: str) -> None:
    """environmentSettings / metadata: a list of {"name": str, "value": str}."""
    if value is None:
        return
    if not isinstance(value, list) or not all(
        isinstance(i, dict)
        and isinstance(i.get("name"), str)
        and i["name"]
        and isinstance(i.get("value", ""), (str, type(None)))
        for i in value
    ):
        raise _invalid(prop, f"{prop} must be a list of objects with a string name and value")


def check_task_shapes(body: dict) -> None:
    """Types of the task fields the node agent reads (a wrong type is the caller's error, never a crash)."""
    check_name_values(body.get("environmentSettings"), "environmentSettings")
    for prop in ("resourceFiles", "outputFiles"):
        v = body.get(prop)
        if v is not None and (not isinstance(v, list) or not all(isinstance(i, dict) for i in v)):
            raise _invalid(prop, f"{prop} must be a list of objects")
    for prop in ("constraints", "userIdentity", "dependsOn", "exitConditions"):
        v = body.get(prop)
        if v is not None and not isinstance(v, dict):
            raise _invalid(prop, f"{prop} must be an object")
    c = body.get("constraints") or {}
    if "maxTaskRetryCount" in c and (not _is_int(c["maxTaskRetryCount"]) or c["maxTaskRetryCount"] < -1):
        raise _invalid("maxTaskRetryCount", "maxTaskRetryCount must be an integer >= -1")
    deps = body.get("dependsOn") or {}
    ids = deps.get("taskIds", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise _invalid("taskIds", "dependsOn.taskIds must be a list of task ids")
    ranges = deps.get("taskIdRanges", [])
    if not isinstance(ranges, list) or not all(
        isinstance(r, dict)
        and _is_int(r.get("start"))
        and _is_int(r.get("end"))
        and 0 <= r["start"] <= r["end"]
        and r["end"] - r["start"] <= 100_000
        for r in ranges
    ):
        raise _invalid(
            "taskIdRanges", "dependsOn.taskIdRanges must be a list of {start, end} with 0 <= start <= end"
        )
    ec = body.get("exitConditions") or {}
    for prop, keys in (("exitCodes", ("code",)), ("exitCodeRanges", ("start", "end"))):
        items = ec.get(prop, [])
        if not isinstance(items, list) or not all(
            isinstance(i, dict)
            and all(_is_int(i.get(k)) for k in keys)
            and isinstance(i.get("exitOptions", {}), dict)
            for i in items
        ):
            raise _invalid(
                prop, f"exitConditions.{prop} must be a list of objects with integer {' and '.join(keys)}"
            )
    for prop in ("preProcessingError", "fileUploadError", "default"):
        if prop in ec and not isinstance(ec[prop], dict):
            raise _invalid(prop, f"exitConditions.{prop} must be an object")


def _task_error(err: ApiError) -> dict:
    out: dict = {"code": err.code, "message": {"lang": "en-US", "value": err.message}}
    if err.values:
        out["values"] = [{"key": k, "value": v} for k, v in err.values]
    return out


def _check_id(value: object, prop: str) -> None:
    if not isinstance(value, str) or not value:
        raise ApiError(
            400,
            "MissingRequiredProperty",
            "A required property was not specified in the request body.",
            [("PropertyName", prop)],
        )
    if not ID_RE.match(value):
        raise ApiError(
            400,
            "InvalidPropertyValue",
            "The value provided for one of the properties in the request body is invalid.",
            [
                ("PropertyName", prop),
                ("PropertyValue", value),
                ("Reason", "An id may contain at most 64 letters, digits, hyphens and underscores."),
            ],
        )


def _validate_job_fields(body: dict, updating: bool = False) -> dict:
    out: dict = {}

    def bad(name: str, reason: str) -> ApiError:
        return ApiError(
            400,
            "InvalidPropertyValue",
            "The value provided for one of the properties in the request body is invalid.",
            [("PropertyName", name), ("Reason", reason)],
        )

    if "priority" in body:
        p = body["priority"]
        if not isinstance(p, int) or isinstance(p, bool) or not -1000 <= p <= 1000:
            raise bad("priority", "priority must be an integer from -1000 to 1000")
        out["priority"] = p
    if "maxParallelTasks" in body:
        v = body["maxParallelTasks"]
        if not isinstance(v, int) or isinstance(v, bool) or (v != -1 and v < 1):
            raise bad("maxParallelTasks", "maxParallelTasks must be -1 or greater than 0")
        out["maxParallelTasks"] = v
    for k, allowed in (
        ("onAllTasksComplete", ("noaction", "terminatejob")),
        ("onTaskFailure", ("noaction", "performexitoptionsjobaction")),
    ):
        if k in body:
            if str(body[k]).lower() not in allowed:
                raise bad(k, f"{k} must be one of {', '.join(allowed)}")
            out[k] = str(body[k]).lower()
    if "constraints" in body:
        c = body["constraints"] or {}
        if not isinstance(c, dict):
            raise bad("constraints", "constraints must be an object")
        merged = {"maxWallClockTime": FOREVER, "maxTaskRetryCount": 0, **c}
        if parse_duration(merged["maxWallClockTime"]) is None:
            raise bad("maxWallClockTime", "maxWallClockTime must be an ISO 8601 duration")
        out["constraints"] = merged
    for k in ("usesTaskDependencies", "allowTaskPreemption"):
        if k in body:
            out[k] = bool(body[k])
    if "metadata" in body:
        check_name_values(body["metadata"], "metadata")
        out["metadata"] = body["metadata"] or []
    check_name_values(body.get("commonEnvironmentSettings"), "commonEnvironmentSettings")
    if "poolInfo" in body and (
        not isinstance(body["poolInfo"], dict) or not isinstance(body["poolInfo"].get("poolId"), str)
    ):
        raise bad("poolInfo", "poolInfo.poolId must be a pool id")
    if isinstance(out.get("constraints"), dict):
        retries = out["constraints"].get("maxTaskRetryCount")
        if not _is_int(retries) or retries < -1:
            raise bad("maxTaskRetryCount", "maxTaskRetryCount must be an integer >= -1")
    return out


def _set_deadline(job: dict) -> None:
    limit = parse_duration((job.get("constraints") or {}).get("maxWallClockTime") or FOREVER)
    if limit is None or limit >= dt.timedelta(days=3650):
        job.pop("_deadline", None)
        return
    from batchspec.local.model import parse_iso

    job["_deadline"] = parse_iso(job["creationTime"]).timestamp() + limit.total_seconds()


def _select(req: Request, item: dict) -> dict:
    sel = req.param("$select")
    if not sel:
        return item
    wanted = {s.strip().split("/")[0] for s in sel.split(",") if s.strip()}
    return {k: v for k, v in item.items() if k in wanted}
