"""The local Batch service: both planes and the token endpoint over HTTPS on one loopback port.

    with LocalBatchService(Path("state")) as svc:
        conn = svc.connection   # endpoints, CA file, credentials for the real azure-* clients

Routing by path: ``/subscriptions/...`` is the management plane, ``/accounts/{account}/...`` the data plane,
``/{tenant}/v2.0/.well-known/openid-configuration`` and ``/{tenant}/oauth2/v2.0/token`` the token endpoint.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from batchspec.errors import BatchspecError
from batchspec.local import auth, tls
from batchspec.local import faults as faults_mod
from batchspec.local.model import MAX_BODY, ApiError, Request, Response, request_id

ACCOUNT_NAME = "batchspeclocal"
SUBSCRIPTION_ID = "00000000-0000-0000-0000-0000000b5eca"
RESOURCE_GROUP = "batchspec-local"
MAX_CONNECTIONS = 256  # open client connections (each has a thread); more are closed at once
DRAIN_LIMIT = 64 * 1024 * 1024  # bytes of an oversized body read and discarded before answering 413


@dataclass(frozen=True)
class LocalConnection:
    """Everything a client needs to reach the local service with the real Azure SDKs."""

    management_url: str  # base_url for BatchManagementClient
    batch_url: str  # endpoint for BatchClient (also the account's accountEndpoint, with https://)
    ca_file: str  # connection_verify=<this>, or REQUESTS_CA_BUNDLE
    tenant_id: str
    client_id: str
    client_secret: str
    authority_host: str  # ClientSecretCredential(authority=..., disable_instance_discovery=True)
    subscription_id: str
    resource_group: str
    account_name: str
    account_key: str  # AzureNamedKeyCredential(account_name, account_key) on the data plane

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def environment(self) -> dict[str, str]:
        """The variables azure-identity's EnvironmentCredential and the example scripts read."""
        return {
            "AZURE_TENANT_ID": self.tenant_id,
            "AZURE_CLIENT_ID": self.client_id,
            "AZURE_CLIENT_SECRET": self.client_secret,
            "AZURE_AUTHORITY_HOST": self.authority_host,
            "BATCHSPEC_LOCAL_MANAGEMENT_URL": self.management_url,
            "BATCHSPEC_LOCAL_BATCH_URL": self.batch_url,
            "BATCHSPEC_LOCAL_CA_FILE": self.ca_file,
            "BATCHSPEC_LOCAL_SUBSCRIPTION_ID": self.subscription_id,
            "BATCHSPEC_LOCAL_RESOURCE_GROUP": self.resource_group,
            "BATCHSPEC_LOCAL_ACCOUNT_NAME": self.account_name,
            "BATCHSPEC_LOCAL_ACCOUNT_KEY": self.account_key,
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, service: LocalBatchService, context: ssl.SSLContext) -> None:
        self.service = service
        self.context = context
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # headers and body leave in separate writes: without this, Nagle + delayed ACK add ~40 ms per answer
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.sockets_lock:
            crowded = len(self.open_sockets) >= MAX_CONNECTIONS
        if crowded:  # idle or slow clients must not pile up threads without bound
            sock.close()
            raise OSError("too many open connections")
        wrapped = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self.sockets_lock:
            self.open_sockets.add(wrapped)
        return wrapped, addr

    def shutdown_request(self, request) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End kept-alive connections: a stopped service must not answer from a closed store."""
        with self.sockets_lock:
            sockets = list(self.open_sockets)
            self.open_sockets.clear()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "batchspec-local"
    sys_version = ""
    timeout = 120  # seconds a connection may sit idle or half-sent before it is closed (clients reuse them)

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.do_handshake()
        except (ssl.SSLError, OSError):
            self.close_connection = True
            raise

    def handle(self) -> None:
        try:
            super().handle()
        except (ssl.SSLError, ConnectionError, TimeoutError, OSError):
            pass

    def log_message(self, fmt, *args) -> None:  # quiet; --verbose logging is in LocalBatchService.log
        svc = self.server.service  # type: ignore[attr-defined]
        if svc.verbose:
            svc.log(fmt % args)

    def _dispatch(self) -> None:
        self.server.service.handle(self)  # type: ignore[attr-defined]

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _dispatch


class LocalBatchService:
    def __init__(
        self,
        state_dir: Path,
        port: int = 0,
        time_scale: float = 1.0,
        *,
        allocation_delay: float = 1.0,
        faults: str | None = None,
        page_size: int = 1000,
        output_cap: int | None = None,
        max_running_tasks: int | None = None,
        verbose: bool = False,
    ) -> None:
        if time_scale <= 0:
            raise BatchspecError(f"time_scale must be positive, got {time_scale}")
        self.state_dir = Path(state_dir).resolve()
        self.port = port
        self.time_scale = time_scale
        self.allocation_delay = allocation_delay
        self.page_size = page_size
        self.output_cap = output_cap
        self.max_running_tasks = max_running_tasks
        self.verbose = verbose
        self.faults = faults_mod.parse_faults(
            faults if faults is not None else os.environ.get(faults_mod.ENV_VAR)
        )
        self.account_name = ACCOUNT_NAME
        self.subscription_id = SUBSCRIPTION_ID
        self.resource_group = RESOURCE_GROUP
        self.recorder: list[dict] | None = None  # set to a list to record every answer (tests)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.engine = None

    # --- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> LocalBatchService:
        from batchspec.local.dataplane import DataPlane
        from batchspec.local.engine import DEFAULT_OUTPUT_CAP, Engine
        from batchspec.local.mgmt import ManagementPlane

        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self._lock_state_dir()
            self.tls_files = tls.ensure_tls_files(self.state_dir / "tls")
            self.secrets = auth.Secrets.load_or_create(self.state_dir / "secrets.json")
        except OSError as exc:
            self._unlock_state_dir()
            raise BatchspecError(
                f"cannot use state directory {self.state_dir}: {exc.strerror or exc}"
            ) from None
        self.issuer = auth.TokenIssuer(self.secrets)
        context = tls.server_context(self.tls_files)
        try:
            self._server = _Server(("127.0.0.1", self.port), _Handler, self, context)
        except OSError as exc:
            self._unlock_state_dir()
            raise BatchspecError(f"cannot listen on 127.0.0.1:{self.port}: {exc.strerror or exc}") from None
        self.port = self._server.server_address[1]
        self.base_url = f"https://127.0.0.1:{self.port}"
        self.batch_url = f"{self.base_url}/accounts/{self.account_name}"
        import sqlite3

        try:
            self.engine = Engine(
                self.state_dir,
                account_name=self.account_name,
                account_url=self.batch_url,
                time_scale=self.time_scale,
                allocation_delay=self.allocation_delay,
                output_cap=self.output_cap or DEFAULT_OUTPUT_CAP,
                preempt=self.faults.preempt,
                max_running_tasks=self.max_running_tasks,
                seed=self.faults.seed,
            )
        except (sqlite3.DatabaseError, ValueError, KeyError) as exc:
            self._server.server_close()
            self._server = None
            self._unlock_state_dir()
            raise BatchspecError(
                f"the state in {self.state_dir / 'state.sqlite3'} cannot be read ({type(exc).__name__}: {exc}); "
                "move it away to start with an empty service"
            ) from None
        self.mgmt = ManagementPlane(self)
        self.data = DataPlane(self)
        self.engine.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="batchspec-local-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None
        if self.engine is not None:
            self.engine.stop()
            self.engine = None
        self._unlock_state_dir()

    def _lock_state_dir(self) -> None:
        """One service per state dir: two would keep diverging copies of the same pools in one database."""
        import fcntl

        lock = open(self.state_dir / "service.lock", "a+")  # noqa: SIM115 (held while the service runs)
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.seek(0)
            owner = lock.read().strip() or "another process"
            lock.close()
            raise BatchspecError(
                f"another local Batch service ({owner}) is using {self.state_dir}; stop it, connect to it "
                "(its connection.json), or choose another state directory"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}")
        lock.flush()
        self._lock = lock

    def _unlock_state_dir(self) -> None:
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()  # closing the descriptor releases the flock
            self._lock = None

    def __enter__(self) -> LocalBatchService:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def connection(self) -> LocalConnection:
        return LocalConnection(
            management_url=self.base_url,
            batch_url=self.batch_url,
            ca_file=str(self.tls_files.ca_file),
            tenant_id=self.secrets.tenant_id,
            client_id=self.secrets.client_id,
            client_secret=self.secrets.client_secret,
            authority_host=self.base_url,
            subscription_id=self.subscription_id,
            resource_group=self.resource_group,
            account_name=self.account_name,
            account_key=self.secrets.account_key,
        )

    def log(self, message: str) -> None:
        import sys

        print(f"batchspec-local: {message}", file=sys.stderr)

    # --- request handling ----------------------------------------------------------------------------------------
    def handle(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        raw_path = split.path
        segments = [unquote(s) for s in raw_path.split("/") if s]
        plane = (
            "mgmt"
            if segments and segments[0].lower() == "subscriptions"
            else ("data" if segments and segments[0].lower() == "accounts" else "token")
        )
        headers = {k.lower(): v for k, v in h.headers.items()}
        length_text = headers.get("content-length", "0") or "0"
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            # refuse without buffering; drain a moderately large body so the client can read the answer
            remaining = length if 0 < length <= DRAIN_LIMIT else 0
            while remaining > 0:
                chunk = h.rfile.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                remaining -= len(chunk)
            self._send(
                h,
                plane,
                self._error_response(
                    plane,
                    ApiError(
                        413,
                        "RequestBodyTooLarge",
                        "The request body is too large and exceeds the maximum permissible limit.",
                        [("MaxLimit", str(MAX_BODY))],
                    ),
                ),
                close=True,
            )
            return
        body = h.rfile.read(length) if length else b""
        req = Request(
            h.command,
            raw_path,
            segments,
            dict(parse_qsl(split.query, keep_blank_values=True)),
            headers,
            body,
            self.base_url,
            split.query,
        )
        if plane == "token":
            self._send(h, plane, self._token(req))
            return
        f = self.faults
        if f.active:
            if f.latency:
                time.sleep(f.latency)
            fault = f.pick_request_fault()
            if fault == "reset":
                h.close_connection = True
                try:
                    h.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    h.connection.close()
                except OSError:
                    pass
                return
            if fault is not None:
                err = ApiError(
                    int(fault),
                    _FAULT_CODES.get(int(fault), "InternalError"),
                    _FAULT_MESSAGES.get(int(fault), "Injected fault (BATCHSPEC_LOCAL_FAULTS)."),
                )
                if int(fault) in (429, 503):
                    err.headers["Retry-After"] = f"{f.retry_after:g}"
                self._send(h, plane, self._error_response(plane, err))
                return
        try:
            self._authenticate(req, plane)
            resp = self.mgmt.handle(req) if plane == "mgmt" else self.data.handle(req)
        except ApiError as err:
            resp = self._error_response(plane, err)
        except Exception as exc:  # a bug must not kill the connection thread silently
            import traceback

            traceback.print_exc()
            resp = self._error_response(
                plane,
                ApiError(
                    500, "InternalServerError", f"The local service failed: {type(exc).__name__}: {exc}"
                ),
            )
        self._send(h, plane, resp)

    def _error_response(self, plane: str, err: ApiError) -> Response:
        if plane == "mgmt":
            from batchspec.local.mgmt import cloud_error

            return Response(err.status, cloud_error(err), dict(err.headers))
        from batchspec.local.dataplane import batch_error

        return Response(err.status, batch_error(self.batch_url, err), dict(err.headers))

    def _send(self, h: _Handler, plane: str, resp: Response, close: bool = False) -> None:
        rid = request_id()
        if isinstance(resp.body, (dict, list)):
            data = json.dumps(resp.body).encode()
            ctype = (
                "application/json;odata=minimalmetadata"
                if plane == "data"
                else "application/json; charset=utf-8"
            )
        elif isinstance(resp.body, bytes):
            data = resp.body
            ctype = resp.headers.pop("Content-Type", "application/octet-stream")
        else:
            data = b""
            ctype = None
        if self.recorder is not None:
            self.recorder.append(
                {
                    "plane": plane,
                    "method": h.command,
                    "path": urlsplit(h.path).path,
                    "query": urlsplit(h.path).query,
                    "status": resp.status,
                    "body": resp.body if isinstance(resp.body, (dict, list)) else None,
                }
            )
        try:
            h.send_response(resp.status)
            if ctype:
                h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", resp.headers.pop("Content-Length-Override", str(len(data))))
            h.send_header("Date", h.date_time_string())
            h.send_header("request-id" if plane == "data" else "x-ms-request-id", rid)
            client_rid = h.headers.get("client-request-id") or h.headers.get("x-ms-client-request-id")
            if client_rid:
                h.send_header(
                    "client-request-id" if plane == "data" else "x-ms-client-request-id", client_rid
                )
            for k, v in resp.headers.items():
                h.send_header(k, v)
            if close:
                h.send_header("Connection", "close")
                h.close_connection = True
            h.end_headers()
            if h.command != "HEAD" and data:
                h.wfile.write(data)
        except (ConnectionError, ssl.SSLError, OSError):
            h.close_connection = True

    # --- authentication ------------------------------------------------------------------------------------------
    def _token(self, req: Request) -> Response:
        seg = req.segments
        if len(seg) >= 2 and req.method == "GET" and seg[-1] == "openid-configuration":
            return Response(200, self.issuer.openid_configuration(self.base_url, seg[0]))
        if (
            len(seg) == 4
            and req.method == "POST"
            and [s.lower() for s in seg[1:]] == ["oauth2", "v2.0", "token"]
        ):
            status, body = self.issuer.token_response(seg[0], req.body, req.headers.get("authorization"))
            return Response(status, body, {"Cache-Control": "no-store"})
        if len(seg) >= 1 and seg[-1].lower() == "instance" and req.method == "GET":
            # instance discovery, in case a client did not disable it
            return Response(
                200,
                {
                    "tenant_discovery_endpoint": f"{self.base_url}/{seg[0]}/v2.0/.well-known/openid-configuration",
                    "api-version": "1.1",
                    "metadata": [],
                },
            )
        return Response(
            404, {"error": "not_found", "error_description": f"No route for {req.method} {req.raw_path}"}
        )

    def _authenticate(self, req: Request, plane: str) -> None:
        value = req.headers.get("authorization", "")
        if plane == "mgmt":
            audience = auth.MANAGEMENT_AUDIENCE
            challenge = {
                "WWW-Authenticate": f'Bearer authorization_uri="{self.base_url}/{self.secrets.tenant_id}", '
                'error="invalid_token"'
            }
            if not value.lower().startswith("bearer "):
                raise ApiError(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing.",
                    headers=challenge,
                )
            problem = self.issuer.verify(value[7:].strip(), audience)
            if problem:
                raise ApiError(
                    401,
                    "InvalidAuthenticationToken",
                    f"The access token is invalid: {problem}.",
                    headers=challenge,
                )
            return
        if value.lower().startswith("bearer "):
            problem = self.issuer.verify(value[7:].strip(), auth.BATCH_AUDIENCE)
            if problem:
                raise ApiError(
                    401, "AuthenticationFailed", f"Server failed to authenticate the request: {problem}."
                )
            return
        if value.startswith("SharedKey "):
            account = value[10:].split(":", 1)[0]
            if account != self.account_name:
                raise ApiError(
                    403,
                    "AuthenticationFailed",
                    f"Server failed to authenticate the request: unknown account '{account}'.",
                )
            expected = auth.shared_key_signature(
                req.method,
                req.headers,
                req.raw_path,
                req.raw_query,
                self.account_name,
                self.secrets.account_key,
            )
            import hmac

            if not hmac.compare_digest(expected, value):
                raise ApiError(
                    403,
                    "AuthenticationFailed",
                    "Server failed to authenticate the request. Make sure "
                    "the value of Authorization header is formed correctly including the signature.",
                    [
                        (
                            "AuthenticationErrorDetail",
                            "The MAC signature found in the HTTP request is not "
                            "the same as any computed signature.",
                        )
                    ],
                )
            return
        raise ApiError(
            401,
            "AuthenticationFailed",
            "Server failed to authenticate the request: the Authorization "
            "header is missing or not Bearer/SharedKey.",
        )


_FAULT_CODES = {
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServerBusy",
    502: "BadGateway",
    504: "GatewayTimeout",
    408: "OperationTimedOut",
}
_FAULT_MESSAGES = {
    429: "The request was throttled (injected by BATCHSPEC_LOCAL_FAULTS).",
    503: "The server is currently unable to receive requests. Please retry your request "
    "(injected by BATCHSPEC_LOCAL_FAULTS).",
}
