"""Drive the batchspec local Batch service with nothing but the Azure SDKs.

Creates a pool (start task + autoscale formula) through azure-mgmt-batch, uploads one input blob per task to
blob storage (Azurite), runs a job of 200 tasks through azure-batch -- each task gets its blob as a resource file,
runs a program that knows nothing about the cloud, and its result goes back to blob storage as an output file --
waits, reads the outputs, and cleans up.

Connection details come from the environment, as written by ``batchspec local serve --azurite`` to
``<state-dir>/connection.env`` (``set -a; . <state-dir>/connection.env; set +a``), or from the JSON file named by
``BATCHSPEC_LOCAL_CONNECTION`` (``<state-dir>/connection.json``). The same script works against Azure with the
real endpoints, credentials and a storage account.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time

from azure.batch import BatchClient
from azure.identity import ClientSecretCredential
from azure.mgmt.batch import BatchManagementClient
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

TASKS = 200
POOL, JOB = "sdk-script-pool", "sdk-script-job"
# The documented "start with one node, then follow the pending tasks" formula (3-minute window).
FORMULA = """
startingNumberOfVMs = 1;
maxNumberofVMs = 4;
pendingTaskSamplePercent = $PendingTasks.GetSamplePercent(180 * TimeInterval_Second);
pendingTaskSamples = pendingTaskSamplePercent < 70 ? startingNumberOfVMs : avg($PendingTasks.GetSample(180 * TimeInterval_Second));
$TargetDedicatedNodes = min(maxNumberofVMs, pendingTaskSamples);
$NodeDeallocationOption = taskcompletion;
"""
# The start task installs the "legacy application" every task runs (the sleep stands in for real work).
INSTALL = (
    '/bin/sh -c \'printf "#!/bin/sh\\nsleep 0.2\\ntr a-z A-Z < \\"\\$1\\" > \\"\\$2\\"\\n" '
    "> $AZ_BATCH_NODE_SHARED_DIR/convert && chmod +x $AZ_BATCH_NODE_SHARED_DIR/convert'"
)


def settings() -> dict[str, str]:
    path = os.environ.get("BATCHSPEC_LOCAL_CONNECTION")
    if path:
        with open(path) as fh:
            raw = json.load(fh)
        return {k: str(v) for k, v in raw.items()}
    env = os.environ
    return {
        "tenant_id": env["AZURE_TENANT_ID"],
        "client_id": env["AZURE_CLIENT_ID"],
        "client_secret": env["AZURE_CLIENT_SECRET"],
        "authority_host": env["AZURE_AUTHORITY_HOST"],
        "management_url": env["BATCHSPEC_LOCAL_MANAGEMENT_URL"],
        "ca_file": env["BATCHSPEC_LOCAL_CA_FILE"],
        "subscription_id": env["BATCHSPEC_LOCAL_SUBSCRIPTION_ID"],
        "resource_group": env["BATCHSPEC_LOCAL_RESOURCE_GROUP"],
        "account_name": env["BATCHSPEC_LOCAL_ACCOUNT_NAME"],
        "storage_connection_string": env["AZURE_STORAGE_CONNECTION_STRING"],
    }


def sas_url(blobs: BlobServiceClient, container: str, **permissions: bool) -> str:
    sas = generate_container_sas(
        blobs.account_name,
        container,
        account_key=blobs.credential.account_key,
        permission=ContainerSasPermissions(**permissions),
        expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2),
    )
    return f"{blobs.url.rstrip('/')}/{container}?{sas}"


def main() -> int:
    s = settings()
    verify = s["ca_file"]
    cred = ClientSecretCredential(
        s["tenant_id"],
        s["client_id"],
        s["client_secret"],
        authority=s["authority_host"],
        disable_instance_discovery=True,
        connection_verify=verify,
    )
    arm = BatchManagementClient(
        cred, s["subscription_id"], base_url=s["management_url"], connection_verify=verify
    )
    rg, account_name = s["resource_group"], s["account_name"]
    account = arm.batch_account.get(rg, account_name)
    batch = BatchClient("https://" + account.account_endpoint, cred, connection_verify=verify)
    blobs = BlobServiceClient.from_connection_string(s["storage_connection_string"])

    # 1. inputs: one small text blob per task
    for name in ("inputs", "outputs"):
        if not blobs.get_container_client(name).exists():
            blobs.create_container(name)
    inputs = blobs.get_container_client("inputs")
    for i in range(TASKS):
        inputs.upload_blob(f"doc-{i:03d}.txt", f"document number {i}\n".encode(), overwrite=True)
    read_url = sas_url(blobs, "inputs", read=True, list=True)
    write_url = sas_url(blobs, "outputs", read=True, list=True, write=True, create=True)

    # 2. the pool: start task + autoscale formula (management plane)
    arm.pool.create(
        rg,
        account_name,
        POOL,
        {
            "properties": {
                "vmSize": "STANDARD_D2S_V3",
                "deploymentConfiguration": {
                    "virtualMachineConfiguration": {
                        "imageReference": {
                            "publisher": "canonical",
                            "offer": "0001-com-ubuntu-server-jammy",
                            "sku": "22_04-lts",
                            "version": "latest",
                        },
                        "nodeAgentSkuId": "batch.node.ubuntu 22.04",
                    }
                },
                "taskSlotsPerNode": 4,
                "scaleSettings": {"autoScale": {"formula": FORMULA, "evaluationInterval": "PT5M"}},
                "startTask": {"commandLine": INSTALL, "waitForSuccess": True, "maxTaskRetryCount": 1},
            }
        },
    )

    # 3. the job and its tasks (data plane), in chunks of at most 100
    batch.create_job({"id": JOB, "poolInfo": {"poolId": POOL}, "onAllTasksComplete": "terminatejob"})
    tasks = [
        {
            "id": f"convert-{i:03d}",
            "commandLine": "/bin/sh -c '$AZ_BATCH_NODE_SHARED_DIR/convert input.txt output.txt'",
            "resourceFiles": [
                {
                    "httpUrl": f"{read_url.split('?')[0]}/doc-{i:03d}.txt?{read_url.split('?')[1]}",
                    "filePath": "input.txt",
                }
            ],
            "outputFiles": [
                {
                    "filePattern": "output.txt",
                    "destination": {"container": {"containerUrl": write_url, "path": f"doc-{i:03d}.txt"}},
                    "uploadOptions": {"uploadCondition": "tasksuccess"},
                }
            ],
        }
        for i in range(TASKS)
    ]
    for start in range(0, TASKS, 100):
        result = batch.create_task_collection(JOB, {"value": tasks[start : start + 100]})
        bad = [r for r in result.result_values if r.status != "success" and r.error.code != "TaskExists"]
        if bad:
            print(f"could not add {len(bad)} tasks: {bad[0].error.code}", file=sys.stderr)
            return 1

    # 4. wait, watching the task counts and the pool growing
    deadline = time.monotonic() + float(os.environ.get("SDK_SCRIPT_TIMEOUT", "600"))
    max_nodes = 0
    while True:
        counts = batch.get_job_task_counts(JOB).task_counts
        pool = arm.pool.get(rg, account_name, POOL)
        max_nodes = max(max_nodes, pool.current_dedicated_nodes or 0)
        print(
            f"nodes={pool.current_dedicated_nodes} active={counts.active} running={counts.running} "
            f"succeeded={counts.succeeded} failed={counts.failed}",
            file=sys.stderr,
        )
        if counts.completed == TASKS:
            break
        if time.monotonic() > deadline:
            print("timed out waiting for the tasks", file=sys.stderr)
            return 1
        time.sleep(1)

    # 5. the outputs
    outputs = blobs.get_container_client("outputs")
    wrong = [
        i
        for i in range(TASKS)
        if outputs.download_blob(f"doc-{i:03d}.txt").readall() != f"DOCUMENT NUMBER {i}\n".encode()
    ]
    print(
        json.dumps(
            {
                "tasks": TASKS,
                "succeeded": counts.succeeded,
                "failed": counts.failed,
                "outputs_checked": TASKS - len(wrong),
                "max_nodes": max_nodes,
                "autoscale_results": pool.auto_scale_run.results if pool.auto_scale_run else None,
            }
        )
    )

    # 6. clean up
    batch.begin_delete_job(JOB, polling_interval=1).result()
    arm.pool.begin_delete(rg, account_name, POOL).result()
    return 0 if counts.failed == 0 and not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
