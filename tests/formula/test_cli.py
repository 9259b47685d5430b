"""``batchspec validate`` and ``batchspec fmt`` as users run them (in-process through main, and one subprocess)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchspec.cli.main import main

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "formulas"
THREE = Path(__file__).resolve().parent / "golden" / "formats" / "three.formula"


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_clean_file_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ok.formula"
    f.write_text("$TargetDedicatedNodes = 1;\n")
    assert main(["validate", str(f), "--format", "text"]) == 0
    assert capsys.readouterr().out == "no problems found in 1 file\n"


def test_findings_exit_1_and_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(THREE), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"version", "diagnostics", "summary"}
    assert doc["version"] == 1
    assert doc["summary"] == {"files": 1, "error": 3, "warning": 0, "info": 0}
    first = doc["diagnostics"][0]
    assert set(first) == {"code", "name", "severity", "message", "hint", "path", "start", "end", "related"}
    assert first["start"] == {"line": 2, "column": 12} and first["end"] == {"line": 2, "column": 24}
    assert first["severity"] == "error" and first["name"] == "undefined-variable"


def test_several_paths_give_one_json_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.formula").write_text("x = ;\n")
    sub = tmp_path / "pools" / "gpu"
    sub.mkdir(parents=True)
    (sub / "b.formula").write_text("$TargetDedicatedNodes = y;\n")
    (sub / "notes.txt").write_text("not a formula")
    assert main(["validate", str(tmp_path / "a.formula"), str(tmp_path / "pools"), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["files"] == 2
    assert [d["code"] for d in doc["diagnostics"]] == ["FM001", "FM101"]
    assert doc["diagnostics"][1]["path"].endswith("pools/gpu/b.formula")


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _stdin(monkeypatch, b"$TargetDedicatedNodes = $CurrentDedicated\n")
    assert main(["validate", "-", "--format", "concise"]) == 0
    _stdin(monkeypatch, b"$TargetDedicatedNodes = foo;\n")
    assert main(["validate", "-", "--format", "concise"]) == 1
    assert capsys.readouterr().out.endswith('-:1:25: error[FM101] undefined variable "foo"\n')


def test_missing_path_exits_2_and_still_checks_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok = tmp_path / "ok.formula"
    ok.write_text("x = 1;")
    assert main(["validate", str(tmp_path / "nope.formula"), str(ok), "--format", "concise"]) == 2
    captured = capsys.readouterr()
    assert 'cannot read "' in captured.err and "nope.formula" in captured.err
    assert "Traceback" not in captured.err


def test_text_summary_never_says_clean_when_a_path_was_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nope.formula")
    assert main(["validate", missing, "--format", "text"]) == 2
    assert capsys.readouterr().out == "nothing checked: 1 path could not be read\n"
    ok = tmp_path / "ok.formula"
    ok.write_text("$TargetDedicatedNodes = 1;")
    assert main(["validate", missing, str(ok), "--format", "text"]) == 2
    assert capsys.readouterr().out == "1 path could not be read; no problems found in the 1 file checked\n"
    bad = tmp_path / "bad.formula"
    bad.write_text("$TargetDedicatedNodes = foo;")
    assert main(["validate", missing, str(bad), "--format", "text"]) == 2
    assert capsys.readouterr().out.endswith("found 1 error in 1 file; 1 path could not be read\n")


def test_non_utf8_is_a_positioned_diagnostic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "latin1.formula"
    f.write_bytes("x = 1;\n// caf\xe9 note\n".encode("latin-1"))
    assert main(["validate", str(f), "--format", "concise"]) == 1
    out = capsys.readouterr().out
    assert out.endswith(
        "latin1.formula:2:7: error[FM008] file is not valid UTF-8: byte 0xe9 cannot be decoded\n"
    )


def test_utf16_file_is_named_as_such(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "windows.formula"
    f.write_bytes("$TargetDedicatedNodes = 1;\r\n".encode("utf-16"))  # with its BOM, as Windows tools write it
    assert main(["validate", str(f), "--format", "concise"]) == 1
    assert capsys.readouterr().out.endswith(
        "windows.formula:1:1: error[FM008] file is UTF-16 text; batchspec reads UTF-8\n"
    )


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "FM007"),
        (b"   \n\n// nothing here\n", "FM007"),
        (bytes(range(256)) * 8, "FM008"),
        (b"\x00\x01\x02garbage\x7f", "FM004"),
        (b"x = (1 + 2;\n", "FM003"),
        (b"x = 1 ?\n", "FM001"),
        (b"?", "FM006"),
    ],
    ids=[
        "empty",
        "only-comment",
        "binary-junk",
        "control-chars",
        "unbalanced",
        "open-ternary",
        "lone-question",
    ],
)
def test_bad_input_is_a_diagnostic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, code: str
) -> None:
    f = tmp_path / "bad.formula"
    f.write_bytes(content)
    assert main(["validate", str(f), "--format", "json"]) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["diagnostics"][0]["code"] == code
    assert doc["diagnostics"][0]["start"]["line"] >= 1
    assert captured.err == ""


def test_ten_megabyte_file_is_rejected_quickly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "huge.formula"
    f.write_bytes(b"$TargetDedicatedNodes = 1; // padding padding padding padding\n" * 170_000)
    t0 = time.perf_counter()
    assert main(["validate", str(f), "--format", "concise"]) == 1
    assert time.perf_counter() - t0 < 5  # guards against a hang, not a benchmark
    assert "error[FM301] formula has" in capsys.readouterr().out


def test_fail_on_and_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "wide.formula"
    # under 8192 characters but over 8192 bytes in UTF-8: a warning (FM303)
    f.write_text("$TargetDedicatedNodes = 1;\n// " + "é" * 5000 + "\n", encoding="utf-8")
    assert main(["validate", str(f), "--format", "concise"]) == 0
    assert "warning[FM303]" in capsys.readouterr().out
    assert main(["validate", str(f), "--format", "concise", "--strict"]) == 1
    assert main(["validate", str(f), "--format", "concise", "--fail-on", "warning"]) == 1
    assert main(["validate", str(f), "--format", "concise", "--fail-on", "info"]) == 1


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "x.formula", "--format", "xml"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_auto_format_follows_ci_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("TF_BUILD", raising=False)
    main(["validate", str(THREE)])
    assert capsys.readouterr().out.startswith("::error file=")
    monkeypatch.delenv("GITHUB_ACTIONS")
    monkeypatch.setenv("TF_BUILD", "True")
    main(["validate", str(THREE)])
    assert capsys.readouterr().out.startswith("##vso[task.logissue type=error;")


def test_seed_formula_is_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed = CORPUS / "seed__seed-pool.formula"
    assert main(["validate", str(seed), "--format", "concise"]) == 0


def test_validate_imports_no_azure_module(tmp_path: Path) -> None:
    f = tmp_path / "x.formula"
    f.write_text("$TargetDedicatedNodes = 1;\n")
    code = (
        "import sys\n"
        "from batchspec.cli.main import main\n"
        f"rc = main(['validate', {str(f)!r}, '--format', 'json'])\n"
        "bad = sorted(m for m in sys.modules if m == 'azure' or m.startswith('azure.'))\n"
        "print('AZURE', bad, file=sys.stderr)\n"
        "raise SystemExit(rc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "AZURE []" in proc.stderr


# ---------------------------------------------------------------------------------------------------- fmt


def test_fmt_check_diff_and_rewrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.formula"
    f.write_bytes(b"x=1;y = max(x,2);//c\r\n$TargetDedicatedNodes=y;\r\n")
    original = f.read_bytes()
    assert main(["fmt", "--check", str(f)]) == 1
    assert "would reformat" in capsys.readouterr().err
    assert main(["fmt", "--diff", str(f)]) == 0
    assert "+y = max(x, 2); //c" in capsys.readouterr().out
    assert f.read_bytes() == original
    assert main(["fmt", str(f)]) == 0
    assert f.read_bytes() == b"x = 1;\r\ny = max(x, 2); //c\r\n$TargetDedicatedNodes = y;\r\n"
    assert main(["fmt", "--check", str(f)]) == 0


def test_fmt_refuses_syntax_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.formula"
    f.write_text("x = 1\ny = 2;\n")
    assert main(["fmt", str(f)]) == 2
    assert "error[FM002]" in capsys.readouterr().err
    assert f.read_text() == "x = 1\ny = 2;\n"
    err = capsys.readouterr().err if main(["fmt", str(f)]) == 2 else ""
    # says that it refused and why, once; no "found 1 error in 1 file" line per file
    assert err.endswith(f"batchspec: error: {f} was not formatted: fix the error above first (the file is unchanged)\n")
    assert "found 1 error" not in err and err.count("error[FM002]") == 1


def test_fmt_on_a_folder_sums_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.formula").write_text("$TargetDedicatedNodes=1;")
    (tmp_path / "b.formula").write_text("$TargetDedicatedNodes = 1;\n")
    (tmp_path / "c.formula").write_text("$TargetDedicatedNodes = (1;\n")
    (tmp_path / "d.formula").write_bytes(b"\xff\xfe\x00junk")
    assert main(["fmt", "--check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"batchspec: error: {tmp_path / 'd.formula'} was not formatted: it is not UTF-8 text\n" in err
    assert err.endswith(
        "batchspec: 1 file would be reformatted, 1 file already formatted, 2 files not formatted (see the errors above)\n"
    )
    assert main(["fmt", str(tmp_path / "a.formula"), str(tmp_path / "b.formula")]) == 0
    assert capsys.readouterr().err.endswith("batchspec: 1 file reformatted, 1 file already formatted\n")


def test_fmt_stdin_with_a_syntax_error_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, b"$x = (1;\n")
    assert main(["fmt", "-"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.endswith(
        "batchspec: error: the text read from stdin was not formatted: fix the error above first "
        "(nothing written to stdout)\n"
    )


def test_fmt_stdin_to_stdout(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _stdin(monkeypatch, b"  $TargetDedicatedNodes=(time().weekday==1?5:1)")
    assert main(["fmt", "-"]) == 0
    assert capsys.readouterr().out == "$TargetDedicatedNodes = (time().weekday == 1 ? 5 : 1);\n"


def test_clean_validate_does_not_import_lark(tmp_path: Path) -> None:
    """Well-formed formulas never need the Lark parser (it is loaded only to explain syntax errors)."""
    f = tmp_path / "x.formula"
    f.write_text("$TargetDedicatedNodes = max(0, $ActiveTasks.GetSample(1));\n")
    code = (
        "import sys\n"
        "from batchspec.formula import check_formula\n"
        f"check_formula(open({str(f)!r}).read())\n"
        "print(sorted(m for m in sys.modules if m == 'lark' or m.startswith('lark.')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_stdin_filename_names_stdin_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, b"$TargetDedicatedNodes = foo;\n")
    assert main(["validate", "-", "--stdin-filename", "pools/gpu.formula", "--format", "concise"]) == 1
    assert 'pools/gpu.formula:1:25: error[FM101] undefined variable "foo"' in capsys.readouterr().out
    assert main(["validate", "x.formula", "--stdin-filename", "a.formula"]) == 2
    assert '--stdin-filename names the text read from "-"' in capsys.readouterr().err


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_any_bytes_give_json_and_exit_0_or_1(capsys: pytest.CaptureFixture[str], data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "fuzz.formula"
        f.write_bytes(data)
        rc = main(["validate", str(f), "--format", "json"])
    captured = capsys.readouterr()
    assert rc in (0, 1), captured.err
    assert "Traceback" not in captured.err and "internal error" not in captured.err
    doc = json.loads(captured.out)
    assert doc["summary"]["files"] == 1


def test_fmt_splits_a_long_conditional_and_stays_stable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "long.formula"
    f.write_text(
        "$tasks = $samples < 70 ? max(0,$PendingTasks.GetSample(1)) : max( $PendingTasks.GetSample(1), "
        "avg($PendingTasks.GetSample(TimeInterval_Minute * 15)));"
    )
    assert main(["fmt", str(f)]) == 0
    assert f.read_text() == (
        "$tasks = $samples < 70\n"
        "    ? max(0, $PendingTasks.GetSample(1))\n"
        "    : max($PendingTasks.GetSample(1), avg($PendingTasks.GetSample(TimeInterval_Minute * 15)));\n"
    )
    assert main(["fmt", "--check", str(f)]) == 0


def test_directory_without_formulas_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["validate", str(tmp_path), "--format", "concise"]) == 0
    assert "no .formula file or batchspec spec found" in capsys.readouterr().err


def test_fmt_on_a_folder_without_formulas_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pool.json").write_text("{}")
    assert main(["fmt", "--check", str(tmp_path)]) == 0
    assert capsys.readouterr().err == f'batchspec: note: no .formula file found in "{tmp_path}"\n'


def test_fmt_splits_a_long_call_one_argument_per_line(tmp_path: Path) -> None:
    f = tmp_path / "long.formula"
    f.write_text(
        "$TargetDedicatedNodes = min(maxNumberofVMs, max(startingNumberOfVMs, "
        "avg($PendingTasks.GetSample(TimeInterval_Minute * 15)) + avg($ActiveTasks.GetSample(TimeInterval_Minute * 15)) / 2)); // cap\n"
    )
    assert main(["fmt", str(f)]) == 0
    assert f.read_text() == (
        "$TargetDedicatedNodes = min(\n"
        "    maxNumberofVMs,\n"
        "    max(\n"
        "        startingNumberOfVMs,\n"
        "        avg($PendingTasks.GetSample(TimeInterval_Minute * 15)) + avg($ActiveTasks.GetSample(TimeInterval_Minute * 15)) / 2\n"
        "    )\n"
        "); // cap\n"
    )
    assert main(["fmt", "--check", str(f)]) == 0
