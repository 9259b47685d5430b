"""Hypothesis: any spec-shaped document either compiles or yields SP/TM diagnostics inside the file; never a crash."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchspec.spec.project import compile_spec
from batchspec.spec.validate import validate_document

KEYS = [
    "id", "vmSize", "image", "publisher", "offer", "sku", "autoScale", "formula", "formulaFile", "evaluationInterval",
    "fixedScale", "targetDedicatedNodes", "taskSlotsPerNode", "startTask", "script", "commandLine", "scriptFile",
    "elevation", "environment", "identity", "metadata", "properties", "jobs", "tasks", "taskFactory",
    "parametricSweep", "parameters", "task", "perFile", "inputs", "files", "container", "variables", "environments",
    "strict", "quote", "joinWith", "lineEndings", "nodeAgentSkuId", "extra", "account",
]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 300), st.sampled_from(["PT5M", "{{ x }}", "{{ nope }}", "admin",
    "../outside.formula", "$TargetDedicatedNodes = 1;", "crlf", "double", " && ", "{% for %}", "a'b\"c"]),
    st.text(max_size=8),
)
trees = st.recursive(
    scalars,
    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.sampled_from(KEYS), c, max_size=5)),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pool=trees, jobs=trees, variables=trees)
def test_any_spec_compiles_or_reports(tmp_path_factory, pool: object, jobs: object, variables: object) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("spec")
    doc = {"batchspec": 1, "variables": variables, "pool": pool, "jobs": jobs}
    text = yaml.safe_dump(doc, sort_keys=False)
    path = str(root / "batchspec.yaml")
    (Path(path)).write_text(text)
    c = compile_spec(path, text, None, root=root)
    lines = text.count("\n") + 1
    for d in c.diagnostics:
        assert d.code[:2] in ("SP", "TM"), d
        if d.span.path == path:
            assert 1 <= d.span.start.line <= lines, d
    diags = validate_document(path, text)
    assert all(d.code[:2] in ("SP", "TM", "FM", "BS") for d in diags)


ident = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)
# any script text except Jinja syntax ("{{", "{%"), which the spec renders (write {% raw %} around it)
script_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60).filter(
    lambda s: "{{" not in s and "{%" not in s
)


@st.composite
def pools(draw):  # type: ignore[no-untyped-def]
    pool: dict = {"id": draw(ident), "vmSize": draw(st.sampled_from(["Standard_D2s_v3", "Standard_F8s_v2", "weird"]))}
    if draw(st.booleans()):
        pool["image"] = {"publisher": "canonical", "offer": draw(st.sampled_from(
            ["0001-com-ubuntu-server-jammy", "ubuntu-24_04-lts", "unknown-offer"])), "sku": "22_04-lts"}
    if draw(st.booleans()):
        pool["autoScale"] = {"formula": draw(st.sampled_from(
            ["$TargetDedicatedNodes = 1;", "$TargetDedicatedNodes = $Pending;", "x = ;", ""]))}
    else:
        pool["fixedScale"] = {"targetDedicatedNodes": draw(st.integers(0, 3))}
    if draw(st.booleans()):
        pool["taskSlotsPerNode"] = draw(st.integers(-1, 300))
    if draw(st.booleans()):
        pool["startTask"] = {"script": draw(script_text), "strict": draw(st.booleans()),
                             "quote": draw(st.sampled_from(["single", "double"])), "elevation": "admin"}
    if draw(st.booleans()):
        pool["metadata"] = draw(st.dictionaries(ident, st.text(max_size=5), max_size=3))
    return pool


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pool=pools())
def test_structured_pools_render_and_start_tasks_round_trip(tmp_path_factory, pool: dict) -> None:  # type: ignore[no-untyped-def]
    import shlex

    from batchspec.spec.startscript import ScriptOptions, script_body

    root = tmp_path_factory.mktemp("spec")
    text = yaml.safe_dump({"batchspec": 1, "pool": pool}, sort_keys=False)
    c = compile_spec(str(root / "batchspec.yaml"), text, None, root=root)
    if c.has_errors:
        assert all(d.code[:2] in ("SP", "TM") for d in c.diagnostics)
        return
    assert c.pool_body is not None
    st_spec = pool.get("startTask")
    if st_spec is not None:
        cmd = c.pool_body["properties"]["startTask"]["commandLine"]
        opts = ScriptOptions(strict=st_spec["strict"], quote=st_spec["quote"])
        assert shlex.split(cmd) == ["/bin/bash", "-c", script_body(st_spec["script"], opts)]
    validate_document(str(root / "batchspec.yaml"), text)  # never raises
