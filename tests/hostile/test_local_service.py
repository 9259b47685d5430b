"""Hostile requests to the local Batch service over raw HTTPS: forged and missing credentials, malformed and
oversized bodies, paths that try to leave the task directory. Each asserts the exact status, error code and
message.

Already covered exactly elsewhere (not repeated here; see docs/reliability.md): no Authorization header on
both planes and malformed JSON / 5 MB body on the data plane (tests/local/test_dataplane.py), a wrong shared
key through the SDK (tests/local/test_dataplane.py::test_shared_key_auth), a wrong client secret at the token
endpoint (tests/local/test_mgmt.py).
"""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests.hostile.conftest import Raw

BATCH = "https://batch.core.windows.net"
MGMT = "https://management.azure.com"


def _message(body: object, plane: str) -> str:
    """The error message without the RequestId/Time lines the service appends."""
    assert isinstance(body, dict)
    text = body["message"]["value"] if plane == "data" else body["error"]["message"]
    return text.split("\nRequestId:")[0]


def _code(body: object, plane: str) -> str:
    assert isinstance(body, dict)
    return body["code"] if plane == "data" else body["error"]["code"]


def _forged_signature(token: str) -> str:
    return token.rsplit(".", 1)[0] + "." + base64.urlsafe_b64encode(b"x" * 32).decode().rstrip("=")


def _self_made(token: str, audience: str) -> str:
    """A payload the attacker wrote (far-future expiry) with a signature copied from a real token."""
    claims = json.dumps({"aud": audience, "exp": 9_999_999_999, "tid": "attacker"}).encode()
    return base64.urlsafe_b64encode(claims).decode().rstrip("=") + "." + token.rsplit(".", 1)[1]


DATA_REFUSALS = [
    # (case, Authorization header builder, status, message)
    (
        "basic-auth",
        lambda r: "Basic dXNlcjpwYXNz",
        401,
        "Server failed to authenticate the request: the Authorization header is missing or not Bearer/SharedKey.",
    ),
    (
        "forged-signature",
        lambda r: "Bearer " + _forged_signature(r.token()),
        401,
        "Server failed to authenticate the request: the access token was not issued by this service.",
    ),
    (
        "self-made-claims",
        lambda r: "Bearer " + _self_made(r.token(), BATCH),
        401,
        "Server failed to authenticate the request: the access token was not issued by this service.",
    ),
    (
        "empty-bearer",
        lambda r: "Bearer ",
        401,
        "Server failed to authenticate the request: the access token was not issued by this service.",
    ),
    (
        "expired",
        lambda r: "Bearer " + r.svc.issuer.issue(BATCH, now=1_000)[0],
        401,
        "Server failed to authenticate the request: the access token has expired.",
    ),
    (
        "management-token",
        lambda r: "Bearer " + r.token(MGMT),
        401,
        "Server failed to authenticate the request: the access token is for audience 'https://management.azure.com', "
        "expected 'https://batch.core.windows.net'.",
    ),
    (
        "shared-key-wrong-key",
        lambda r: f"SharedKey {r.conn.account_name}:" + base64.b64encode(b"y" * 32).decode(),
        403,
        "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly "
        "including the signature.",
    ),
    (
        "shared-key-other-account",
        lambda r: "SharedKey evil:" + base64.b64encode(b"y" * 32).decode(),
        403,
        "Server failed to authenticate the request: unknown account 'evil'.",
    ),
    (
        "shared-key-no-account",
        lambda r: "SharedKey ",
        403,
        "Server failed to authenticate the request: unknown account ''.",
    ),
]


@pytest.mark.parametrize(
    ("auth", "status", "message"), [c[1:] for c in DATA_REFUSALS], ids=[c[0] for c in DATA_REFUSALS]
)
def test_data_plane_refuses_forged_credentials(raw: Raw, auth, status: int, message: str) -> None:
    code, headers, body = raw.request("GET", raw.data + "/jobs", headers={"Authorization": auth(raw)})
    assert (code, _code(body, "data"), _message(body, "data")) == (status, "AuthenticationFailed", message)
    assert headers["content-type"].startswith("application/json")


def test_data_plane_wrong_shared_key_names_the_mac_mismatch(raw: Raw) -> None:
    auth = f"SharedKey {raw.conn.account_name}:" + base64.b64encode(b"y" * 32).decode()
    _, _, body = raw.request(
        "POST",
        raw.data + "/jobs",
        b'{"id": "forged", "poolInfo": {"poolId": "p"}}',
        headers={"Authorization": auth, "Date": "Wed, 25 Nov 2026 13:00:00 GMT"},
    )
    assert body["values"] == [
        {
            "key": "AuthenticationErrorDetail",
            "value": "The MAC signature found in the HTTP request is not the same as any computed signature.",
        }
    ]
    # and nothing was created
    _, _, listing = raw.request("GET", raw.data + "/jobs", headers={"Authorization": "Bearer " + raw.token()})
    assert all(j["id"] != "forged" for j in listing["value"])


MGMT_REFUSALS = [
    (
        "forged-signature",
        lambda r: "Bearer " + _forged_signature(r.token(MGMT)),
        "InvalidAuthenticationToken",
        "The access token is invalid: the access token was not issued by this service.",
    ),
    (
        "self-made-claims",
        lambda r: "Bearer " + _self_made(r.token(MGMT), MGMT),
        "InvalidAuthenticationToken",
        "The access token is invalid: the access token was not issued by this service.",
    ),
    (
        "expired",
        lambda r: "Bearer " + r.svc.issuer.issue(MGMT, now=1_000)[0],
        "InvalidAuthenticationToken",
        "The access token is invalid: the access token has expired.",
    ),
    (
        "batch-token",
        lambda r: "Bearer " + r.token(BATCH),
        "InvalidAuthenticationToken",
        "The access token is invalid: the access token is for audience 'https://batch.core.windows.net', expected "
        "'https://management.azure.com'.",
    ),
    (
        "shared-key",
        lambda r: f"SharedKey {r.conn.account_name}:" + base64.b64encode(b"y" * 32).decode(),
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
    ),
]


@pytest.mark.parametrize(
    ("auth", "code", "message"), [c[1:] for c in MGMT_REFUSALS], ids=[c[0] for c in MGMT_REFUSALS]
)
def test_management_plane_refuses_forged_credentials(raw: Raw, auth, code: str, message: str) -> None:
    status, headers, body = raw.request(
        "PUT",
        raw.mgmt_account + "/pools/forged",
        b'{"properties": {"vmSize": "standard_d2s_v3"}}',
        headers={"Authorization": auth(raw)},
    )
    assert (status, _code(body, "mgmt"), _message(body, "mgmt")) == (401, code, message)
    assert headers["www-authenticate"] == (
        f'Bearer authorization_uri="{raw.conn.authority_host}/{raw.conn.tenant_id}", error="invalid_token"'
    )
    status, _, _ = raw.request(
        "GET", raw.mgmt_account + "/pools/forged", headers={"Authorization": "Bearer " + raw.token(MGMT)}
    )
    assert status == 404  # the forged PUT created nothing


def test_token_endpoint_refuses_unknown_client_tenant_and_junk(raw: Raw) -> None:
    form = (
        f"grant_type=client_credentials&client_id={{client}}&client_secret={raw.conn.client_secret}"
        "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    cases = [
        (
            raw.conn.tenant_id,
            form.format(client="someone-else").encode(),
            "unauthorized_client",
            "AADSTS700016: Application with identifier 'someone-else' was not found.",
        ),
        (
            "other-tenant",
            form.format(client=raw.conn.client_id).encode(),
            "invalid_request",
            "AADSTS90002: Tenant 'other-tenant' not found.",
        ),
        (
            raw.conn.tenant_id,
            b"\xff\xfe junk",
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
        ),
    ]
    for tenant, body_bytes, error, description in cases:
        status, _, body = raw.request("POST", f"/{tenant}/oauth2/v2.0/token", body_bytes, headers, query="")
        assert (status, body["error"], body["error_description"]) == (400, error, description)
        assert "access_token" not in body


# --- bodies -------------------------------------------------------------------------------------------------


def test_management_plane_malformed_bodies(raw: Raw) -> None:
    auth = {"Authorization": "Bearer " + raw.token(MGMT)}
    pool = raw.mgmt_account + "/pools/badbody"
    status, _, body = raw.request("PUT", pool, b"{not json", auth)
    assert (status, _code(body, "mgmt"), _message(body, "mgmt")) == (
        400,
        "InvalidRequestBody",
        "The request body is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 "
        "(char 1)",
    )
    status, _, body = raw.request("PUT", pool, b"[1]", auth)
    assert (status, _code(body, "mgmt"), _message(body, "mgmt")) == (
        400,
        "InvalidRequestBody",
        "The request body must be a JSON object",
    )
    status, _, body = raw.request(
        "PUT", pool, '{"properties": {"vmSize": "caf\xe9"}}'.encode("latin-1"), auth
    )
    assert (status, _code(body, "mgmt"), _message(body, "mgmt")) == (
        400,
        "InvalidRequestBody",
        "The request body is not valid JSON: 'utf-8' codec can't decode byte 0xe9 in "
        "position 30: invalid continuation byte",
    )


def test_management_plane_oversized_body(raw: Raw) -> None:
    auth = {"Authorization": "Bearer " + raw.token(MGMT)}
    status, headers, body = raw.request(
        "PUT", raw.mgmt_account + "/pools/big", b" " * (5 * 1024 * 1024), auth
    )
    assert (status, _code(body, "mgmt"), _message(body, "mgmt")) == (
        413,
        "RequestBodyTooLarge",
        "The request body is too large and exceeds the maximum permissible limit.",
    )
    assert body["error"]["details"] == [{"code": "MaxLimit", "message": "4194304"}]
    assert headers["connection"] == "close"


def test_a_huge_declared_length_is_refused_without_waiting_for_the_body(raw: Raw) -> None:
    auth = {"Authorization": "Bearer " + raw.token()}
    t0 = time.monotonic()
    status, _, body = raw.request("POST", raw.data + "/jobs", b"", {**auth, "Content-Length": str(1 << 30)})
    assert time.monotonic() - t0 < 5  # answered at once: the service does not try to read a gigabyte
    assert (status, body["code"]) == (413, "RequestBodyTooLarge")
    # a Content-Length that is not a number is refused the same way, before any body is read
    for bad in ("abc", "-5"):
        status, _, body = raw.request("POST", raw.data + "/jobs", b"", {**auth, "Content-Length": bad})
        assert (status, body["code"]) == (413, "RequestBodyTooLarge"), bad


def test_data_plane_body_values_json_does_not_allow(raw: Raw) -> None:
    auth = {"Authorization": "Bearer " + raw.token()}
    status, _, body = raw.request("POST", raw.data + "/jobs", '{"id": "caf\xe9"}'.encode("latin-1"), auth)
    assert (status, body["code"], _message(body, "data")) == (
        400,
        "InvalidRequestBody",
        "The specified Request Body is not syntactically valid.",
    )
    huge = b'{"id": "hugeint", "poolInfo": {"poolId": "p"}, "priority": 1' + b"0" * 5000 + b"}"
    status, _, body = raw.request("POST", raw.data + "/jobs", huge, auth)
    assert (status, body["code"]) == (400, "InvalidRequestBody")
    nan = b'{"id": "nan", "poolInfo": {"poolId": "p"}, "priority": NaN}'
    status, _, body = raw.request("POST", raw.data + "/jobs", nan, auth)
    assert (status, body["code"]) == (400, "InvalidPropertyValue")


# --- paths that try to leave the task directory -------------------------------------------------------------


@pytest.fixture(scope="module")
def job(raw: Raw) -> str:
    auth = {"Authorization": "Bearer " + raw.token()}
    status, _, _ = raw.request(
        "POST", raw.data + "/jobs", b'{"id": "paths", "poolInfo": {"poolId": "nopool"}}', auth
    )
    assert status == 201
    status, _, _ = raw.request(
        "POST", raw.data + "/jobs/paths/tasks", b'{"id": "ok", "commandLine": "/bin/true"}', auth
    )
    assert status == 201
    return "paths"


def _add_task(raw: Raw, job: str, task: dict) -> tuple[int, dict]:
    status, _, body = raw.request(
        "POST",
        f"{raw.data}/jobs/{job}/tasks",
        json.dumps(task).encode(),
        {"Authorization": "Bearer " + raw.token()},
    )
    return status, body  # type: ignore[return-value]


@pytest.mark.parametrize(
    "file_path", ["../../../etc/passwd", "/etc/passwd", "wd/../../x", "C:\\Windows\\x", "..\\..\\x", ".."]
)
def test_resource_file_path_outside_the_task_directory_is_refused(raw: Raw, job: str, file_path: str) -> None:
    status, body = _add_task(
        raw,
        job,
        {
            "id": "rf",
            "commandLine": "/bin/true",
            "resourceFiles": [{"httpUrl": "https://example.invalid/x", "filePath": file_path}],
        },
    )
    assert (status, body["code"]) == (400, "InvalidPropertyValue")
    assert body["values"] == [
        {"key": "PropertyName", "value": "filePath"},
        {"key": "PropertyValue", "value": file_path},
        {
            "key": "Reason",
            "value": "The file path must be relative and must not refer outside the task working "
            "directory (for example with '..').",
        },
    ]


@pytest.mark.parametrize("pattern", ["../../*", "/etc/*", "../wd/../../x.txt", "../../../std*.txt"])
def test_output_file_pattern_outside_the_task_directory_is_refused(raw: Raw, job: str, pattern: str) -> None:
    status, body = _add_task(
        raw,
        job,
        {
            "id": "of",
            "commandLine": "/bin/true",
            "outputFiles": [
                {
                    "filePattern": pattern,
                    "destination": {"container": {"containerUrl": "https://example.invalid/c"}},
                    "uploadOptions": {"uploadCondition": "taskCompletion"},
                }
            ],
        },
    )
    assert (status, body["code"]) == (400, "InvalidPropertyValue")
    assert body["values"] == [
        {"key": "PropertyName", "value": "filePattern"},
        {"key": "PropertyValue", "value": pattern},
        {"key": "Reason", "value": "The file pattern must not refer outside the task directory."},
    ]


def test_the_task_directory_logs_stay_reachable(raw: Raw, job: str) -> None:
    """``../std*.txt`` (the task's own stdout/stderr, one level up from wd) is what Batch users write: allowed."""
    status, body = _add_task(
        raw,
        job,
        {
            "id": "logs",
            "commandLine": "/bin/true",
            "outputFiles": [
                {
                    "filePattern": "../std*.txt",
                    "destination": {"container": {"containerUrl": "https://example.invalid/c"}},
                    "uploadOptions": {"uploadCondition": "taskCompletion"},
                }
            ],
        },
    )
    assert status == 201, body


@pytest.mark.parametrize(
    "file_path", ["..%2F..%2F..%2Fsecrets.json", "%2Fetc%2Fpasswd", "wd%2F..%2F..%2F..%2Fx"]
)
def test_task_file_paths_outside_the_task_directory_are_refused(raw: Raw, job: str, file_path: str) -> None:
    status, _, body = raw.request(
        "GET",
        f"{raw.data}/jobs/{job}/tasks/ok/files/{file_path}",
        headers={"Authorization": "Bearer " + raw.token()},
    )
    from urllib.parse import unquote

    assert (status, body["code"], _message(body, "data")) == (
        400,
        "InvalidPropertyValue",
        "The file path is not valid.",
    )
    assert body["values"] == [
        {"key": "PropertyName", "value": "filePath"},
        {"key": "PropertyValue", "value": unquote(file_path)},
    ]


@pytest.mark.parametrize("file_path", ["../../../x", "/etc/x"])
def test_start_task_resource_file_outside_the_working_directory(raw: Raw, file_path: str) -> None:
    start_task = {"commandLine": "/bin/true",
                  "resourceFiles": [{"httpUrl": "https://example.invalid/x", "filePath": file_path}]}
    message = "The file path must be relative and must not escape the working directory"
    status, _, body = raw.request(
        "PUT", raw.mgmt_account + "/pools/escape",
        json.dumps({"properties": {"vmSize": "standard_d2s_v3", "startTask": start_task}}).encode(),
        {"Authorization": "Bearer " + raw.token(MGMT)})
    assert (status, _code(body, "mgmt"), _message(body, "mgmt")) == (400, "InvalidPropertyValue", message)
    assert body["error"]["target"] == "properties.startTask.resourceFiles[0].filePath"
    status, _, body = raw.request(
        "POST", raw.data + "/pools",
        json.dumps({"id": "escape2", "vmSize": "standard_d2s_v3", "startTask": start_task}).encode(),
        {"Authorization": "Bearer " + raw.token()})
    assert (status, _code(body, "data"), _message(body, "data")) == (400, "InvalidPropertyValue", message)


@pytest.mark.parametrize("job_id", ["../../etc", "a/b", "..", "x" * 65])
def test_ids_that_could_name_a_path_are_refused(raw: Raw, job_id: str) -> None:
    status, _, body = raw.request("POST", raw.data + "/jobs",
                                  json.dumps({"id": job_id, "poolInfo": {"poolId": "p"}}).encode(),
                                  {"Authorization": "Bearer " + raw.token()})
    assert (status, body["code"]) == (400, "InvalidPropertyValue")
    assert body["values"] == [
        {"key": "PropertyName", "value": "id"},
        {"key": "PropertyValue", "value": job_id},
        {"key": "Reason", "value": "An id may contain at most 64 letters, digits, hyphens and underscores."},
    ]


def test_deeply_nested_bodies_are_client_errors(raw: Raw) -> None:
    """json.loads recurses: a body nested 5,000 levels used to be a 500 with a traceback on the service's stderr."""
    body = b'{"id": "deep", "poolInfo": {"poolId": "p"}, "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    status, _, answer = raw.request("POST", raw.data + "/jobs", body, {"Authorization": "Bearer " + raw.token()})
    assert (status, answer["code"], _message(answer, "data")) == (
        400, "InvalidRequestBody", "The specified Request Body is not syntactically valid.")
    assert answer["values"][0]["value"].startswith("RecursionError: maximum recursion depth exceeded")
    status, _, answer = raw.request("PUT", raw.mgmt_account + "/pools/deep", body,
                                    {"Authorization": "Bearer " + raw.token(MGMT)})
    assert (status, _code(answer, "mgmt")) == (400, "InvalidRequestBody")
    assert _message(answer, "mgmt").startswith("The request body is not valid JSON: maximum recursion depth exceeded")
    status, _, _ = raw.request("GET", raw.data + "/jobs", headers={"Authorization": "Bearer " + raw.token()})
    assert status == 200  # and the service is still serving
