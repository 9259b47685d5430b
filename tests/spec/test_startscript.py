from __future__ import annotations

import json
import shlex

from hypothesis import example, given
from hypothesis import strategies as st

from batchspec.spec.render import render_command_line
from batchspec.spec.startscript import (
    ScriptOptions,
    compile_command,
    decompile,
    quote,
    script_body,
    shell_words,
)

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=200
)


@given(text, st.sampled_from(["single", "double"]), st.booleans())
@example('it\'s "quoted" \\ $HOME `x` \n next line\n', "single", True)
@example("a'b\"c\\d", "double", False)
@example("", "single", False)
def test_compiled_command_splits_back_exactly(script: str, style: str, strict: bool) -> None:
    opts = ScriptOptions(shell="/bin/bash", strict=strict, quote=style)
    cmd = compile_command(script, opts)
    assert shlex.split(cmd) == ["/bin/bash", "-c", script_body(script, opts)]


@given(text)
def test_decompile_inverts_compile(script: str) -> None:
    cmd = compile_command(script, ScriptOptions())
    got = decompile(cmd)
    assert got is not None
    s, opts = got
    assert compile_command(s, opts) == cmd


def test_strict_mode_is_the_default_and_can_be_turned_off() -> None:
    assert shlex.split(compile_command("apt-get update\n"))[2] == "set -euo pipefail\napt-get update"
    assert shlex.split(compile_command("true\n", ScriptOptions(strict=False)))[2] == "true"


def test_template_and_python_compiler_agree() -> None:
    body = script_body("echo 'hi'\n", ScriptOptions())
    assert render_command_line(shell_words("/bin/bash"), quote(body)) == compile_command("echo 'hi'\n")


def test_seed_command_line_decompiles_into_steps_and_back(seed_text: str) -> None:
    cmd = json.loads(seed_text)["properties"]["startTask"]["commandLine"]
    script, opts = decompile(cmd)
    assert opts.join_with == " && " and opts.quote == "double" and not opts.strict
    assert script.splitlines()[0] == "echo 'Set Python 3.10'"
    assert "echo 'export PATH=\"$PATH:/opt/mssql-tools/bin\"' >> ~/.bashrc" in script.splitlines()
    assert compile_command(script, opts) == cmd


def test_not_a_shell_call_is_not_decompiled() -> None:
    assert decompile("python3 run.py --fast") is None
    assert decompile("/bin/bash -c 'unterminated") is None


@given(text, st.sampled_from(["single", "double"]))
def test_offsets_point_at_the_source_characters(script: str, style: str) -> None:
    from batchspec.spec.startscript import split_command_with_offsets

    cmd = compile_command(script, ScriptOptions(strict=False, quote=style))
    got = split_command_with_offsets(cmd)
    assert got is not None
    shell, body, offs = got
    assert body == script_body(script, ScriptOptions(strict=False, quote=style))
    assert len(offs) == len(body) + 1
    for ch, off in zip(body, offs):
        assert cmd[off] == ch
