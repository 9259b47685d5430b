from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchspec.cli.main import main

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "pools"


def _strip_read_only(body: dict) -> dict:
    from batchspec.spec.importer import READ_ONLY_PROPERTIES, READ_ONLY_TOP

    out = {k: v for k, v in body.items() if k not in READ_ONLY_TOP}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: v for k, v in out["properties"].items() if k not in READ_ONLY_PROPERTIES}
    return out


def test_seed_import_then_render_gives_the_seed_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = CORPUS / "seed-pool.json"
    assert main(["import", str(src), "-o", str(tmp_path / "p")]) == 0
    err = capsys.readouterr().err
    assert "nodeAgentSKUId" in err  # kept and reported
    spec = (tmp_path / "p" / "batchspec.yaml").read_text()
    assert "id: seed-pool" in spec and "formulaFile: autoscale.formula" in spec
    assert (tmp_path / "p" / "autoscale.formula").read_text().startswith("samples = $PendingTasks")
    assert main(["render", "--pool", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == json.loads(src.read_text())


def test_import_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = CORPUS / "seed-pool.json"
    assert main(["import", str(src), "-o", str(tmp_path)]) == 0
    assert main(["import", str(src), "-o", str(tmp_path)]) == 2
    assert "would overwrite" in capsys.readouterr().err
    assert main(["import", str(src), "-o", str(tmp_path), "--force"]) == 0


def test_import_of_garbage_is_a_positioned_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"properties": {"vmSize": "x",,}}')
    assert main(["import", str(bad), "-o", str(tmp_path / "o")]) == 2
    assert "bad.json:1:31" in capsys.readouterr().err
    notpool = tmp_path / "np.json"
    notpool.write_text('{"a": 1}')
    assert main(["import", str(notpool), "-o", str(tmp_path / "o")]) == 2
    assert "not a pool definition" in capsys.readouterr().err


def test_render_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(CORPUS / "seed-pool.json"), "-o", str(tmp_path / "p")]) == 0
    assert main(["render", str(tmp_path / "p"), "-o", str(tmp_path / "out")]) == 0
    assert json.loads((tmp_path / "out" / "pool.json").read_text()) == json.loads(
        (CORPUS / "seed-pool.json").read_text()
    )


def test_source_text_that_looks_like_jinja_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = {"properties": {"vmSize": "Standard_D2s_v3",
                           "metadata": [{"name": "note", "value": "uses {{ mustache }} and {% tags %} {% endraw %}"}],
                           "startTask": {"commandLine": 'cmd /c "echo {{x}}"'},
                           "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 1}}}}
    src = tmp_path / "pool.json"
    src.write_text(json.dumps(body))
    assert main(["import", str(src), "-o", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    assert main(["render", "--pool", str(tmp_path / "p")]) == 0
    assert json.loads(capsys.readouterr().out) == body


def test_the_committed_seed_example_is_what_import_writes_today(tmp_path: Path) -> None:
    """examples/seed-pool is shown in the README: it must not drift from what `batchspec import` produces."""
    example = Path(__file__).resolve().parents[2] / "examples" / "seed-pool"
    assert main(["import", str(CORPUS / "seed-pool.json"), "-o", str(tmp_path / "p")]) == 0
    for name in ("batchspec.yaml", "autoscale.formula", "start-task.sh"):
        written = (tmp_path / "p" / name).read_text(encoding="utf-8")
        committed = (example / name).read_text(encoding="utf-8")
        assert written == committed, name


def test_a_data_plane_import_says_how_to_get_the_source_back(tmp_path: Path) -> None:
    assert main(["import", str(CORPUS / "cli-data-plane-create.json"), "-o", str(tmp_path / "p")]) == 0
    head = (tmp_path / "p" / "batchspec.yaml").read_text(encoding="utf-8").splitlines()[1]
    assert "`batchspec render --pool --plane data`" in head


def test_import_notes_say_why_a_plain_value_stays_verbatim(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(CORPUS / "arm-template-expressions.json"), "-o", str(tmp_path / "p")]) == 0
    err = capsys.readouterr().err
    assert '"scaleSettings.autoScale.evaluationInterval" verbatim under pool.properties (kept with "formula", an ARM' in err
    assert "not modelled by the spec" not in err


def test_import_help_names_the_shapes_and_the_data_plane_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "usage: batchspec import [-h] -o DIR [--force] POOL" in out
    assert "az batch pool show" in out and "--plane data" in out
