"""Fixtures for the hostile input suite: a local Batch service and raw HTTPS requests that no SDK would send."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from batchspec.local.service import LocalBatchService

    svc = LocalBatchService(
        tmp_path_factory.mktemp("hostile-local"), time_scale=60, allocation_delay=0.05, faults=""
    )
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()


class Raw:
    """One HTTPS connection per request to the service, trusting only its CA file (as clients do)."""

    def __init__(self, svc: object) -> None:
        self.svc = svc
        self.conn = svc.connection  # type: ignore[attr-defined]

    def token(self, audience: str = "https://batch.core.windows.net") -> str:
        return self.svc.issuer.issue(audience)[0]  # type: ignore[attr-defined]

    @property
    def mgmt_account(self) -> str:
        c = self.conn
        return (
            f"/subscriptions/{c.subscription_id}/resourceGroups/{c.resource_group}/providers/Microsoft.Batch/"
            f"batchAccounts/{c.account_name}"
        )

    @property
    def data(self) -> str:
        return f"/accounts/{self.conn.account_name}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        query: str = "api-version=2025-06-01",
        *,
        skip_length: bool = False,
        send_body: bool = True,
    ) -> tuple[int, dict[str, str], object]:
        ctx = ssl.create_default_context(cafile=self.conn.ca_file)
        conn = http.client.HTTPSConnection("127.0.0.1", self.svc.port, context=ctx, timeout=20)  # type: ignore[attr-defined]
        try:
            conn.putrequest(method, f"{path}?{query}" if query else path, skip_accept_encoding=True)
            hdrs = {"Content-Type": "application/json; odata=minimalmetadata", **(headers or {})}
            if not skip_length and "Content-Length" not in hdrs:
                hdrs["Content-Length"] = str(len(body))
            for k, v in hdrs.items():
                conn.putheader(k, v)
            conn.endheaders()
            if body and send_body:
                conn.send(body)
            resp = conn.getresponse()
            data = resp.read()
            return (
                resp.status,
                {k.lower(): v for k, v in resp.getheaders()},
                json.loads(data) if data else None,
            )
        finally:
            conn.close()


@pytest.fixture(scope="module")
def raw(service: object) -> Raw:
    return Raw(service)


def write(folder: Path, text: str | bytes, name: str = "batchspec.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
