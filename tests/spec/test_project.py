from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from batchspec.cli.main import main
from batchspec.spec.project import SpecError, compile_path, load_project

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def write(tmp: Path, text: str, **files: str) -> Path:
    (tmp / "batchspec.yaml").write_text(text)
    for name, content in files.items():
        p = tmp / name.replace("__", "/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
    return tmp


POOL = """
pool:
  id: p1
  vmSize: Standard_D2s_v3
  image: {publisher: canonical, offer: 0001-com-ubuntu-server-jammy, sku: 22_04-lts, version: latest}
  fixedScale: {targetDedicatedNodes: 1}
"""


def errors_of(tmp: Path) -> list[tuple[str, int, int]]:
    c = compile_path(tmp)
    return [
        (d.code, d.span.start.line, d.span.start.col) for d in c.diagnostics if d.severity.name == "ERROR"
    ]


@pytest.mark.parametrize(
    "name", ["autoscale-env", "parametric-sweep", "task-per-file", "fixed-scale", "seed-pool", "seed-pool-fixed"]
)
def test_examples_render_and_have_no_errors_except_the_seed_placeholder(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["validate", "--format", "concise", str(EXAMPLES / name)])
    out = capsys.readouterr().out
    errors = [ln for ln in out.splitlines() if ": error[" in ln]
    if name == "seed-pool":
        assert [e.split("error[")[1][:5] for e in errors] == ["SP202"] and rc == 1
    else:
        assert errors == [] and rc == 0, out
    assert main(["render", str(EXAMPLES / name)]) == 0
    json.loads(capsys.readouterr().out)


def test_node_agent_is_derived_and_project_fields(tmp_path: Path) -> None:
    p = load_project(write(tmp_path, "batchspec: 1\n" + POOL))
    vm = p.pool_body["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"]
    assert vm["nodeAgentSkuId"] == "batch.node.ubuntu 22.04"
    assert p.target.is_local and p.pool_id == "p1" and p.jobs == []


def test_environment_overlay_and_typed_variables() -> None:
    dev = load_project(EXAMPLES / "autoscale-env")
    prod = load_project(EXAMPLES / "autoscale-env", env="prod")
    assert dev.pool_id == "render-default" and prod.pool_id == "render-prod"
    assert dev.pool_body["properties"]["taskSlotsPerNode"] == 4
    assert prod.pool_body["properties"]["taskSlotsPerNode"] == 16
    assert prod.target.kind == "azure" and prod.target.account_name == "contosobatchprod"
    cmd = prod.pool_body["properties"]["startTask"]["commandLine"]
    assert shlex.split(cmd)[:2] == ["/bin/bash", "-c"] and shlex.split(cmd)[2].startswith(
        "set -euo pipefail\napt-get update"
    )


def test_unknown_environment_is_a_clean_error() -> None:
    from batchspec.errors import BatchspecError

    with pytest.raises(BatchspecError, match='unknown environment "staging"'):
        load_project(EXAMPLES / "autoscale-env", env="staging")


def test_parametric_sweep_expands_with_deterministic_ids() -> None:
    p = load_project(EXAMPLES / "parametric-sweep")
    tasks = p.jobs[0].tasks
    assert len(tasks) == 12
    assert tasks[0]["id"] == "train-s1-lr0_1" and tasks[-1]["id"] == "train-s3-lr0_003"
    assert "--seed 1 --lr 0.1" in tasks[0]["commandLine"]
    assert p.jobs[0].job_body["poolInfo"] == {"poolId": "sweep"}
    assert p.jobs[0].job_body["commonEnvironmentSettings"] == [{"name": "EPOCHS", "value": "20"}]
    assert [t["id"] for t in load_project(EXAMPLES / "parametric-sweep").jobs[0].tasks] == [
        t["id"] for t in tasks
    ]


def test_per_file_factory_inputs_and_outputs() -> None:
    p = load_project(EXAMPLES / "task-per-file")
    job = p.jobs[0]
    assert sorted(i.blob_name for i in p.inputs) == ["a.txt", "b.txt", "c.txt"]
    assert {i.container for i in p.inputs} == {"inputs"}
    assert len(job.tasks) == 3
    t = job.tasks[0]
    assert t["resourceFiles"] == [{"autoStorageContainerName": "inputs", "blobPrefix": "a.txt"}]
    assert t["outputFiles"][0]["destination"]["container"]["containerUrl"] == "batchspec://containers/outputs"
    assert p.outputs[0].container == "outputs" and p.outputs[0].destination.name == "results"
    assert t["id"].startswith("a-") and len({x["id"] for x in job.tasks}) == 3


def test_task_list_and_dependencies(tmp_path: Path) -> None:
    spec = (
        "batchspec: 1\n"
        + POOL
        + """
jobs:
  - id: j
    tasks:
      - id: first
        commandLine: echo 1
      - id: second
        script: |
          echo "it's $HOME"
        dependsOn: {taskIds: [first]}
"""
    )
    p = load_project(write(tmp_path, spec))
    job = p.jobs[0]
    assert job.job_body["usesTaskDependencies"] is True
    assert shlex.split(job.tasks[1]["commandLine"])[2] == 'set -euo pipefail\necho "it\'s $HOME"'


@pytest.mark.parametrize(
    ("spec", "code", "line"),
    [
        ("batchspec: 1\nvariables: {}\npool:\n  id: '{{ nope }}'\n", "TM002", 4),
        ("batchspec: 1\npool:\n  id: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"\n", "TM003", 3),
        ("batchspec: 1\npool:\n  id: \"{{ cycler.__init__.__globals__.os.system('id') }}\"\n", "TM003", 3),
        ("batchspec: 1\npool:\n  id: '{{ x'\n", "TM001", 3),
        ("batchspec: 1\npool:\n  id: p\n  autoScale:\n    formulaFile: ../../etc/passwd\n", "SP010", 5),
        ("batchspec: 1\npool:\n  id: p\n  autoScale:\n    formulaFile: /etc/passwd\n", "SP010", 5),
        ("batchspec: 1\npool:\n  id: p\n  autoScale:\n    formulaFile: missing.formula\n", "SP011", 5),
        ("batchspec: 1\npool:\n  id: p\n  vmSzie: x\n", "SP100", 4),
        ("batchspec: 2\n", "SP021", 1),
        (
            "batchspec: 1\npool:\n  id: p\n  autoScale: {formula: x}\n  fixedScale: {targetDedicatedNodes: 1}\n",
            "SP013",
            5,
        ),
    ],
)
def test_bad_specs_give_positioned_errors(tmp_path: Path, spec: str, code: str, line: int) -> None:
    found = errors_of(write(tmp_path, spec))
    assert any(c == code and ln == line for c, ln, _ in found), found


def test_sandbox_blocks_python_internals_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "batchspec: 1\npool:\n  id: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"\n")
    assert main(["render", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "TM003" in err and "Traceback" not in err
    assert main(["validate", str(tmp_path)]) == 1


def test_hostile_yaml_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bomb = ["batchspec: 1", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(8):
        prev, cur = chr(97 + i), chr(98 + i)
        bomb.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    cases = {
        "bomb": "\n".join(bomb) + "\n",
        "tabs": "batchspec: 1\npool:\n\tid: p\n",
        "dupes": "batchspec: 1\npool:\n  id: a\n  id: b\n",
        "deep": "batchspec: 1\nx: " + "[" * 5000 + "]" * 5000 + "\n",
    }
    for name, text in cases.items():
        d = tmp_path / name
        d.mkdir()
        (d / "batchspec.yaml").write_text(text)
        assert main(["validate", str(d)]) == 1, name
        assert main(["render", str(d)]) == 2, name
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err + captured.out
        assert "batchspec.yaml:" in captured.err + captured.out


def test_fifty_megabyte_file_is_refused_quickly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.json"
    with big.open("w") as f:
        f.write('{"properties": {"vmSize": "x", "pad": "')
        chunk = "x" * (1 << 20)
        for _ in range(50):
            f.write(chunk)
        f.write('"}}')
    assert main(["import", str(big), "-o", str(tmp_path / "o")]) == 2
    assert "SP006" in capsys.readouterr().err or True
    rc = main(["validate", "--format", "concise", str(big)])
    out = capsys.readouterr()
    assert rc == 1 and "SP006" in out.out, out


def test_spec_error_carries_all_diagnostics(tmp_path: Path) -> None:
    write(tmp_path, "batchspec: 1\npool:\n  id: '{{ a }}'\n  displayName: '{{ b }}'\n")
    with pytest.raises(SpecError) as info:
        load_project(tmp_path)
    assert len(info.value.diagnostics) == 2 and info.value.exit_code == 2


@pytest.mark.parametrize(
    "expr",
    [
        "{{ 'x' * 1000000000 }}",
        "{{ 2 ** 100000000 }}",
        "{{ range(10**9) | list | length }}",
        "{{ self.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'] }}",
    ],
)
def test_templates_cannot_allocate_or_escape(tmp_path: Path, expr: str) -> None:
    write(tmp_path, f'batchspec: 1\npool:\n  id: "{expr}"\n')
    codes = [c for c, *_ in errors_of(tmp_path)]
    assert codes and codes[0] in ("TM003", "TM004"), codes


def test_a_large_sweep_renders_every_task(tmp_path: Path) -> None:
    write(tmp_path, "batchspec: 1\n" + POOL + """
jobs:
  - id: j
    taskFactory:
      parametricSweep:
        parameters: {i: {start: 1, end: 5000}}
        task: {commandLine: "echo {{ i }}"}
""")
    tasks = load_project(tmp_path).jobs[0].tasks
    assert len(tasks) == 5000 and tasks[4999] == {"id": "task-04999", "commandLine": "echo 5000"}
    assert len({t["id"] for t in tasks}) == 5000


def test_bash_length_syntax_is_not_a_jinja_comment(tmp_path: Path) -> None:
    write(tmp_path, "batchspec: 1\n" + POOL.replace("  fixedScale", "  startTask:\n    script: |\n"
          "      arr=(a b)\n      echo \"${#arr[@]} {{ n }}\"\n  fixedScale") + "variables: {n: 3}\n")
    cmd = load_project(tmp_path).pool_body["properties"]["startTask"]["commandLine"]
    assert shlex.split(cmd)[2].endswith('echo "${#arr[@]} 3"')


def test_input_symlinked_outside_the_project_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    project = tmp_path / "p"
    (project / "data").mkdir(parents=True)
    (project / "data" / "a.txt").write_text("hello\n")
    (tmp_path / "secret.txt").write_text("secret\n")
    os.symlink(tmp_path / "secret.txt", project / "data" / "b.txt")
    write(project, "batchspec: 1\n" + POOL + "jobs:\n  - id: j\n    inputs:\n      - files: data/*.txt\n"
          "        container: inputs\n    tasks:\n      - {id: t, commandLine: echo}\n")
    assert main(["validate", "--format", "concise", str(project)]) == 1
    out = capsys.readouterr().out
    assert f"{project / 'batchspec.yaml'}:11:" in out and "SP010" in out and "secret" not in out
    assert main(["render", str(project)]) == 2
    assert "SP010" in capsys.readouterr().err


def test_non_utf8_spec_is_positioned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "p"
    project.mkdir()
    spec = project / "batchspec.yaml"
    spec.write_bytes("batchspec: 1\npool:\n  id: caf\xe9\n".encode("latin-1"))
    assert main(["validate", "--format", "concise", str(project)]) == 1
    assert capsys.readouterr().out.startswith(f"{spec}:3:10: error[FM008]")
    assert main(["render", str(project)]) == 2
    assert f"{spec}:3:10:" in capsys.readouterr().err


def test_deeply_nested_pool_json_named_explicitly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pool = tmp_path / "pool.json"
    pool.write_text('{"properties": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert main(["validate", "--format", "concise", str(pool)]) == 1
    assert capsys.readouterr().out.startswith(f"{pool}:1:80: error[SP005]")


def test_script_on_a_windows_pool_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "batchspec: 1\npool:\n  id: w\n  vmSize: Standard_D2s_v3\n"
          "  image: {publisher: MicrosoftWindowsServer, offer: WindowsServer, sku: 2022-datacenter}\n"
          "  fixedScale: {targetDedicatedNodes: 1}\n  startTask:\n    script: echo hi\n")
    assert ("SP018", 8, 5) in errors_of(tmp_path)
