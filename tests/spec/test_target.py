"""Which Batch service a spec targets: local by default, Azure with an account or with `target: azure`."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchspec.spec.project import load_project

POOL = (
    "pool:\n  id: p1\n  vmSize: STANDARD_D2S_V3\n"
    "  image: {publisher: canonical, offer: 0001-com-ubuntu-server-jammy, sku: 22_04-lts, version: latest}\n"
    "  fixedScale: {targetDedicatedNodes: 1}\n"
)


@pytest.mark.parametrize(
    ("head", "kind", "ids"),
    [
        ("batchspec: 1\n", "local", (None, None, None)),
        ("batchspec: 1\ntarget: local\n", "local", (None, None, None)),
        # the ids then come from AZURE_SUBSCRIPTION_ID / BATCHSPEC_RESOURCE_GROUP / BATCHSPEC_ACCOUNT_NAME
        ("batchspec: 1\ntarget: azure\n", "azure", (None, None, None)),
        (
            "batchspec: 1\naccount: {subscriptionId: s1, resourceGroup: rg1, name: acct1}\n",
            "azure",
            ("s1", "rg1", "acct1"),
        ),
    ],
)
def test_target(tmp_path: Path, head: str, kind: str, ids: tuple[str | None, ...]) -> None:
    spec = tmp_path / "batchspec.yaml"
    spec.write_text(head + POOL, encoding="utf-8")
    target = load_project(spec).target
    assert target.kind == kind
    assert (target.subscription_id, target.resource_group, target.account_name) == ids
