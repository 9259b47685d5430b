from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from batchspec.diagnostics.model import Diagnostic, Pos, Severity, Span
from batchspec.spec.rules.base import Example, PoolContext, SpecRule

SECRET_VALUE = (
    (re.compile(r"AccountKey=[A-Za-z0-9+/=]{20,}"), "a storage account key"),
    (re.compile(r"SharedAccessSignature=|SharedAccessKey=[A-Za-z0-9+/=]{10,}"), "a shared access key"),
    (re.compile(r"[?&]sig=[A-Za-z0-9%+/=]{10,}"), "a SAS token"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])"), "a storage account key"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"), "a GitHub token"),
)
SECRET_NAME = re.compile(
    r"(pass(word|wd)?|secret|token|api[_-]?key|account[_-]?key|access[_-]?key|connection[_-]?string|sas)",
    re.I,
)
SECRET_FIELDS = {"password", "sasKey", "accountKey", "sshPrivateKey", "protectedSettings"}


# a spec variable is no hiding place: its value is in the spec too, and the rendered body is checked
_HINT = (
    "keep it out of the definition: a managed identity (identityReference), a Key Vault reference, or let the"
    " task fetch it at run time"
)


def _templated(value: str) -> bool:
    return value.startswith(("$(", "${", "@Microsoft.KeyVault", "[")) or "{{" in value


class PlaintextSecret(SpecRule):
    """Secret written in plain text.

    Storage keys, SAS tokens, connection strings and passwords in environment settings, URLs, mount settings or
    command lines end up in source control and in every ``pool show``. Use a managed identity
    (``identityReference``), Key Vault, or a template variable fed from the CI secret store.
    """

    code = "SP205"
    name = "plaintext-secret"
    default_severity = Severity.ERROR
    examples = (
        Example(
            bad='{"properties": {"startTask": {"commandLine": "run.sh", "environmentSettings": [{"name": '
            '"STORAGE_CONNECTION_STRING", "value": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey='
            'abcdefghijklmnopqrstuvwxyz0123456789ABCD=="}]}}}',
            good='{"properties": {"startTask": {"commandLine": "run.sh", "environmentSettings": [{"name": '
            '"STORAGE_ACCOUNT", "value": "mystorage"}]}}}',
        ),
    )

    def check(self, ctx: PoolContext) -> Iterator[Diagnostic]:
        yield from self._walk(ctx, ctx.get(ctx.shape.root), ctx.shape.root, None)

    def _walk(self, ctx: PoolContext, value: Any, path: tuple, env_name: str | None) -> Iterator[Diagnostic]:
        if isinstance(value, dict):
            if set(value) >= {"name", "value"} and isinstance(value.get("name"), str):
                v = value.get("value")
                if isinstance(v, str) and v and not _templated(v) and SECRET_NAME.search(value["name"]):
                    if not _found(v):
                        yield self.report(
                            ctx,
                            (*path, "value"),
                            f'"{value["name"]}" looks like a secret and has a plain-text value',
                            hint=_HINT,
                        )
                        return
            for k, v in value.items():
                if k in SECRET_FIELDS and isinstance(v, (str, dict)) and v:
                    if isinstance(v, str) and not _templated(v):
                        yield self.report(
                            ctx,
                            (*path, k),
                            f'"{k}" holds a secret in plain text',
                            hint="use Key Vault or a managed identity instead",
                        )
                    continue
                yield from self._walk(ctx, v, (*path, k), env_name)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from self._walk(ctx, v, (*path, i), env_name)
        elif isinstance(value, str):
            found = _match(value)
            if found:
                what, start, end = found
                message = f"{what} is written in plain text"
                hint = _HINT
                script = ctx.script
                in_script = _match(script.text) if script is not None else None
                if tuple(path) == (*ctx.path("startTask"), "commandLine") and script and in_script:
                    yield self.report_text(script, in_script[1], in_script[2], message, hint=hint)
                    return
                yield self.report_span(_inside(ctx.span_of(path, False), value, start, end), message, hint=hint)


def _inside(span: Span, value: str, start: int, end: int) -> Span:
    """Narrow to the secret when the value is written on one line without escapes (a plain or quoted scalar)."""
    width = span.end.col - span.start.col
    if span.start.line == span.end.line and width in (len(value), len(value) + 2):
        col = span.start.col + (1 if width == len(value) + 2 else 0)
        return Span(span.path, Pos(span.start.line, col + start), Pos(span.start.line, col + end))
    return span


def _match(value: str) -> tuple[str, int, int] | None:
    for pattern, what in SECRET_VALUE:
        m = pattern.search(value)
        if m:
            return what, m.start(), m.end()
    return None


def _found(value: str) -> str | None:
    found = _match(value)
    return found[0] if found else None
