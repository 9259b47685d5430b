from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from batchspec.cli.main import main
from batchspec.spec.importer import import_pool
from batchspec.spec.loader import load_text
from batchspec.spec.shapes import detect_pool_shape, get
from batchspec.spec.validate import validate_document

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "pools"
FILES = sorted(p.name for p in CORPUS.glob("*.json"))
EXPECTED = yaml.safe_load((CORPUS / "expected-errors.yaml").read_text())


def test_corpus_is_not_empty() -> None:
    assert len(FILES) >= 10


@pytest.mark.parametrize("name", FILES)
def test_validates_without_false_errors(name: str) -> None:
    text = (CORPUS / name).read_text()
    errors = sorted(d.code for d in validate_document(name, text) if d.severity.name == "ERROR")
    assert errors == sorted(EXPECTED.get(name, [])), [
        (d.code, d.message) for d in validate_document(name, text) if d.severity.name == "ERROR"
    ]


def _without(body: dict, dropped: dict) -> dict:
    want = copy.deepcopy(body)
    for key in dropped:
        if key in want:
            want.pop(key)
            continue
        node = want
        parts = key.split(".")
        for part in parts[:-1]:
            node = node[part]
        node.pop(parts[-1], None)
    return want


def _data_plane_normalised(body: dict) -> dict:
    """The normalisations import reports for data-plane input (az CLI output): null members left out, durations
    printed as "0:15:00" written in ISO 8601, and nodeAgentSKUId spelled the data-plane way."""
    from batchspec.spec.durations import cli_duration_to_iso
    from batchspec.spec.shapes import strip_nulls

    out = strip_nulls(body)
    for k in ("autoScaleEvaluationInterval", "resizeTimeout"):
        if k in out:
            out[k] = cli_duration_to_iso(out[k]) or out[k]
    vm = out.get("virtualMachineConfiguration")
    if isinstance(vm, dict) and "nodeAgentSkuId" in vm:
        vm["nodeAgentSKUId"] = vm.pop("nodeAgentSkuId")
    return out


@pytest.mark.parametrize("name", FILES)
def test_import_then_render_gives_the_source_back(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = CORPUS / name
    doc = load_text(name, src.read_text())
    shape = detect_pool_shape(doc.data)
    assert shape is not None
    dropped = import_pool(doc, source_name=name).dropped
    assert main(["import", str(src), "-o", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    args = ["render", "--pool", str(tmp_path / "p")] + (["--plane", "data"] if shape.plane == "data" else [])
    assert main(args) == 0
    rendered = json.loads(capsys.readouterr().out)
    expected = _without(get(doc.data, shape.root), dropped)
    if shape.plane == "data":
        expected = _data_plane_normalised(expected)
    assert rendered == expected
    # and the imported spec is itself valid apart from the source's real problems
    diags = validate_document(
        str(tmp_path / "p" / "batchspec.yaml"), (tmp_path / "p" / "batchspec.yaml").read_text()
    )
    spec_errors = sorted(d.code for d in diags if d.severity.name == "ERROR")
    assert spec_errors == sorted(EXPECTED.get(name, [])), [(d.code, d.message) for d in diags]
