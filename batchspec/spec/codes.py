"""Every SP/TM code the spec area can report that is not a lint rule class (rules: batchspec.spec.rules).

Rows follow batchspec.diagnostics.codes.Check: (code, name, default severity, summary).
"""

from __future__ import annotations

from batchspec.diagnostics.codes import Check
from batchspec.diagnostics.model import Severity

_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO

SPEC_CODES: tuple[Check, ...] = (
    Check(
        "SP001",
        "invalid-yaml",
        _E,
        "the file is not valid YAML (or uses tabs, unsupported tags, several documents)",
    ),
    Check("SP002", "invalid-json", _E, "the file is not valid JSON"),
    Check("SP003", "duplicate-key", _E, "a key appears twice in one mapping"),
    Check("SP004", "yaml-alias-limit", _E, "aliases expand the document beyond the size limit (alias bomb)"),
    Check("SP005", "nesting-too-deep", _E, "values nest deeper than the limit"),
    Check("SP006", "file-too-large", _E, "the file is larger than batchspec reads"),
    Check(
        "SP010", "include-outside-project", _E, "a formula, script or input file outside the project folder"
    ),
    Check(
        "SP011",
        "missing-include",
        _E,
        "a formula, script or input file that cannot be read or matches nothing",
    ),
    Check("SP012", "invalid-value", _E, "a spec value outside its allowed set"),
    Check("SP013", "conflicting-fields", _E, "two spec fields that exclude each other"),
    Check("SP014", "missing-field", _E, "a required spec field is missing"),
    Check("SP015", "unknown-node-agent", _E, "the node agent cannot be derived from the image"),
    Check("SP016", "too-many-tasks", _E, "a task factory expands beyond the task limit"),
    Check("SP017", "duplicate-task-id", _E, "two tasks of a job share an id (case-insensitively)"),
    Check("SP018", "script-on-windows", _E, "a start-task script (POSIX shell) on a Windows pool"),
    Check("SP019", "unknown-task-dependency", _E, "a task depends on a task id that the job does not have"),
    Check("SP020", "not-a-spec", _E, "a file given as a spec has no batchspec marker"),
    Check("SP021", "spec-version", _E, "the spec version is not supported"),
    Check("SP100", "spec-schema", _E, "the spec does not match schemas/spec.schema.json"),
    Check(
        "SP101",
        "pool-schema",
        _E,
        "the pool body does not match the schema generated from the REST specification",
    ),
    Check("SP102", "read-only-property", _W, "a property the service sets itself appears in a request body"),
    Check("SP103", "retired-property", _E, "a property the current API (2025-06-01) no longer accepts"),
    Check(
        "SP104", "value-out-of-range", _E, "a value outside the limits the service documents only in prose"
    ),
    Check("SP105", "job-schema", _E, "a job body does not match the data-plane schema"),
    Check("SP106", "task-schema", _E, "a task body does not match the data-plane schema"),
    Check(
        "SP201",
        "non-canonical-spelling",
        _W,
        "a property or enum value spelled differently from the API "
        "(accepted case-insensitively, but plan/diff tools and other readers see a difference)",
    ),
    Check("TM001", "template-syntax", _E, "a Jinja template has a syntax error"),
    Check("TM002", "undefined-template-variable", _E, "a template uses a variable that is not defined"),
    Check(
        "TM003", "template-sandbox", _E, "a template tried to reach Python internals (stopped by the sandbox)"
    ),
    Check("TM004", "template-error", _E, "a template failed while rendering"),
)

BY_CODE = {c.code: c for c in SPEC_CODES}
