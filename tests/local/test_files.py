"""Resource files in and output files out, through azure-storage-blob against Azurite."""

from __future__ import annotations

import pytest

from .conftest import container_sas_url, read_file, run_job, unique


@pytest.fixture(scope="module")
def blobs(azurite):
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(azurite.connection_string)


def test_resource_files_and_output_files(batch, make_pool, azurite, blobs):
    inputs, outputs = unique("in"), unique("out")
    src = blobs.create_container(inputs)
    src.upload_blob("data/a.txt", b"alpha")
    src.upload_blob("data/b.txt", b"beta")
    src.upload_blob("other/c.txt", b"gamma")
    blobs.create_container(outputs)
    read_url, write_url = container_sas_url(azurite, inputs), container_sas_url(azurite, outputs, write=True)
    single_url = f"{azurite.blob_endpoint}/{inputs}/other/c.txt?{read_url.split('?', 1)[1]}"
    pool = make_pool(nodes=1)
    task = {
        "id": "convert",
        "commandLine": "/bin/sh -c 'cat in/data/a.txt in/data/b.txt single.txt > joined.out; echo log'",
        "resourceFiles": [
            {"storageContainerUrl": read_url, "blobPrefix": "data/", "filePath": "in"},
            {"httpUrl": single_url, "filePath": "single.txt"},
        ],
        "outputFiles": [
            {
                "filePattern": "*.out",
                "destination": {"container": {"containerUrl": write_url, "path": "results"}},
                "uploadOptions": {"uploadCondition": "tasksuccess"},
            },
            {
                "filePattern": "../std*.txt",
                "destination": {"container": {"containerUrl": write_url, "path": "logs"}},
                "uploadOptions": {"uploadCondition": "taskcompletion"},
            },
            {
                "filePattern": "*.out",
                "destination": {"container": {"containerUrl": write_url, "path": "failed"}},
                "uploadOptions": {"uploadCondition": "taskfailure"},
            },
        ],
    }
    job_id = run_job(batch, pool, [task])
    assert batch.get_task(job_id, "convert").execution_info.result == "success", read_file(
        batch, job_id, "convert", "stderr.txt"
    )
    out = blobs.get_container_client(outputs)
    names = sorted(b.name for b in out.list_blobs())
    assert names == ["logs/stderr.txt", "logs/stdout.txt", "results/joined.out"]
    assert out.download_blob("results/joined.out").readall() == b"alphabetagamma"
    assert out.download_blob("logs/stdout.txt").readall() == b"log\n"


def test_failed_download_fails_the_task_not_the_service(batch, make_pool, azurite):
    pool = make_pool(nodes=1)
    missing = container_sas_url(azurite, "no-such-container")
    job_id = run_job(
        batch, pool, [{"id": "t", "commandLine": "true", "resourceFiles": [{"storageContainerUrl": missing}]}]
    )
    info = batch.get_task(job_id, "t").execution_info
    assert info.result == "failure" and info.failure_info.code == "BlobNotFound"
    assert info.failure_info.category == "usererror"
    assert "sig=" not in info.failure_info.message  # the SAS token is not echoed back


def test_missing_azurite_binary_is_a_clear_error(monkeypatch, tmp_path):
    from batchspec.errors import BatchspecError
    from batchspec.local.azurite import start_azurite

    monkeypatch.setenv("BATCHSPEC_AZURITE", str(tmp_path / "nope"))
    with pytest.raises(BatchspecError, match=r"BATCHSPEC_AZURITE is set to .*not an executable"):
        start_azurite(tmp_path)
