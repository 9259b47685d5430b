"""Hypothesis: any spec-shaped document either compiles or yields SP/TM diagnostics inside the file; never a crash."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
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


any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
json_scalar = st.one_of(st.booleans(), st.integers(-10**6, 10**6), any_text,  # null members: left out, reported
                        st.floats(allow_nan=False, allow_infinity=False, width=32))


@st.composite
def management_bodies(draw):  # type: ignore[no-untyped-def]
    props: dict = {"vmSize": draw(any_text)}
    if draw(st.booleans()):
        props["displayName"] = draw(any_text)
    if draw(st.booleans()):
        props["scaleSettings"] = {"autoScale": {"formula": draw(any_text)}}
        if draw(st.booleans()):
            props["scaleSettings"]["autoScale"]["evaluationInterval"] = draw(any_text)
    if draw(st.booleans()):
        cmd = draw(st.one_of(any_text, any_text.map(lambda s: "/bin/bash -c " + __import__("shlex").quote(s))))
        st_body: dict = {"commandLine": cmd}
        if draw(st.booleans()):
            st_body["environmentSettings"] = [{"name": draw(any_text), "value": draw(any_text)}]
        if draw(st.booleans()):
            st_body["userIdentity"] = {"autoUser": {"scope": draw(st.sampled_from(["Pool", "Task", "pool"])),
                                                    "elevationLevel": draw(st.sampled_from(["Admin", "NonAdmin"]))}}
        props["startTask"] = st_body
    if draw(st.booleans()):
        props["metadata"] = draw(st.lists(st.fixed_dictionaries({"name": any_text, "value": any_text}), max_size=3))
    if draw(st.booleans()):
        props[draw(st.sampled_from(["unknownThing", "maxTasksPerNode", "nodeAgentSKUId"]))] = draw(json_scalar)
    body: dict = {"properties": props}
    if draw(st.booleans()):
        body["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {draw(any_text): {}}}
    if draw(st.booleans()):
        body["tags"] = draw(st.dictionaries(any_text, any_text, max_size=2))
    return body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(body=management_bodies())
@example(body={"properties": {"vmSize": "x", "startTask": {"commandLine": "/bin/bash -c 'a\r\nb\rc\x85d'"},
                              "scaleSettings": {"autoScale": {"formula": "$a = 1;\r\n$b = 2;\r"}}}})
def test_import_render_round_trip_on_arbitrary_bodies(tmp_path_factory, body: dict) -> None:  # type: ignore[no-untyped-def]
    import json

    from batchspec.spec.importer import import_pool
    from batchspec.spec.loader import load_text
    from batchspec.spec.project import load_project

    root = tmp_path_factory.mktemp("imp")
    doc = load_text("pool.json", json.dumps(body))
    result = import_pool(doc, source_name="pool.json")
    for name, content in result.files.items():
        (root / name).write_text(content, encoding="utf-8", newline="")
    project = load_project(root)
    assert project.pool_body == body


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("{}[]:,\"'\\ \t\n-#&*!|>?%@`abc019.eE+\r") + ["\u00e9"]), max_size=80),
    name=st.sampled_from(["a.json", "a.yaml"]),
)
def test_readers_and_validate_are_total(text: str, name: str) -> None:
    from batchspec.spec.loader import DocumentError, load_text

    try:
        load_text(name, text)
    except DocumentError as exc:
        assert all(d.code.startswith("SP0") and d.span.start.line >= 1 for d in exc.diagnostics)
    validate_document(name, text)
    validate_document(name, "batchspec: 1\n" + text)
