"""Keep secrets out of everything batchspec prints: plans, progress, logs and error messages.

Two complementary mechanisms:

* :func:`redact` returns a copy of a JSON value with secret values replaced by ``(sensitive)``; used on the
  bodies shown in a plan (like Terraform's ``(sensitive value)``);
* :class:`Scrubber` knows the secret strings found in the spec (:func:`collect_secrets`) and removes them, and
  anything that looks like a SAS signature, an account key or a bearer token, from any text, including error
  messages that the service echoes back.

What counts as a secret: values of keys named like ``password``/``accountKey``/``sasKey``/``protectedSettings``/
``sshPrivateKey``/``clientSecret``, values of environment settings and metadata entries whose *name* looks secret
(``…KEY``, ``…SECRET``, ``…TOKEN``, ``…PASSWORD``, ``…SAS…``, ``…CONNECTION_STRING``, ``…CREDENTIAL…``), the
``sig=`` part of SAS URLs, and ``AccountKey=``/``SharedAccessSignature=``/``Password=`` parts of connection strings.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "(sensitive)"

SECRET_KEYS = frozenset(
    {
        "password",
        "accountkey",
        "saskey",
        "protectedsettings",
        "sshprivatekey",
        "clientsecret",
        "client_secret",
        "account_key",
        "secret",
        "token",
    }
)
_SECRET_NAME = re.compile(
    r"(pass(word|wd)?|pwd|secret|token|(^|[_-])key$|api[_-]?key|access[_-]?key|account[_-]?key|private[_-]?key|"
    r"sas|connection[_-]?string|conn[_-]?str|credential)",
    re.IGNORECASE,
)
_EMBEDDED = [
    # SAS signature in a URL or a query string
    (re.compile(r"(?i)([?&]sig=)[^&\s\"']+"), r"\1" + REDACTED),
    # connection-string parts
    (
        re.compile(r"(?i)\b(AccountKey|SharedAccessSignature|SharedAccessKey|Password|Pwd)=[^;\s\"']+"),
        r"\1=" + REDACTED,
    ),
    # bearer tokens and shared-key signatures in echoed headers
    (re.compile(r"(?i)\b(Bearer|SharedKey)\s+[A-Za-z0-9._~+/=:-]{8,}"), r"\1 " + REDACTED),
]


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def _is_name_value_item(value: Any) -> bool:
    return (
        isinstance(value, dict) and "name" in value and "value" in value and set(value) <= {"name", "value"}
    )


def redact(value: Any) -> Any:
    """A copy of ``value`` with secrets replaced (whole values) or masked (embedded signatures and keys)."""
    if isinstance(value, dict):
        if (
            _is_name_value_item(value)
            and is_secret_name(str(value["name"]))
            and value["value"] not in (None, "")
        ):
            return {"name": value["name"], "value": REDACTED}
        out = {}
        for k, v in value.items():
            if str(k).lower() in SECRET_KEYS and v not in (None, "", {}, []):
                out[k] = REDACTED
            else:
                out[k] = redact(v)
        return out
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return scrub_patterns(value)
    return value


def collect_secrets(value: Any, found: set[str] | None = None) -> set[str]:
    """Every secret string in a JSON value (whole secret values and the embedded signature/key parts)."""
    found = set() if found is None else found
    if isinstance(value, dict):
        if (
            _is_name_value_item(value)
            and is_secret_name(str(value["name"]))
            and isinstance(value["value"], str)
        ):
            _add(found, value["value"])
        for k, v in value.items():
            if str(k).lower() in SECRET_KEYS:
                if isinstance(v, str):
                    _add(found, v)
                elif isinstance(v, (dict, list)):
                    _collect_all_strings(v, found)
            collect_secrets(v, found)
    elif isinstance(value, list):
        for v in value:
            collect_secrets(v, found)
    elif isinstance(value, str):
        for m in re.finditer(r"(?i)[?&]sig=([^&\s\"']+)", value):
            _add(found, m.group(1))
        for m in re.finditer(
            r"(?i)\b(?:AccountKey|SharedAccessSignature|SharedAccessKey|Password|Pwd)=([^;\s\"']+)", value
        ):
            _add(found, m.group(1))
    return found


def _collect_all_strings(value: Any, found: set[str]) -> None:
    if isinstance(value, str):
        _add(found, value)
    elif isinstance(value, dict):
        for v in value.values():
            _collect_all_strings(v, found)
    elif isinstance(value, list):
        for v in value:
            _collect_all_strings(v, found)


def _add(found: set[str], secret: str) -> None:
    if len(secret) >= 4:  # shorter strings would mask ordinary words
        found.add(secret)
        # the same secret as it appears percent-encoded in URLs
        from urllib.parse import quote

        found.add(quote(secret, safe=""))


def scrub_patterns(text: str) -> str:
    for pattern, repl in _EMBEDDED:
        text = pattern.sub(repl, text)
    return text


class Scrubber:
    """Removes known secret strings and secret-looking patterns from text."""

    def __init__(self, secrets: set[str] | None = None) -> None:
        self.secrets = sorted(secrets or (), key=len, reverse=True)

    def add(self, secrets: set[str]) -> None:
        self.secrets = sorted(set(self.secrets) | secrets, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return scrub_patterns(text)


class ScrubbingFilter(logging.Filter):
    """A logging filter that scrubs every record (installed on the root logger's handlers by the CLI)."""

    def __init__(self, scrubber: Scrubber) -> None:
        super().__init__()
        self.scrubber = scrubber

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        record.msg = self.scrubber(message)
        record.args = ()
        return True
