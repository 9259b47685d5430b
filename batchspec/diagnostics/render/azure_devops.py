"""``azure-devops``: Azure Pipelines logging commands (``##vso[task.logissue …]message``).

Azure Pipelines knows only the types error and warning, so info diagnostics are logged as warnings with an
"info: " prefix. Escaping follows azure-pipelines-task-lib (``%`` → ``%AZP25``, CR, LF, and ``;`` ``]`` in
properties).
"""

from __future__ import annotations

from collections.abc import Sequence

from batchspec.diagnostics.model import Diagnostic, Severity


def escape_data(text: str) -> str:
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace("]", "%5D").replace(";", "%3B")


def render_azure_devops(diagnostics: Sequence[Diagnostic]) -> str:
    lines = []
    for d in diagnostics:
        kind = "error" if d.severity is Severity.ERROR else "warning"
        prefix = "info: " if d.severity is Severity.INFO else ""
        s = d.span.start
        props = (
            f"type={kind};sourcepath={escape_property(d.span.path or 'formula')};linenumber={s.line};"
            f"columnnumber={s.col};code={escape_property(d.code)};"
        )
        message = f"{prefix}{d.message} [{d.name}]" + (f"\nhint: {d.hint}" if d.hint else "")
        lines.append(f"##vso[task.logissue {props}]{escape_data(message)}\n")
    return "".join(lines)
