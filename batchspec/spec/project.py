"""The batchspec spec (``batchspec.yaml``) -> the exact REST bodies: pool (management plane), jobs and tasks
(data plane), plus the files to stage and the outputs to collect.

``compile_spec`` never raises on a bad spec: it returns every problem as a positioned diagnostic (``validate`` uses
it). ``load_project`` is the strict entry point for ``render`` and ``apply``: it raises ``SpecError`` (exit 2) when
the spec has errors.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchspec.diagnostics.model import Diagnostic, Pos, Related, Severity, Span
from batchspec.errors import BatchspecError
from batchspec.spec.extract import PoolFormula, read_text
from batchspec.spec.images import node_agent_for
from batchspec.spec.loader import Document, DocumentError, JsonPath, StringMap, load_text
from batchspec.spec.render import TemplateProblem, interpolate, render_body, render_string
from batchspec.spec.startscript import QUOTE_STYLES, ScriptOptions, quote, script_body, shell_words

SPEC_FILENAMES = ("batchspec.yaml", "batchspec.yml")
SPEC_VERSION = 1
MAX_TASKS = 1_000_000  # a factory that expands beyond this is a typo, not a workload

# --------------------------------------------------------------------------------------------- result types


@dataclass(frozen=True)
class Target:
    kind: str  # "local" | "azure"
    subscription_id: str | None = None
    resource_group: str | None = None
    account_name: str | None = None

    @property
    def is_local(self) -> bool:
        return self.kind == "local"


@dataclass(frozen=True)
class StagedInput:
    """A local file to upload before the job runs: ``local_path`` -> ``container``/``blob_name``."""

    local_path: Path
    container: str
    blob_name: str


@dataclass(frozen=True)
class OutputSpec:
    """What to download after a job: blobs in ``container`` under ``prefix`` -> local ``destination`` folder."""

    job_id: str
    container: str
    prefix: str
    destination: Path


@dataclass
class RenderedJob:
    id: str
    job_body: dict[str, Any]
    tasks: list[dict[str, Any]]
    inputs: list[StagedInput] = field(default_factory=list)
    outputs: list[OutputSpec] = field(default_factory=list)
    # spec path (after the overlay) that produced each task: the listed task, or the factory's task template
    task_origins: list[JsonPath] = field(default_factory=list)


@dataclass
class FormulaSource:
    """Where the pool's formula text lives, for mapping formula diagnostics to file positions."""

    text: str
    path: str  # the file holding the text (the spec, or the .formula file)
    string_map: StringMap | None  # None: ``text`` is the whole file at ``path`` (positions are exact already)
    raw: str | None = None  # the text as written, when a template changed it (positions then map by line)


@dataclass
class Compiled:
    path: str
    root: Path
    doc: Document | None
    data: Any = None
    env: str | None = None
    target: Target = field(default_factory=lambda: Target("local"))
    pool_id: str | None = None
    pool_body: dict[str, Any] | None = None
    jobs: list[RenderedJob] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    formula: FormulaSource | None = None
    start_script: FormulaSource | None = None  # the start task script, positioned the same way
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # rendered pool body path prefix -> spec document path prefix (longest prefix wins)
    origins: list[tuple[JsonPath, JsonPath]] = field(default_factory=list)
    overlay: dict[JsonPath, JsonPath] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return any(d.severity >= Severity.ERROR for d in self.diagnostics)

    def doc_path(self, data_path: JsonPath) -> JsonPath:
        """Spec data path (after the environment overlay) -> the path in the document where it is written."""
        for i in range(len(data_path), 0, -1):
            if data_path[:i] in self.overlay:
                return self.overlay[data_path[:i]] + tuple(data_path[i:])
        return tuple(data_path)

    def body_origin(self, body_path: JsonPath) -> JsonPath:
        """Rendered pool body path -> spec document path that produced it."""
        best: tuple[JsonPath, JsonPath] | None = None
        for bp, sp in self.origins:
            if tuple(body_path[: len(bp)]) == bp and (best is None or len(bp) > len(best[0])):
                best = (bp, sp)
        if best is None:
            return ("pool",)
        return self.doc_path(best[1] + tuple(body_path[len(best[0]) :]))

    def span(self, data_path: JsonPath, *, key: bool = False) -> Span:
        if self.doc is None:
            return Span.point(self.path, 1, 1)
        return self.doc.span(self.doc_path(data_path), key=key)


@dataclass
class Project:
    """Everything ``apply`` needs, rendered from one spec (see INTERFACES.md)."""

    root: Path
    spec_path: Path
    env: str | None
    target: Target
    pool_id: str
    pool_body: dict[str, Any]
    jobs: list[RenderedJob]
    variables: dict[str, Any]
    diagnostics: list[Diagnostic]  # warnings that did not stop rendering

    @property
    def inputs(self) -> list[StagedInput]:
        return [i for j in self.jobs for i in j.inputs]

    @property
    def outputs(self) -> list[OutputSpec]:
        return [o for j in self.jobs for o in j.outputs]


class SpecError(BatchspecError):
    """The spec has errors; ``diagnostics`` holds all of them, positioned."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        errors = [d for d in diagnostics if d.severity >= Severity.ERROR]
        first = errors[0] if errors else diagnostics[0]
        s = first.span
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{s.path}:{s.start.line}:{s.start.col}: {first.message}{more}", exit_code=2)
        self.diagnostics = diagnostics


# --------------------------------------------------------------------------------------------- helpers


def find_spec(path: Path) -> Path:
    path = Path(path)
    if path.is_dir():
        for name in SPEC_FILENAMES:
            if (path / name).is_file():
                return path / name
        raise BatchspecError(f"{path}: no batchspec.yaml in this directory")
    return path


def deep_merge(base: Any, over: Any) -> Any:
    """Mappings merge key by key; anything else in ``over`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


def _overlay_paths(over: Any, data_prefix: JsonPath, doc_prefix: JsonPath, base: Any, out: dict) -> None:
    if isinstance(over, dict) and isinstance(base, dict):
        for k, v in over.items():
            if k in base:
                _overlay_paths(v, (*data_prefix, k), (*doc_prefix, k), base[k], out)
            else:
                out[(*data_prefix, k)] = (*doc_prefix, k)
    else:
        out[data_prefix] = doc_prefix


def _get_path(data: Any, path: JsonPath) -> Any:
    cur = data
    for p in path:
        try:
            cur = cur[p]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


_ID_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def safe_id(text: str, limit: int = 64) -> str:
    return _ID_SAFE.sub("-", text).strip("-")[:limit] or "x"


def _template_problem_in_file(path: str, raw: str, p: TemplateProblem) -> Span:
    """Where a template problem is inside an included *.j2 file: the use of an undefined variable, else the
    line Jinja names, else the file's start."""
    from batchspec.spec.loader import LineIndex
    from batchspec.spec.render import first_use

    index = LineIndex(raw)
    use = first_use(raw, p.variable) if p.variable else None
    if use is not None:
        return Span(path, index.pos(use), index.pos(use + len(p.variable or "")))
    lines = raw.split("\n")
    if p.line and 1 <= p.line <= len(lines):
        return Span(path, Pos(p.line, 1), Pos(p.line, len(lines[p.line - 1]) + 1))
    return Span.point(path, 1, 1)


class _Ctx:
    def __init__(self, c: Compiled) -> None:
        self.c = c
        self.raw_of: dict[Path, str] = {}  # a *.j2 file as written, by path, when the template changed it

    def inline_source(self, text: str, data_path: JsonPath) -> FormulaSource:
        """A text written inline in the spec, with its per-character map (and the raw text if templated)."""
        doc = self.c.doc
        doc_path = self.c.doc_path(data_path)
        loc = doc.locations.get(doc_path) if doc else None
        raw = _get_path(doc.data, doc_path) if doc else None
        return FormulaSource(
            text,
            self.c.path,
            loc.string_map if loc else None,
            raw if isinstance(raw, str) and raw != text else None,
        )

    def error(
        self, code: str, name: str, message: str, path: JsonPath, hint: str | None = None, *, key=False
    ) -> None:
        self.c.diagnostics.append(
            Diagnostic(
                code=code,
                name=name,
                severity=Severity.ERROR,
                message=message,
                span=self.c.span(path, key=key),
                hint=hint,
            )
        )

    def include(self, rel: Any, path: JsonPath, what: str) -> tuple[Path, str] | None:
        """Read a file named in the spec; it must stay inside the project folder."""
        if not isinstance(rel, str) or not rel:
            self.error("SP011", "missing-include", f"{what} must be a relative file path", path)
            return None
        root = self.c.root.resolve()
        target = (root / rel).resolve()
        if Path(rel).is_absolute() or (target != root and root not in target.parents):
            self.error(
                "SP010",
                "include-outside-project",
                f'{what} "{rel}" is outside the project folder',
                path,
                hint=f"keep included files under {self.c.root.as_posix() or '.'}; copy the file into the project",
            )
            return None
        try:
            text = read_text(target)
        except BatchspecError as exc:
            self.error(
                "SP011", "missing-include", f'cannot read {what} "{rel}": {str(exc).split(": ", 1)[-1]}', path
            )
            return None
        if target.name.endswith(".j2"):
            raw = text
            try:
                text = render_string(text, self.c.variables)
            except TemplateProblem as p:
                self.c.diagnostics.append(
                    Diagnostic(
                        code=p.code,
                        name=p.name,
                        severity=Severity.ERROR,
                        message=p.message,
                        span=_template_problem_in_file(self.rel(target), raw, p),
                        hint=p.hint,
                        related=(Related(self.c.span(path), f"{what} included here"),),
                    )
                )
                return None
            if raw != text:
                self.raw_of[target] = raw
        return target, text

    def rel(self, target: Path) -> str:
        base = Path(self.c.path).parent
        try:
            return (base / target.relative_to(self.c.root.resolve())).as_posix()
        except ValueError:
            return target.as_posix()


# --------------------------------------------------------------------------------------------- scripts


def _script_options(ctx: _Ctx, st: dict, path: JsonPath) -> ScriptOptions:
    q = st.get("quote", "single")
    if q not in QUOTE_STYLES:
        ctx.error("SP012", "invalid-value", f'quote "{q}" is not single or double', (*path, "quote"))
        q = "single"
    return ScriptOptions(
        shell=str(st.get("shell", "/bin/bash")),
        strict=bool(st.get("strict", True)),
        quote=q,
        join_with=st.get("joinWith"),
    )


def compile_script_command(ctx: _Ctx, st: dict, path: JsonPath, *, record: bool = False) -> str | None:
    """``commandLine`` as given, or ``script``/``scriptFile`` compiled into one command line."""
    given = [k for k in ("commandLine", "script", "scriptFile") if k in st]
    if len(given) > 1:
        ctx.error(
            "SP013",
            "conflicting-fields",
            f'set only one of "commandLine", "script" and "scriptFile" (found {", ".join(given)})',
            (*path, given[1]),
            key=True,
        )
        return None
    if not given:
        return None
    key = given[0]
    if key == "commandLine":
        return st["commandLine"] if isinstance(st["commandLine"], str) else None
    if key == "script":
        script = st["script"]
        if not isinstance(script, str):
            return None
        if record:
            ctx.c.start_script = ctx.inline_source(script, (*path, "script"))
    else:
        got = ctx.include(st["scriptFile"], (*path, "scriptFile"), "script file")
        if got is None:
            return None
        script = got[1]
        if record:
            ctx.c.start_script = FormulaSource(script, ctx.rel(got[0]), None, ctx.raw_of.get(got[0]))
    opts = _script_options(ctx, st, path)
    from batchspec.spec.render import render_command_line

    return render_command_line(shell_words(opts.shell), quote(script_body(script, opts), opts.quote))


def _environment(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [
            {"name": str(k), "value": "" if v is None else (v if isinstance(v, str) else _scalar_text(v))}
            for k, v in value.items()
        ]
    return value


def _scalar_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _metadata(value: Any) -> Any:
    if isinstance(value, dict):
        return [{"name": str(k), "value": _scalar_text(v)} for k, v in value.items()]
    return value


ELEVATION = {"admin": "Admin", "nonadmin": "NonAdmin"}


def _user_identity(ctx: _Ctx, st: dict, path: JsonPath, *, plane: str) -> Any:
    if "userIdentity" in st:
        return st["userIdentity"]
    if "elevation" not in st:
        return None
    lvl = str(st["elevation"]).lower().replace("-", "").replace("_", "")
    if lvl not in ELEVATION:
        ctx.error(
            "SP012",
            "invalid-value",
            f'elevation "{st["elevation"]}" is not admin or nonadmin',
            (*path, "elevation"),
        )
        return None
    scope = str(st.get("autoUserScope", "pool")).lower()
    if plane == "management":
        return {"autoUser": {"scope": scope.capitalize(), "elevationLevel": ELEVATION[lvl]}}
    return {"autoUser": {"scope": scope, "elevationLevel": lvl}}


# --------------------------------------------------------------------------------------------- pool


POOL_PASSTHROUGH = (
    "displayName",
    "vmSize",
    "taskSlotsPerNode",
    "taskSchedulingPolicy",
    "interNodeCommunication",
    "networkConfiguration",
    "userAccounts",
    "applicationPackages",
    "mountConfiguration",
    "upgradePolicy",
    "certificates",
    "applicationLicenses",
    "resourceTags",
    "targetNodeCommunicationMode",
)


def _compile_pool(ctx: _Ctx, pool: dict) -> None:
    c = ctx.c
    P: JsonPath = ("pool",)
    model: dict[str, Any] = {}
    origins: list[tuple[JsonPath, JsonPath]] = [(("properties",), ("pool",))]
    pool_id = pool.get("id")
    if not isinstance(pool_id, str) or not pool_id:
        ctx.error("SP014", "missing-field", 'the pool needs an "id"', P)
    elif not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", pool_id) and "{{" not in pool_id and "{%" not in pool_id:
        # the id is a URL segment (and render -o's name); a template that failed is reported already
        ctx.error(
            "SP100",
            "spec-schema",
            f'pool id "{pool_id}" is not a valid id',
            (*P, "id"),
            'an id holds 1-64 letters, digits, "-" and "_"',
        )
    else:
        c.pool_id = pool_id
    for key in POOL_PASSTHROUGH:
        if key in pool:
            model[key] = pool[key]
            origins.append((("properties", key), (*P, key)))
    if "metadata" in pool:
        model["metadata"] = _metadata(pool["metadata"])
        origins.append((("properties", "metadata"), (*P, "metadata")))
    # image and node agent
    vm: dict[str, Any] = {}
    if "image" in pool:
        vm["imageReference"] = pool["image"]
        # a derived node agent (and anything else rendered under the VM configuration) points at the image
        origins.append((("properties", "deploymentConfiguration"), (*P, "image")))
        origins.append(
            (
                ("properties", "deploymentConfiguration", "virtualMachineConfiguration", "imageReference"),
                (*P, "image"),
            )
        )
    vmc = pool.get("vmConfiguration")
    if isinstance(vmc, dict):
        vm.update(vmc)
        origins.append(
            (
                ("properties", "deploymentConfiguration", "virtualMachineConfiguration"),
                (*P, "vmConfiguration"),
            )
        )
    if "nodeAgentSkuId" in pool:
        vm["nodeAgentSkuId"] = pool["nodeAgentSkuId"]
        origins.append(
            (
                ("properties", "deploymentConfiguration", "virtualMachineConfiguration", "nodeAgentSkuId"),
                (*P, "nodeAgentSkuId"),
            )
        )
    elif "image" in pool and not _agent_given_elsewhere(pool):
        agent = node_agent_for(pool["image"])
        if agent is None:
            ctx.error(
                "SP015",
                "unknown-node-agent",
                "cannot derive the node agent for this image",
                (*P, "image"),
                hint='set "nodeAgentSkuId" (az batch pool supported-images list shows the pairs)',
            )
        else:
            vm["nodeAgentSkuId"] = agent
    if vm:
        model["vmConfiguration"] = vm
    # scale
    auto, fixed = pool.get("autoScale"), pool.get("fixedScale")
    if auto is not None and fixed is not None:
        ctx.error(
            "SP013",
            "conflicting-fields",
            'set either "autoScale" or "fixedScale", not both',
            (*P, "fixedScale"),
            key=True,
        )
    if isinstance(auto, dict):
        body: dict[str, Any] = {}
        if "formula" in auto and "formulaFile" in auto:
            ctx.error(
                "SP013",
                "conflicting-fields",
                'set either "formula" or "formulaFile", not both',
                (*P, "autoScale", "formulaFile"),
                key=True,
            )
        elif "formula" in auto:
            body["formula"] = auto["formula"]
            if isinstance(auto["formula"], str) and c.doc is not None:
                c.formula = ctx.inline_source(auto["formula"], (*P, "autoScale", "formula"))
        elif "formulaFile" in auto:
            got = ctx.include(auto["formulaFile"], (*P, "autoScale", "formulaFile"), "formula file")
            if got is not None:
                # files end with a newline by convention; the body carries the formula without it
                body["formula"] = got[1][:-1] if got[1].endswith("\n") else got[1]
                c.formula = FormulaSource(got[1], ctx.rel(got[0]), None, ctx.raw_of.get(got[0]))
        elif not _formula_given_elsewhere(pool):
            ctx.error(
                "SP014", "missing-field", 'autoScale needs a "formula" or a "formulaFile"', (*P, "autoScale")
            )
        if auto.get("lineEndings") == "crlf" and isinstance(body.get("formula"), str):
            body["formula"] = body["formula"].replace("\r\n", "\n").replace("\n", "\r\n")
        for k, v in auto.items():
            if k not in ("formula", "formulaFile", "lineEndings"):
                body[k] = v
        model["autoScale"] = body
        origins.append((("properties", "scaleSettings", "autoScale"), (*P, "autoScale")))
        origins.append(
            (
                ("properties", "scaleSettings", "autoScale", "formula"),
                (*P, "autoScale", "formula" if "formula" in auto else "formulaFile"),
            )
        )
    elif isinstance(fixed, dict):
        model["fixedScale"] = fixed
        origins.append((("properties", "scaleSettings", "fixedScale"), (*P, "fixedScale")))
    # start task
    st = pool.get("startTask")
    if isinstance(st, dict) and _windows_image(pool) and any(k in st for k in ("script", "scriptFile")):
        ctx.error(
            "SP018",
            "script-on-windows",
            "a start-task script compiles to a POSIX shell command line, but this pool runs Windows",
            (*P, "startTask", "script" if "script" in st else "scriptFile"),
            hint='use commandLine, e.g. cmd /c "..." or powershell -File ...',
            key=True,
        )
    if isinstance(st, dict):
        SP = (*P, "startTask")
        out: dict[str, Any] = {}
        cmd = compile_script_command(ctx, st, SP, record=True)
        if cmd is not None:
            out["commandLine"] = cmd
        elif not any(k in st for k in ("commandLine", "script", "scriptFile")):
            ctx.error(
                "SP014", "missing-field", 'the start task needs "script", "scriptFile" or "commandLine"', SP
            )
        for k in ("resourceFiles", "maxTaskRetryCount", "waitForSuccess", "containerSettings"):
            if k in st:
                out[k] = st[k]
        if "environment" in st:
            out["environmentSettings"] = _environment(st["environment"])
            origins.append((("properties", "startTask", "environmentSettings"), (*SP, "environment")))
            if isinstance(st["environment"], dict):  # each setting points at its own line
                for i, name in enumerate(st["environment"]):
                    item = ("properties", "startTask", "environmentSettings", i)
                    origins.append((item, (*SP, "environment", name)))
                    origins.append(((*item, "value"), (*SP, "environment", name)))
                    origins.append(((*item, "name"), (*SP, "environment", name)))
        elif "environmentSettings" in st:
            out["environmentSettings"] = st["environmentSettings"]
        ident = _user_identity(ctx, st, SP, plane="management")
        if ident is not None:
            out["userIdentity"] = ident
            origins.append(
                (
                    ("properties", "startTask", "userIdentity"),
                    (*SP, "userIdentity" if "userIdentity" in st else "elevation"),
                )
            )
        model["startTask"] = out
        origins.append((("properties", "startTask"), SP))
        origins.append(
            (
                ("properties", "startTask", "commandLine"),
                (*SP, next((k for k in ("script", "scriptFile", "commandLine") if k in st), "commandLine")),
            )
        )
    # identity
    ident = pool.get("identity")
    if isinstance(ident, list):
        model["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {str(i): {} for i in ident}}
        origins.append((("identity", "userAssignedIdentities"), (*P, "identity")))
        for n, i in enumerate(ident):
            origins.append((("identity", "userAssignedIdentities", str(i)), (*P, "identity", n)))
    elif ident is not None:
        model["identity"] = ident
        origins.append((("identity",), (*P, "identity")))
    if "tags" in pool:
        model["tags"] = pool["tags"]
        origins.append((("tags",), (*P, "tags")))
    body = render_body("pool.json.j2", pool=model)
    if isinstance(pool.get("properties"), dict):
        body["properties"] = deep_merge(body["properties"], pool["properties"])
        _origins_for(pool["properties"], ("properties",), (*P, "properties"), origins)
        if c.formula is None and _formula_given_elsewhere(pool):
            f = pool["properties"]["scaleSettings"]["autoScale"]["formula"]
            c.formula = ctx.inline_source(f, (*P, "properties", "scaleSettings", "autoScale", "formula"))
    if isinstance(pool.get("extra"), dict):
        body = deep_merge(body, pool["extra"])
        _origins_for(pool["extra"], (), (*P, "extra"), origins)
    c.pool_body = body
    c.origins = origins


def _origins_for(value: Any, body: JsonPath, spec: JsonPath, out: list) -> None:
    out.append((body, spec))
    if isinstance(value, dict):
        for k, v in value.items():
            _origins_for(v, (*body, k), (*spec, k), out)


def _windows_image(pool: dict) -> bool:
    agent = pool.get("nodeAgentSkuId")
    if isinstance(agent, str):
        return "windows" in agent.lower()
    derived = node_agent_for(pool.get("image"))
    return derived is not None and "windows" in derived


def _agent_given_elsewhere(pool: dict) -> bool:
    vm = (
        ((pool.get("properties") or {}).get("deploymentConfiguration") or {}).get(
            "virtualMachineConfiguration"
        )
    ) or {}
    vmc = pool.get("vmConfiguration") or {}
    keys = [*vm.keys(), *vmc.keys()] if isinstance(vm, dict) and isinstance(vmc, dict) else []
    return any(isinstance(k, str) and k.lower() == "nodeagentskuid" for k in keys)


def _formula_given_elsewhere(pool: dict) -> bool:
    props = pool.get("properties")
    try:
        return isinstance(props["scaleSettings"]["autoScale"]["formula"], str)  # type: ignore[index]
    except (KeyError, TypeError):
        return False


# --------------------------------------------------------------------------------------------- jobs and tasks


JOB_PASSTHROUGH = (
    "displayName",
    "priority",
    "maxParallelTasks",
    "allowTaskPreemption",
    "constraints",
    "jobManagerTask",
    "jobPreparationTask",
    "jobReleaseTask",
    "onAllTasksComplete",
    "onTaskFailure",
    "usesTaskDependencies",
    "networkConfiguration",
    "poolInfo",
)
TASK_PASSTHROUGH = (
    "displayName",
    "resourceFiles",
    "outputFiles",
    "affinityInfo",
    "constraints",
    "requiredSlots",
    "exitConditions",
    "multiInstanceSettings",
    "dependsOn",
    "applicationPackageReferences",
    "containerSettings",
    "authenticationTokenSettings",
)


def _task_body(ctx: _Ctx, t: dict, path: JsonPath, task_id: str, job: dict) -> dict[str, Any] | None:
    model: dict[str, Any] = {"id": task_id}
    cmd = compile_script_command(ctx, t, path)
    if cmd is None:
        if not any(k in t for k in ("commandLine", "script", "scriptFile")):
            ctx.error("SP014", "missing-field", 'a task needs "commandLine", "script" or "scriptFile"', path)
        return None
    model["commandLine"] = cmd
    for k in TASK_PASSTHROUGH:
        if k in t:
            model[k] = t[k]
    if "environment" in t:
        model["environmentSettings"] = _environment(t["environment"])
    elif "environmentSettings" in t:
        model["environmentSettings"] = t["environmentSettings"]
    ident = _user_identity(ctx, t, path, plane="data")
    if ident is not None:
        model["userIdentity"] = ident
    outputs = t.get("outputs")
    if isinstance(outputs, list):
        model.setdefault("outputFiles", [])
        for o in outputs:
            if isinstance(o, dict) and "pattern" in o and "container" in o:
                model["outputFiles"] = [*model["outputFiles"], _output_file(o, task_id)]
    return render_body("task.json.j2", task=model)


OUTPUT_URL_PREFIX = "batchspec://containers/"


def _output_file(o: dict, task_id: str) -> dict[str, Any]:
    """An outputFiles entry whose container URL apply replaces (``batchspec://containers/<name>``)."""
    prefix = str(o.get("path", f"{task_id}/"))
    return {
        "filePattern": o["pattern"],
        "destination": {
            "container": {"containerUrl": OUTPUT_URL_PREFIX + str(o["container"]), "path": prefix}
        },
        "uploadOptions": {"uploadCondition": o.get("when", "taskCompletion")},
    }


def _expand_sweep(ctx: _Ctx, spec: Any, path: JsonPath) -> list[dict[str, Any]]:
    if not isinstance(spec, dict) or not isinstance(spec.get("parameters"), dict):
        ctx.error("SP014", "missing-field", 'parametricSweep needs "parameters"', path)
        return []
    names: list[str] = []
    axes: list[list[Any]] = []
    for name, rng in spec["parameters"].items():
        p = (*path, "parameters", name)
        if isinstance(rng, list):
            values = rng
        elif isinstance(rng, dict) and isinstance(rng.get("start"), int) and isinstance(rng.get("end"), int):
            step = rng.get("step", 1)
            if not isinstance(step, int) or step == 0:
                ctx.error("SP012", "invalid-value", "step must be a non-zero integer", (*p, "step"))
                return []
            end = rng["end"] + (1 if step > 0 else -1)  # inclusive, as the CLI extensions had it
            values = list(range(rng["start"], end, step))
        else:
            ctx.error("SP012", "invalid-value", f'parameter "{name}" needs a list or {{start, end, step}}', p)
            return []
        if not values:  # the whole sweep would be empty: a job without tasks
            reversed_range = isinstance(rng, dict) and rng.get("start", 0) > rng.get("end", 0)
            ctx.error(
                "SP012",
                "invalid-value",
                f'parameter "{name}" has no values, so the sweep makes no task',
                p,
                "start is above end: add step: -1 to count down" if reversed_range else "give it at least one value",
            )
            return []
        names.append(name)
        axes.append(values)
    total = 1
    for a in axes:
        total *= len(a)
    if total > MAX_TASKS:
        ctx.error(
            "SP016", "too-many-tasks", f"parametric sweep expands to {total} tasks (limit {MAX_TASKS})", path
        )
        return []
    return [dict(zip(names, combo)) for combo in itertools.product(*axes)]


def _sweep_names(job: dict) -> str:
    factory = job.get("taskFactory")
    sweep = factory.get("parametricSweep") if isinstance(factory, dict) else None
    params = sweep.get("parameters") if isinstance(sweep, dict) else None
    if not isinstance(params, dict) or not params:
        return ""
    return " (" + ", ".join("{{ " + str(k) + " }}" for k in params) + ")"


def _check_dependencies(
    ctx: _Ctx, tasks: list[dict[str, Any]], origins: list[JsonPath], ids: dict[str, int], job_id: str
) -> None:
    """A dependency on an id the job never adds keeps the task blocked for ever: almost always a typo."""
    import difflib

    known = [t["id"] for t in tasks]
    for n, t in enumerate(tasks):
        dep = t.get("dependsOn")
        wanted = dep.get("taskIds") if isinstance(dep, dict) else None
        if not isinstance(wanted, list):
            continue
        for i, w in enumerate(wanted):
            if not isinstance(w, str) or w.lower() in ids:
                continue
            close = difflib.get_close_matches(w, known, n=1, cutoff=0.6)
            here = (*origins[n], "dependsOn", "taskIds", i) if n < len(origins) else ()
            ctx.error(
                "SP019",
                "unknown-task-dependency",
                f'task "{t["id"]}" depends on "{w}", which is not a task of job "{job_id}"; it would never run',
                here,
                f'did you mean "{close[0]}"?' if close else "depend on the id of a task listed in this job",
            )
            return  # one is enough: a factory template repeats the same mistake in every task


def _folder_listing(root: Path, pattern: str) -> str | None:
    """What the folder a glob looks in holds, so a typo in the pattern (data/*.cvs) is easy to see."""
    parts = Path(pattern).parts
    fixed = [q for q in itertools.takewhile(lambda q: not any(ch in q for ch in "*?["), parts[:-1])]
    folder = root.joinpath(*fixed) if fixed else root
    shown = "/".join(fixed) + "/" if fixed else "the project folder"
    if not folder.is_dir():
        return f'there is no folder "{"/".join(fixed)}" in the project' if fixed else None
    try:
        names = sorted(e.name + ("/" if e.is_dir() else "") for e in folder.iterdir() if not e.name.startswith("."))
    except OSError:
        return None
    if not names:
        return f"{shown} is empty"
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return f"{shown} holds {', '.join(names[:5])}{more}"


def _job_inputs(ctx: _Ctx, job: dict, path: JsonPath) -> list[tuple[StagedInput, Path]]:
    out: list[tuple[StagedInput, Path]] = []
    root = ctx.c.root.resolve()
    for i, inp in enumerate(job.get("inputs") or []):
        p = (*path, "inputs", i)
        if not isinstance(inp, dict) or "files" not in inp or "container" not in inp:
            ctx.error("SP014", "missing-field", 'an input needs "files" (a glob) and "container"', p)
            continue
        pattern = str(inp["files"])
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            ctx.error(
                "SP010",
                "include-outside-project",
                f'input files "{pattern}" reach outside the project folder',
                (*p, "files"),
            )
            continue
        matches = sorted(m for m in root.glob(pattern) if m.is_file())
        if not matches:
            ctx.error(
                "SP011",
                "missing-include",
                f'input files "{pattern}" match no file',
                (*p, "files"),
                _folder_listing(root, pattern),
            )
        prefix = str(inp.get("prefix", ""))
        outside = [m for m in matches if m.resolve() != root and root not in m.resolve().parents]
        for m in outside:  # a symlink inside the project that points out of it: never upload what it points to
            ctx.error(
                "SP010",
                "include-outside-project",
                f'input file "{m.relative_to(root).as_posix()}" links to a file outside the project folder',
                (*p, "files"),
                hint="copy the file into the project, or remove the link",
            )
        for m in matches:
            if m in outside:
                continue
            rel = m.relative_to(root)
            first_glob = min([pattern.find(ch) for ch in "*?[" if ch in pattern] or [len(pattern)])
            head = pattern[:first_glob]
            base = Path(head.rsplit("/", 1)[0]) if "/" in head else Path()
            try:
                name = rel.relative_to(base).as_posix()
            except ValueError:
                name = rel.as_posix()
            out.append((StagedInput(m, str(inp["container"]), prefix + name), m))
    return out


def _compile_job(ctx: _Ctx, job: dict, path: JsonPath, variables: dict[str, Any]) -> RenderedJob | None:
    job_id = job.get("id")
    if not isinstance(job_id, str) or not job_id:
        ctx.error("SP014", "missing-field", 'a job needs an "id"', path)
        return None
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", job_id) and "{{" not in job_id and "{%" not in job_id:
        # the id also names render -o's files
        ctx.error(
            "SP105",
            "job-schema",
            f'job id "{job_id}" is not a valid id',
            (*path, "id"),
            'an id holds 1-64 letters, digits, "-" and "_"',
        )
        return None
    model: dict[str, Any] = {"id": job_id}
    for k in JOB_PASSTHROUGH:
        if k in job:
            model[k] = job[k]
    if "environment" in job:
        model["commonEnvironmentSettings"] = _environment(job["environment"])
    if "metadata" in job:
        model["metadata"] = _metadata(job["metadata"])
    staged = _job_inputs(ctx, job, path)
    tasks: list[dict[str, Any]] = []
    origins: list[JsonPath] = []
    for i, t in enumerate(job.get("tasks") or []):
        if not isinstance(t, dict):
            continue
        tid = t.get("id") if isinstance(t.get("id"), str) else f"task-{i + 1:05d}"
        body = _task_body(ctx, t, (*path, "tasks", i), tid, job)
        if body is not None:
            tasks.append(body)
            origins.append((*path, "tasks", i))
    factory = job.get("taskFactory")
    if isinstance(factory, dict):
        expanded = list(_expand_factory(ctx, factory, (*path, "taskFactory"), staged, variables, job))
        kind = next((k for k in ("parametricSweep", "perFile", "collection") if k in factory), "collection")
        template: JsonPath = (*path, "taskFactory", kind, "task")
        for n, t in enumerate(expanded):
            tasks.append(t)
            origins.append((*path, "taskFactory", kind, "tasks", n) if kind == "collection" else template)
    seen: dict[str, int] = {}
    for n, t in enumerate(tasks):
        key = t["id"].lower()
        if key in seen:
            first = seen[key]
            here = (*origins[n], "id") if n < len(origins) else path
            ctx.c.diagnostics.append(
                Diagnostic(
                    code="SP017",
                    name="duplicate-task-id",
                    severity=Severity.ERROR,
                    message=f'task id "{t["id"]}" is used twice in job "{job_id}" (ids are case-insensitive)',
                    span=ctx.c.span(here),
                    hint=(
                        "the id template gives two tasks the same id; use every swept parameter in it"
                        + _sweep_names(job)
                        if n < len(origins) and first < len(origins) and origins[first] == origins[n]
                        else "give each task its own id; Batch rejects the second one"
                    ),
                    related=(
                        (Related(ctx.c.span((*origins[first], "id")), "first used here"),)
                        if first < len(origins) and origins[first] != origins[n]
                        else ()
                    ),
                )
            )
            break
        seen[key] = n
    _check_dependencies(ctx, tasks, origins, seen, job_id)
    if any("dependsOn" in t for t in tasks) and "usesTaskDependencies" not in model:
        model["usesTaskDependencies"] = True
    outputs = []
    for i, o in enumerate(job.get("outputs") or []):
        if isinstance(o, dict) and "container" in o:
            dest = ctx.c.root / str(o.get("download", f"outputs/{job_id}"))
            outputs.append(OutputSpec(job_id, str(o["container"]), str(o.get("prefix", "")), dest))
        else:
            ctx.error("SP014", "missing-field", 'an output needs "container"', (*path, "outputs", i))
    body = render_body("job.json.j2", job=model, pool_id=ctx.c.pool_id or "")
    return RenderedJob(job_id, body, tasks, [s for s, _ in staged], outputs, origins)


def _expand_factory(
    ctx: _Ctx,
    factory: dict,
    path: JsonPath,
    staged: list[tuple[StagedInput, Path]],
    variables: dict,
    job: dict,
) -> Iterator[dict[str, Any]]:
    kinds = [k for k in ("parametricSweep", "perFile", "collection") if k in factory]
    if len(kinds) != 1:
        ctx.error(
            "SP013",
            "conflicting-fields",
            "a taskFactory holds exactly one of parametricSweep, perFile, collection",
            path,
        )
        return
    kind = kinds[0]
    spec = factory[kind]
    fpath = (*path, kind)
    if kind == "collection":
        for i, t in enumerate(spec.get("tasks") or [] if isinstance(spec, dict) else []):
            tid = t.get("id") if isinstance(t, dict) and isinstance(t.get("id"), str) else f"task-{i + 1:05d}"
            body = _task_body(ctx, t, (*fpath, "tasks", i), tid, job)
            if body is not None:
                yield body
        return
    template = spec.get("task") if isinstance(spec, dict) else None
    if not isinstance(template, dict):
        ctx.error("SP014", "missing-field", f'{kind} needs a "task" template', fpath)
        return
    if kind == "parametricSweep":
        items = _expand_sweep(ctx, spec, fpath)
        width = max(5, len(str(len(items))))
        contexts = [(f"task-{n:0{width}d}", params) for n, params in enumerate(items)]
    else:
        container = spec.get("container")
        files = [s for s, _ in staged if container is None or s.container == container]
        if not files and staged:  # inputs exist but none reach this container: a job with no tasks
            import difflib

            have = sorted({s.container for s, _ in staged})
            close = difflib.get_close_matches(str(container), have, n=1, cutoff=0.6)
            ctx.error(
                "SP012",
                "invalid-value",
                f'perFile container "{container}" receives no input file, so the job would have no tasks',
                (*fpath, "container"),
                (f'did you mean "{close[0]}"? ' if close else "")
                + "the job's inputs go to "
                + ", ".join(f'"{h}"' for h in have),
            )
        contexts = []
        for s in files:
            digest = hashlib.sha1(f"{s.container}/{s.blob_name}".encode()).hexdigest()[:8]
            stem = Path(s.blob_name).stem
            contexts.append(
                (
                    f"{safe_id(stem, 48)}-{digest}",
                    {
                        "file": {
                            "name": Path(s.blob_name).name,
                            "stem": stem,
                            "blob": s.blob_name,
                            "container": s.container,
                        }
                    },
                )
            )
    tp = (*fpath, "task")
    for default_id, params in contexts:
        scope = {**variables, **params}
        rendered, diags = interpolate(ctx.c.doc, template, scope, origin=lambda p: ctx.c.doc_path((*tp, *p)))  # type: ignore[arg-type]
        if diags:
            ctx.c.diagnostics.extend(diags)
            return
        tid = rendered.get("id") if isinstance(rendered.get("id"), str) else default_id
        if kind == "perFile":
            f = params["file"]
            rf = {"autoStorageContainerName": f["container"], "blobPrefix": f["blob"]}
            rendered = {**rendered, "resourceFiles": [*(rendered.get("resourceFiles") or []), rf]}
        body = _task_body(ctx, rendered, tp, tid, job)
        if body is None:
            return
        yield body


# --------------------------------------------------------------------------------------------- entry points


def _is_factory_template(path: JsonPath) -> bool:
    return len(path) >= 5 and path[0] == "jobs" and path[2] == "taskFactory" and path[4] == "task"


def _point_at_environments(diags: list[Diagnostic], data: Any, env: str | None) -> list[Diagnostic]:
    """An undefined variable that some environment overlays define: say which, and how to fix the others."""
    envs = data.get("environments") if isinstance(data, dict) else None
    if not isinstance(envs, dict):
        return diags
    out = []
    for d in diags:
        m = re.fullmatch(r'undefined template variable "(.+)"', d.message) if d.code == "TM002" else None
        if m:
            defining = [
                str(name)
                for name, overlay in envs.items()
                if isinstance(overlay, dict)
                and isinstance(overlay.get("variables"), dict)
                and m.group(1) in overlay["variables"]
            ]
            if defining:
                where = " and ".join(f"environments.{name}.variables" for name in defining)
                d = dataclasses.replace(
                    d, hint=f"defined only in {where}; give it a default under variables: for the others"
                )
        out.append(d)
    return out


def compile_spec(path: str, text: str, env: str | None = None, *, root: Path | None = None) -> Compiled:
    """Compile a spec; every problem becomes a diagnostic (nothing raises on bad input)."""
    root = root if root is not None else Path(path).parent
    c = Compiled(path=path, root=root, doc=None, env=env)
    try:
        doc = load_text(path, text, kind="yaml")
    except DocumentError as exc:
        c.diagnostics.extend(exc.diagnostics)
        return c
    c.doc = doc
    ctx = _Ctx(c)
    data = doc.data
    if not isinstance(data, dict) or "batchspec" not in data:
        from batchspec.spec.shapes import detect_pool_shape

        hint = None
        if detect_pool_shape(data) is not None:
            hint = f"this is a pool definition: batchspec validate checks it as it is; batchspec import {path} -o DIR turns it into a spec"
        ctx.error("SP020", "not-a-spec", 'not a batchspec spec; the file must start with "batchspec: 1"', (), hint)
        return c
    if data.get("batchspec") != SPEC_VERSION:
        ctx.error(
            "SP021",
            "spec-version",
            f'unsupported spec version "{data.get("batchspec")}"; this batchspec reads version 1',
            ("batchspec",),
        )
        return c
    from batchspec.spec.schema import validate_spec_structure

    c.diagnostics.extend(validate_spec_structure(doc))
    if c.has_errors:
        return c
    envs = data.get("environments") or {}
    merged = {k: v for k, v in data.items() if k != "environments"}
    if env is not None:
        if env not in envs:
            known = ", ".join(sorted(envs)) or "none are defined"
            raise BatchspecError(f'{path}: unknown environment "{env}" (environments: {known})')
        over = envs[env] or {}
        _overlay_paths(over, (), ("environments", env), merged, c.overlay)
        merged = deep_merge(merged, over)
        known_diags = set(c.diagnostics)
        for d in validate_spec_structure(doc, merged, lambda p, k: c.span(p, key=k)):
            if d not in known_diags:
                c.diagnostics.append(d)
        if c.has_errors:
            return c
    raw_vars = merged.get("variables")
    if raw_vars is not None and not isinstance(raw_vars, dict):
        ctx.error("SP100", "spec-schema", "variables must be a mapping of names to values", ("variables",))
        return c
    variables = dict(raw_vars or {})
    variables.setdefault("env", env or "default")
    c.variables = variables
    data2, diags = interpolate(
        doc,
        merged,
        variables,
        skip=lambda p: (len(p) >= 1 and p[0] == "variables") or _is_factory_template(p),
        origin=c.doc_path,
    )
    c.diagnostics.extend(_point_at_environments(diags, doc.data, env))
    c.data = data2
    if not diags and (data2 != merged):  # unchanged data was checked above already
        known_diags = set(c.diagnostics)
        for d in validate_spec_structure(doc, data2, lambda p, k: c.span(p, key=k), rendered=True):
            if d not in known_diags:
                c.diagnostics.append(d)
        if c.has_errors:
            return c
    acct = data2.get("account")
    if isinstance(acct, dict):
        c.target = Target("azure", acct.get("subscriptionId"), acct.get("resourceGroup"), acct.get("name"))
    elif data2.get("target") == "azure":
        # `target: azure` without `account:`: the ids come from the environment (AZURE_SUBSCRIPTION_ID,
        # BATCHSPEC_RESOURCE_GROUP, BATCHSPEC_ACCOUNT_NAME), which the CLI resolves; never fall back to local.
        c.target = Target("azure")
    if isinstance(data2.get("pool"), dict):
        _compile_pool(ctx, data2["pool"])
    elif "pool" not in data2:
        ctx.error(
            "SP014",
            "missing-field",
            'the spec has no "pool"; jobs run on the pool the spec describes',
            (),
            hint="add pool: {id, vmSize, image, ...} (batchspec import turns an existing pool into one)",
        )
    for i, job in enumerate(data2.get("jobs") or []):
        if isinstance(job, dict):
            rj = _compile_job(ctx, job, ("jobs", i), variables)
            if rj is not None:
                c.jobs.append(rj)
    return c


def compile_path(path: Path, env: str | None = None) -> Compiled:
    spec = find_spec(Path(path))
    return compile_spec(spec.as_posix(), read_text(spec), env, root=spec.parent)


def load_project(path: Path, env: str | None = None) -> Project:
    """Render the spec at ``path`` (a file or a folder holding batchspec.yaml). Raises SpecError on errors."""
    c = compile_path(Path(path), env)
    if c.has_errors:
        raise SpecError(c.diagnostics)
    if c.pool_body is None or c.pool_id is None:
        raise BatchspecError(f"{c.path}: the spec has no pool")
    return Project(
        root=c.root,
        spec_path=Path(c.path),
        env=env,
        target=c.target,
        pool_id=c.pool_id,
        pool_body=c.pool_body,
        jobs=c.jobs,
        variables=c.variables,
        diagnostics=[d for d in c.diagnostics if d.severity < Severity.ERROR],
    )


def pool_formula_from_spec(path: Path, env: str | None = None) -> PoolFormula:
    from batchspec.spec.extract import pool_formula_from_document

    project = load_project(path, env)
    c_doc = Document(str(path), "", {"properties": project.pool_body["properties"]}, {}, "json")
    pf = pool_formula_from_document(c_doc)
    c = compile_path(Path(path), env)
    src = c.formula
    return PoolFormula(
        text=pf.text,
        path=src.path if src else str(path),
        evaluation_interval=pf.evaluation_interval,
        task_slots_per_node=pf.task_slots_per_node,
        task_scheduling=pf.task_scheduling,
        vm_size=pf.vm_size,
        pool_id=project.pool_id,
        target_dedicated=pf.target_dedicated,
        target_low_priority=pf.target_low_priority,
        origin=src.string_map if src else None,
    )
