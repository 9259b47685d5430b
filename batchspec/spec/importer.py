"""Turn an existing pool definition into a batchspec project: ``batchspec.yaml``, ``autoscale.formula`` and a
readable start-task script, such that ``render --pool`` gives the source body back exactly.

What the spec can say in its own words (image, scale, start task, identity, metadata) it says so; everything
else (non-canonical spellings such as ``nodeAgentSKUId``, properties the API no longer accepts, fields batchspec
does not model) is kept verbatim under ``pool.properties`` / ``pool.extra`` with a comment, and listed in the
import notes. Nothing is dropped except the read-only state a ``pool show`` adds, and that is reported.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from batchspec.errors import BatchspecError
from batchspec.spec import pool_updates
from batchspec.spec.images import node_agent_for
from batchspec.spec.loader import Document
from batchspec.spec.project import POOL_PASSTHROUGH
from batchspec.spec.shapes import detect_pool_shape, get, is_arm_expression, strip_nulls
from batchspec.spec.startscript import ScriptOptions, decompile

# state a GET returns that is not part of a pool definition (management and data plane spellings)
# the management plane's read-only pool properties (one home: pool_updates), plus the state a data-plane
# `az batch pool show` adds
READ_ONLY_PROPERTIES = (
    *pool_updates.READ_ONLY,
    "state",
    "stateTransitionTime",
    "resizeErrors",
    "stats",
    "url",
    "eTag",
)
READ_ONLY_TOP = ("etag", "systemData", "id")
# members of an ARM template resource (or a GET response) around the pool body
ARM_ENVELOPE = (
    "name",
    "type",
    "apiVersion",
    "dependsOn",
    "location",
    "condition",
    "copy",
    "comments",
    "scope",
)

_STRING_FIELDS = ("displayName", "vmSize", "interNodeCommunication", "targetNodeCommunicationMode")
# what the spec carries verbatim is exactly what render passes through, so an import renders back unchanged
VERBATIM = POOL_PASSTHROUGH


@dataclass
class ImportResult:
    files: dict[str, str]  # file name -> content
    notes: list[str] = field(default_factory=list)  # what was kept verbatim, dropped or changed, for stderr
    dropped: dict[str, Any] = field(default_factory=dict)  # read-only state not carried over


class _Literal(str):
    pass


class _Dumper(yaml.SafeDumper):
    pass


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


_Dumper.add_representer(_Literal, _literal)

# characters YAML treats as line breaks: in a plain or single-quoted scalar they would not come back as written
_BREAKS = ("\x85", "\u2028", "\u2029")


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if any(b in value for b in _BREAKS) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(value: Any) -> str:
    return yaml.dump(
        value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False
    )


def _protect_templates(value: Any) -> Any:
    """Source text that looks like Jinja ("{{", "{%") is wrapped in {% raw %} so rendering gives it back as is."""
    from batchspec.spec.render import has_template

    if isinstance(value, dict):
        return {k: _protect_templates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_protect_templates(v) for v in value]
    if has_template(value):
        return "{% raw %}" + value.replace("{% endraw %}", "{% endraw %}{{ '{% endraw %}' }}{% raw %}") + "{% endraw %}"
    return value


def _count_nulls(value: Any) -> int:
    if isinstance(value, dict):
        return sum(1 if v is None else _count_nulls(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_nulls(v) for v in value)
    return 0


def _pairs_to_map(value: Any) -> dict[str, str] | None:
    """[{name, value}] with unique names and string values -> mapping (else None: keep the list)."""
    if not isinstance(value, list) or not value:
        return None
    out: dict[str, str] = {}
    for item in value:
        if not isinstance(item, dict) or set(item) != {"name", "value"}:
            return None
        name, val = item["name"], item["value"]
        if not isinstance(name, str) or not isinstance(val, str) or name in out:
            return None
        out[name] = val
    return out


def _pool_id_from(data: dict, fallback: str) -> str:
    for key in ("name", "id"):
        v = data.get(key)
        if isinstance(v, str) and v and "[" not in v:
            return v.rstrip("/").rsplit("/", 1)[-1]
    stem = fallback.rsplit("/", 1)[-1].split(".", 1)[0]
    return re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:64] or "pool"


def _identity(value: Any) -> Any:
    if (
        isinstance(value, dict)
        and set(value) == {"type", "userAssignedIdentities"}
        and value["type"] == "UserAssigned"
        and isinstance(value["userAssignedIdentities"], dict)
        and value["userAssignedIdentities"]
        and all(v == {} for v in value["userAssignedIdentities"].values())
    ):
        return list(value["userAssignedIdentities"])
    return value


def import_pool(doc: Document, *, source_name: str) -> ImportResult:
    shape = detect_pool_shape(doc.data)
    if shape is None:
        raise BatchspecError(
            f"{doc.path}: not a pool definition; expected a management-plane body, an ARM template with a pool "
            "resource, a data-plane body or az batch pool show output"
        )
    source = get(doc.data, shape.root)
    nulls = _count_nulls(source)
    if shape.plane == "data":
        from batchspec.spec.planes import data_to_management

        dropped: dict[str, Any] = {}
        resource, notes = data_to_management(strip_nulls(source), dropped)
        if nulls:
            notes.append(f"left out {nulls} null members (unset properties as az ... show writes them)")
        result = _import_management(resource, source_name, notes, plane="data")
        result.dropped.update(dropped)
        return result
    resource = strip_nulls(source)
    notes = [f"left out {nulls} null members (unset properties as az ... show writes them)"] if nulls else []
    pool_name = get(doc.data, ("parameters", "poolName"))
    if shape.wrapper == "rest-example" and isinstance(pool_name, str) and "name" not in resource:
        resource["name"] = (
            pool_name  # the URL parameter names the pool in a REST example (dropped as envelope)
        )
    if shape.wrapper != "resource":
        notes.append(f"imported the pool resource at {'.'.join(map(str, shape.root))} of the {shape.wrapper}")
    from batchspec.spec.shapes import all_pool_shapes

    others = [".".join(map(str, s.root)) for s in all_pool_shapes(doc.data)[1:]]
    if others:
        notes.append("the file defines more pools, not imported: " + ", ".join(others))
    return _import_management(resource, source_name, notes, plane="management")


def _import_management(resource: dict, source_name: str, notes: list[str], *, plane: str) -> ImportResult:
    files: dict[str, str] = {}
    dropped: dict[str, Any] = {}
    props: dict[str, Any] = copy.deepcopy(resource.get("properties") or {})
    top = {k: v for k, v in resource.items() if k != "properties"}
    pool: dict[str, Any] = {"id": _pool_id_from(top, source_name)}
    if plane == "data":
        top.pop("name", None)  # the data-plane "id", carried as the pool id
    for k in READ_ONLY_PROPERTIES:
        if k in props:
            dropped[f"properties.{k}"] = props.pop(k)
    for k in READ_ONLY_TOP:
        if k in top:
            dropped[k] = top.pop(k)
    envelope = [k for k in ARM_ENVELOPE if k in top]
    for k in envelope:
        dropped[k] = top.pop(k)
    if envelope:
        notes.append(
            "left out the ARM resource envelope ("
            + ", ".join(envelope)
            + "): the pool id becomes pool.id and "
            "batchspec sends the body to the API itself"
        )
    for k in ("displayName", "vmSize"):
        if k in props:
            pool[k] = props.pop(k)
    # image and node agent
    dc = props.get("deploymentConfiguration")
    vm = dc.get("virtualMachineConfiguration") if isinstance(dc, dict) else None
    if isinstance(vm, dict):
        if isinstance(vm.get("imageReference"), dict):
            pool["image"] = vm.pop("imageReference")
        agent = vm.get("nodeAgentSkuId")
        spelled = [k for k in vm if k.lower() == "nodeagentskuid" and k != "nodeAgentSkuId"]
        if isinstance(agent, str):
            vm.pop("nodeAgentSkuId")
            if spelled or agent != node_agent_for(pool.get("image")):
                pool["nodeAgentSkuId"] = agent
        elif not spelled and "image" in pool and node_agent_for(pool["image"]) is not None:
            notes.append(
                "the source has no node agent; keep it that way by adding it back with nodeAgentSkuId"
            )
        rest = {k: v for k, v in vm.items() if k not in spelled}
        if rest:
            pool["vmConfiguration"] = rest
        for k in list(vm):
            if k not in spelled:
                vm.pop(k)
        if not vm:
            dc.pop("virtualMachineConfiguration")
        if not dc:
            props.pop("deploymentConfiguration")
    # scale
    ss = props.get("scaleSettings")
    if isinstance(ss, dict):
        auto = ss.get("autoScale")
        if (
            isinstance(auto, dict)
            and isinstance(auto.get("formula"), str)
            and not is_arm_expression(auto["formula"])
        ):
            formula = auto.pop("formula")
            spec_auto: dict[str, Any] = {"formulaFile": "autoscale.formula"}
            if "\r\n" in formula and "\n" not in formula.replace("\r\n", ""):
                spec_auto["lineEndings"] = "crlf"
                formula = formula.replace("\r\n", "\n")
            elif "\r" in formula:
                notes.append("the formula mixes line endings; it is kept inline to stay byte-exact")
                spec_auto = {"formula": formula}
            if "formulaFile" in spec_auto:
                files["autoscale.formula"] = formula + "\n"
            if "evaluationInterval" in auto:
                spec_auto["evaluationInterval"] = auto.pop("evaluationInterval")
            pool["autoScale"] = spec_auto
            if not auto:
                ss.pop("autoScale")
        fixed = ss.get("fixedScale")
        if isinstance(fixed, dict) and "autoScale" not in ss:
            pool["fixedScale"] = ss.pop("fixedScale")
        if not ss:
            props.pop("scaleSettings")
    for k in VERBATIM:
        if k in props and (k in _STRING_FIELDS or not is_arm_expression(props[k])):
            pool[k] = props.pop(k)  # ARM expressions for non-string fields stay under pool.properties
    # start task
    st = props.get("startTask")
    if isinstance(st, dict):
        spec_st: dict[str, Any] = {}
        cmd = st.get("commandLine")
        if isinstance(cmd, str):
            st.pop("commandLine")
            got = decompile(cmd)
            if got is not None:
                script, opts = got
                spec_st["scriptFile"] = "start-task.sh"
                spec_st.update(_script_fields(script, opts))
                files["start-task.sh"] = _script_file(script, opts)
            else:
                spec_st["commandLine"] = cmd
        ui = st.get("userIdentity")
        if (
            isinstance(ui, dict)
            and set(ui) == {"autoUser"}
            and isinstance(ui["autoUser"], dict)
            and set(ui["autoUser"]) == {"scope", "elevationLevel"}
            and ui["autoUser"]["elevationLevel"] in ("Admin", "NonAdmin")
            and ui["autoUser"]["scope"] in ("Pool", "Task")
        ):
            st.pop("userIdentity")
            spec_st["elevation"] = ui["autoUser"]["elevationLevel"].lower()
            if ui["autoUser"]["scope"] != "Pool":
                spec_st["autoUserScope"] = ui["autoUser"]["scope"].lower()
        env = _pairs_to_map(st.get("environmentSettings"))
        if env is not None:
            st.pop("environmentSettings")
            spec_st["environment"] = env
        for k in (
            "maxTaskRetryCount",
            "waitForSuccess",
            "resourceFiles",
            "environmentSettings",
            "userIdentity",
            "containerSettings",
        ):
            if k in st and not is_arm_expression(st[k]):
                spec_st[k] = st.pop(k)
        pool["startTask"] = spec_st
        if not st:
            props.pop("startTask")
    if "metadata" in props and not is_arm_expression(props["metadata"]):
        md = _pairs_to_map(props["metadata"])
        pool["metadata"] = md if md is not None else props["metadata"]
        props.pop("metadata")
    if "identity" in top and not is_arm_expression(top["identity"]):
        pool["identity"] = _identity(top.pop("identity"))
    if "tags" in top and not is_arm_expression(top["tags"]):
        pool["tags"] = top.pop("tags")
    if props:
        pool["properties"] = props
        for line in _describe_leftovers(props):
            notes.append(line)
    if top:
        pool["extra"] = top
        notes.append(
            "kept top-level members " + ", ".join(f'"{k}"' for k in top) + " verbatim under pool.extra"
        )
    state = [k for k in dropped if k not in ARM_ENVELOPE]
    if state and plane == "management":
        notes.append("dropped read-only state set by the service: " + ", ".join(state))
    pool = _protect_templates(pool)
    spec: dict[str, Any] = {"batchspec": 1, "pool": pool}
    files["batchspec.yaml"] = _spec_text(spec, source_name, plane)
    return ImportResult(files, notes, dropped)


RETIRED = {
    "cloudServiceConfiguration": "Cloud Services pools were retired in 2024",
    "maxTasksPerNode": "renamed taskSlotsPerNode",
    "applicationLicenses": "not accepted since 2023-05-01",
    "certificates": "retired in 2024 (use the Key Vault VM extension)",
    "resizeTimeout": "belongs in scaleSettings.fixedScale",
    "nodeAgentSKUId": "the management plane spells it nodeAgentSkuId",
}


def _describe_leftovers(props: dict) -> list[str]:
    out: list[str] = []

    def walk(value: Any, path: tuple[str, ...], siblings: dict | None = None) -> None:
        if isinstance(value, dict) and value and path[-1] not in RETIRED:
            for k, v in value.items():
                walk(v, (*path, k), value)
            return
        beside = [k for k, v in (siblings or {}).items() if k != path[-1] and is_arm_expression(v)]
        if is_arm_expression(value):
            reason = "an ARM template expression"
        elif path[-1] in RETIRED:
            reason = RETIRED[path[-1]]
        elif beside:  # e.g. the evaluation interval of a formula that ARM computes
            reason = f'kept with "{beside[0]}", an ARM template expression'
        else:
            reason = "not modelled by the spec"
        out.append(f'kept "{".".join(path)}" verbatim under pool.properties ({reason})')

    for k, v in props.items():
        walk(v, (k,))
    return out


def _script_fields(script: str, opts: ScriptOptions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if opts.shell != "/bin/bash":
        out["shell"] = opts.shell
    if not opts.strict:
        out["strict"] = False
    if opts.quote != "single":
        out["quote"] = opts.quote
    if opts.join_with is not None:
        out["joinWith"] = opts.join_with
    return out


def _script_file(script: str, opts: ScriptOptions) -> str:
    if opts.join_with is None:
        return script
    header = (
        "# Start task, one step per line. batchspec joins the lines with"
        f" {opts.join_with.strip()!r} into the single command line\n"
        f'# {opts.shell} -c "..." that the source pool ran (blank and # lines are skipped).\n'
        "# Beware: in a chain like `a && b || echo skipped && c` the `|| echo` also runs when ANY earlier\n"
        "# step failed, and the chain carries on. To turn this into a plain script that stops at the first\n"
        "# failure, delete strict/quote/joinWith from startTask in batchspec.yaml and write the steps as a\n"
        "# normal script (`cmd || true` where a failure is fine); the pool's command line changes then.\n"
    )
    return header + script


def _spec_text(spec: dict, source_name: str, plane: str) -> str:
    pool = spec["pool"]
    lines = [
        f"# Imported by `batchspec import` from {source_name} ({plane}-plane pool body).",
        (
            "# `batchspec render --pool` of this folder gives the source body back; `batchspec validate` checks it."
            if plane == "management"
            else "# `batchspec render --pool --plane data` of this folder gives the source body back;"
            " `batchspec validate` checks it."
        ),
        "batchspec: 1",
        "",
        "pool:",
    ]
    main = {k: v for k, v in pool.items() if k not in ("properties", "extra")}
    lines.append(_comment(_indent(dump_yaml(main))))
    if "properties" in pool:
        lines.append(
            "  # Kept exactly as written in the source (spellings the spec does not produce, retired or"
        )
        lines.append(
            "  # unmodelled properties); merged over the rendered properties. See `batchspec validate`."
        )
        lines.append(_indent(dump_yaml({"properties": pool["properties"]})))
    if "extra" in pool:
        lines.append("  # Top-level members of the source body, kept verbatim.")
        lines.append(_indent(dump_yaml({"extra": pool["extra"]})))
    return "\n".join(lines).rstrip("\n") + "\n"


_EXPLAIN = {
    "    lineEndings: crlf": "the source formula has Windows line endings; kept so the body is identical",
    "    strict: false": "the source has no set -euo pipefail; a failing step does not stop it",
    "    quote: double": 'quoted as in the source: /bin/bash -c "..."',
    "    joinWith: ' && '": "start-task.sh holds one step per line; they are joined into one command line",
}


def _comment(text: str) -> str:
    out = []
    for line in text.split("\n"):
        note = _EXPLAIN.get(line.rstrip())
        out.append(f"{line.rstrip():<24}  # {note}" if note else line)
    return "\n".join(out)


def _indent(text: str) -> str:
    return "\n".join(("  " + ln) if ln else ln for ln in text.rstrip("\n").split("\n"))
