"""Authentication for the local service: a token endpoint, bearer tokens it issued, shared-key signatures.

The token endpoint speaks just enough of the Microsoft identity platform for MSAL (and so azure-identity's
``ClientSecretCredential``/``EnvironmentCredential`` with ``disable_instance_discovery=True``): the OpenID
configuration document and the ``client_credentials`` grant. Tokens are ``<payload>.<hmac>`` signed with a key kept in
the state dir, so a restarted service still accepts the tokens its clients cached.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote

MANAGEMENT_AUDIENCE = "https://management.azure.com"
BATCH_AUDIENCE = "https://batch.core.windows.net"
TOKEN_LIFETIME = 3599


@dataclass(frozen=True)
class Secrets:
    tenant_id: str
    client_id: str
    client_secret: str
    account_key: str  # base64, for shared-key signatures on the data plane
    signing_key: bytes  # signs the bearer tokens this service issues

    @staticmethod
    def load_or_create(path: Path) -> Secrets:
        if path.is_file():
            try:
                raw = json.loads(path.read_text())
                return Secrets(
                    raw["tenant_id"],
                    raw["client_id"],
                    raw["client_secret"],
                    raw["account_key"],
                    base64.b64decode(raw["signing_key"]),
                )
            except (ValueError, KeyError, TypeError):
                pass  # unreadable: make new ones (clients re-read the connection file)
        made = Secrets(
            tenant_id="00000000-0000-0000-0000-00000000b0c0",
            client_id="batchspec-local",
            client_secret=secrets.token_urlsafe(24),
            account_key=base64.b64encode(secrets.token_bytes(64)).decode(),
            signing_key=secrets.token_bytes(32),
        )
        data = {
            "tenant_id": made.tenant_id,
            "client_id": made.client_id,
            "client_secret": made.client_secret,
            "account_key": made.account_key,
            "signing_key": base64.b64encode(made.signing_key).decode(),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        return made


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def audience_of_scope(scope: str) -> str | None:
    """``https://batch.core.windows.net//.default`` -> ``https://batch.core.windows.net``."""
    for s in scope.split():
        if s.endswith("/.default"):
            resource = s[: -len("/.default")].rstrip("/")
            if resource in (MANAGEMENT_AUDIENCE, BATCH_AUDIENCE):
                return resource
    return None


class TokenIssuer:
    def __init__(self, sec: Secrets) -> None:
        self.secrets = sec

    def issue(self, audience: str, now: float | None = None) -> tuple[str, int]:
        exp = int(now if now is not None else time.time()) + TOKEN_LIFETIME
        payload = _b64(json.dumps({"aud": audience, "exp": exp, "tid": self.secrets.tenant_id}).encode())
        sig = _b64(hmac.new(self.secrets.signing_key, payload.encode(), hashlib.sha256).digest())
        return f"{payload}.{sig}", exp

    def verify(self, token: str, audience: str) -> str | None:
        """None when the token is good for ``audience``; otherwise the reason it is not."""
        payload, _, sig = token.partition(".")
        expected = _b64(hmac.new(self.secrets.signing_key, payload.encode(), hashlib.sha256).digest())
        if not sig or not hmac.compare_digest(sig, expected):
            return "the access token was not issued by this service"
        try:
            claims = json.loads(_unb64(payload))
        except ValueError:
            return "the access token is malformed"
        if claims.get("exp", 0) < time.time():
            return "the access token has expired"
        if claims.get("aud") != audience:
            return f"the access token is for audience {claims.get('aud')!r}, expected {audience!r}"
        return None

    # --- token endpoint -------------------------------------------------------------------------------------
    def openid_configuration(self, base_url: str, tenant: str) -> dict:
        root = f"{base_url}/{tenant}"
        return {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "issuer": f"{root}/v2.0",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "tenant_region_scope": "local",
        }

    def token_response(self, tenant: str, form_body: bytes, basic_auth: str | None) -> tuple[int, dict]:
        """The answer to ``POST /{tenant}/oauth2/v2.0/token``: (status, JSON body) in the identity platform's shape."""
        form = {k: v[0] for k, v in parse_qs(form_body.decode("utf-8", "replace")).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if basic_auth and basic_auth.lower().startswith("basic "):
            try:
                user, _, pw = base64.b64decode(basic_auth[6:]).decode().partition(":")
                client_id, client_secret = unquote(user), unquote(pw)
            except ValueError:
                pass
        if form.get("grant_type") != "client_credentials":
            return 400, _aad_error(
                "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        if tenant not in (self.secrets.tenant_id, "organizations", "common"):
            return 400, _aad_error("invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if client_id != self.secrets.client_id:
            return 400, _aad_error(
                "unauthorized_client", 700016, f"Application with identifier '{client_id}' was not found."
            )
        if not client_secret or not hmac.compare_digest(client_secret, self.secrets.client_secret):
            return 401, _aad_error(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the "
                "request is the client secret value, not the client secret ID.",
            )
        audience = audience_of_scope(form.get("scope", ""))
        if audience is None:
            return 400, _aad_error(
                "invalid_scope",
                1002012,
                f"The provided value for scope {form.get('scope', '')!r} is not valid.",
            )
        token, _ = self.issue(audience)
        return 200, {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": token,
        }


def _aad_error(error: str, code: int, text: str) -> dict:
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {text}",
        "error_codes": [code],
        "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
    }


# --- shared key (data plane) ----------------------------------------------------------------------------------
_SIGNED_HEADERS = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)


def shared_key_signature(
    method: str, headers: dict[str, str], raw_path: str, raw_query: str, account: str, key_b64: str
) -> str:
    """The ``SharedKey account:signature`` value azure-batch's shared-key policy computes for this request."""
    h = {k.lower(): v for k, v in headers.items() if v}
    if method not in ("GET", "HEAD"):
        h.setdefault("content-length", "0")
    elif h.get("content-length") == "0":
        h.pop("content-length")
    text = method + "\n" + "\n".join(h.get(name, "") for name in _SIGNED_HEADERS) + "\n"
    text += "".join(f"{k}:{v}\n" for k, v in sorted(h.items()) if "ocp-" in k)
    text += f"/{account}{raw_path}"
    query = parse_qs(raw_query, keep_blank_values=True)
    text += "".join(f"\n{k}:{query[k][0]}" for k in sorted(query) if query[k][0])
    mac = hmac.new(base64.b64decode(key_b64), text.encode(), hashlib.sha256).digest()
    return f"SharedKey {account}:{base64.b64encode(mac).decode()}"
