"""Renderers: json validates against its schema, CI formats escape what they must, text handles tabs and long lines."""

from __future__ import annotations

import json
from importlib.resources import files

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from batchspec.diagnostics.codes import make
from batchspec.diagnostics.model import Pos, Related, Span
from batchspec.diagnostics.render import render, resolve_format, summary_line
from batchspec.formula import check_formula

SCHEMA = json.loads(files("batchspec.diagnostics.render").joinpath("output-v1.schema.json").read_text())


@settings(max_examples=100)
@given(st.text(max_size=60))
def test_json_output_always_matches_the_schema(text: str) -> None:
    _f, diagnostics = check_formula(text, "any.formula")
    doc = json.loads(render(diagnostics, "json", files_checked=1))
    jsonschema.validate(doc, SCHEMA)


def _diag(message: str, hint: str | None = None, path: str = "a,b:c.formula"):  # type: ignore[no-untyped-def]
    return make("FM101", Span(path, Pos(2, 3), Pos(2, 7)), message, hint=hint)


def test_github_escapes_data_and_properties() -> None:
    out = render([_diag("100% bad\nnext", hint="h")], "github", files_checked=1)
    assert out == (
        "::error file=a%2Cb%3Ac.formula,line=2,col=3,endLine=2,endColumn=7,title=FM101 undefined-variable::"
        "100%25 bad%0Anext%0Ahint: h\n"
    )


def test_azure_devops_escapes_data_and_properties() -> None:
    out = render([_diag("50% ]x;y\r\n", path="p;q].formula")], "azure-devops", files_checked=1)
    assert out == (
        "##vso[task.logissue type=error;sourcepath=p%3Bq%5D.formula;linenumber=2;columnnumber=3;code=FM101;]"
        "50%AZP25 ]x;y%0D%0A [undefined-variable]\n"
    )


def test_sarif_shape() -> None:
    d = make(
        "FM101",
        Span("a.formula", Pos(1, 5), Pos(1, 8)),
        'variable "y" is read before it is assigned',
        related=(Related(Span("a.formula", Pos(2, 1), Pos(2, 2)), "first assigned here"),),
    )
    doc = json.loads(render([d], "sarif", files_checked=1))
    run = doc["runs"][0]
    assert doc["version"] == "2.1.0" and run["columnKind"] == "unicodeCodePoints"
    assert run["tool"]["driver"]["rules"][0]["id"] == "FM101"
    result = run["results"][0]
    assert result["level"] == "error" and result["ruleIndex"] == 0
    assert result["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 1,
        "startColumn": 5,
        "endLine": 1,
        "endColumn": 8,
    }
    assert result["relatedLocations"][0]["message"]["text"] == "first assigned here"


def test_text_expands_tabs_and_windows_long_lines() -> None:
    source = "\t\tx = " + "a + " * 80 + "zz;\n"
    col = source.index("zz") + 1
    d = make("FM101", Span("t.formula", Pos(1, col), Pos(1, col + 2)), 'undefined variable "zz"')
    out = render([d], "text", files_checked=1, sources={"t.formula": source})
    lines = out.splitlines()
    code_line, caret_line = lines[2], lines[3]
    assert code_line.startswith("1 | …") and len(code_line) < 140
    caret_at = caret_line.index("^")
    assert code_line[caret_at : caret_at + 2] == "zz" and caret_line.endswith("^~")


def test_summary_and_auto_format() -> None:
    assert summary_line([], 3) == "no problems found in 3 files"
    assert resolve_format("auto", {"GITHUB_ACTIONS": "true"}) == "github"
    assert resolve_format("auto", {"TF_BUILD": "True"}) == "azure-devops"
    assert resolve_format("auto", {}) == "text"
    assert resolve_format("sarif", {"GITHUB_ACTIONS": "true"}) == "sarif"
