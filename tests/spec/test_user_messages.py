"""Messages a user meets while writing a spec by hand: one finding per mistake, at the exact place, with a hint
that says what to write instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchspec.spec.durations import suggest_duration
from batchspec.spec.validate import validate_document

POOL_HEAD = """batchspec: 1
variables:
  maxNodes: 3
pool:
  id: p1
  vmSize: Standard_D2s_v3
  image: {publisher: canonical, offer: 0001-com-ubuntu-server-jammy, sku: 22_04-lts, version: latest}
"""


def check(tmp_path: Path, text: str) -> list:
    path = tmp_path / "batchspec.yaml"
    path.write_text(text, encoding="utf-8")
    return validate_document(str(path), text)


def at(text: str, d) -> str:
    line = text.split("\n")[d.span.start.line - 1]
    return line[d.span.start.col - 1 : d.span.end.col - 1]


@pytest.mark.parametrize(
    ("written", "iso"),
    [("15m", "PT15M"), ("1h 30min", "PT1H30M"), ("0:15:00", "PT15M"), ("pt5m", "PT5M"), ("2 days", "P2D"),
     ("10s", "PT10S"), ("300", None), ("PT5M", None), ("soon", None)],
)
def test_suggest_duration(written: str, iso: str | None) -> None:
    assert suggest_duration(written) == iso


def test_a_shorthand_duration_is_one_error_with_the_iso_spelling(tmp_path: Path) -> None:
    text = POOL_HEAD + "  autoScale:\n    formula: \"$TargetDedicatedNodes = 1;\"\n    evaluationInterval: 5m\n"
    diags = check(tmp_path, text)
    assert [(d.code, d.span.start.line, d.span.start.col) for d in diags] == [("SP101", 10, 25)]
    assert diags[0].message.startswith('"5m" is not an ISO 8601 duration')
    assert "pattern" not in diags[0].message  # no regex thrown at the user
    assert diags[0].hint == 'write "PT5M"'


def test_resize_timeout_shorthand_gets_the_same_help(tmp_path: Path) -> None:
    text = POOL_HEAD + "  fixedScale: {targetDedicatedNodes: 1, resizeTimeout: 15m}\n"
    (d,) = check(tmp_path, text)
    assert (d.code, at(text, d), d.hint) == ("SP101", "15m", 'write "PT15M"')


def test_interval_out_of_range_says_what_is_allowed(tmp_path: Path) -> None:
    text = POOL_HEAD + "  autoScale:\n    formula: \"$TargetDedicatedNodes = 1;\"\n    evaluationInterval: PT2M\n"
    (d,) = check(tmp_path, text)
    assert d.code == "SP104" and "PT5M" in (d.hint or "") and "PT168H" in (d.hint or "")


def test_a_swept_value_with_a_dot_gives_a_readable_task_id_error(tmp_path: Path) -> None:
    text = POOL_HEAD + (
        "  fixedScale: {targetDedicatedNodes: 1}\n"
        "jobs:\n"
        "  - id: sweep\n"
        "    taskFactory:\n"
        "      parametricSweep:\n"
        "        parameters: {lr: ['0.1', '0.01']}\n"
        "        task: {id: 'train-{{ lr }}', commandLine: 'python3 train.py'}\n"
    )
    (d,) = check(tmp_path, text)
    assert d.code == "SP106"
    assert d.message == 'task "train-0.1" is not a valid id'
    assert 'e.g. "train-0_1"' in (d.hint or "")
    assert at(text, d) == "'train-{{ lr }}'"


def test_the_documented_sweep_example_renders_valid_task_ids(tmp_path: Path) -> None:
    text = POOL_HEAD + (
        "  fixedScale: {targetDedicatedNodes: 1}\n"
        "jobs:\n"
        "  - id: sweep\n"
        "    taskFactory:\n"
        "      parametricSweep:\n"
        "        parameters: {seed: {start: 1, end: 3}, lr: [\"0.1\", \"0.01\"]}\n"
        "        task: {id: \"train-{{ seed }}-{{ lr | replace('.', '_') }}\", script: \"python3 train.py --lr {{ lr }}\"}\n"
    )
    assert check(tmp_path, text) == []
    doc = (Path(__file__).resolve().parents[2] / "docs" / "spec.md").read_text(encoding="utf-8")
    assert "id: \"train-{{ seed }}-{{ lr | replace('.', '_') }}\"" in doc


def test_undefined_template_variable_points_at_its_use_inside_a_block(tmp_path: Path) -> None:
    text = POOL_HEAD + (
        "  autoScale:\n"
        "    evaluationInterval: PT5M\n"
        "    formula: |\n"
        "      // cap the pool\n"
        "      $TargetDedicatedNodes = min({{ maxnodes }}, 2);\n"
    )
    (d,) = check(tmp_path, text)
    assert (d.code, d.span.start.line, at(text, d)) == ("TM002", 12, "maxnodes")
    assert (d.hint or "").startswith('did you mean "maxNodes"?')


def test_undefined_template_variable_without_a_close_name(tmp_path: Path) -> None:
    text = POOL_HEAD.replace("Standard_D2s_v3", '"{{ size }}"') + "  fixedScale: {targetDedicatedNodes: 1}\n"
    (d,) = check(tmp_path, text)
    assert (d.code, at(text, d)) == ("TM002", '"{{ size }}"')
    assert "define it under variables:" in (d.hint or "") and "maxNodes" in (d.hint or "")


JOB_HEAD = POOL_HEAD + "  fixedScale: {targetDedicatedNodes: 1}\njobs:\n  - id: j\n    tasks:\n"


def test_duplicate_task_id_points_at_the_second_task_and_names_the_first(tmp_path: Path) -> None:
    text = JOB_HEAD + "      - {id: a, commandLine: echo a}\n      - {id: b, commandLine: echo b}\n      - {id: A, commandLine: echo c}\n"
    (d,) = check(tmp_path, text)
    assert (d.code, d.span.start.line, at(text, d)) == ("SP017", 14, "A")
    assert [(r.message, r.span.start.line) for r in d.related] == [("first used here", 12)]


def test_a_dependency_on_a_missing_task_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    text = JOB_HEAD + (
        "      - {id: prepare, commandLine: echo a}\n"
        "      - {id: train, commandLine: echo b, dependsOn: {taskIds: [prepare, prepair]}}\n"
    )
    (d,) = check(tmp_path, text)
    assert (d.code, d.span.start.line, at(text, d)) == ("SP019", 13, "prepair")
    assert d.message == 'task "train" depends on "prepair", which is not a task of job "j"; it would never run'
    assert d.hint == 'did you mean "prepare"?'


def test_dependencies_between_swept_tasks_are_known(tmp_path: Path) -> None:
    text = JOB_HEAD + (
        "      - {id: prepare, commandLine: echo a}\n"
        "    taskFactory:\n"
        "      parametricSweep:\n"
        "        parameters: {n: {start: 1, end: 2}}\n"
        "        task: {id: 'run-{{ n }}', commandLine: echo, dependsOn: {taskIds: [prepare]}}\n"
    )
    assert check(tmp_path, text) == []


def test_depends_on_written_as_a_list_gets_the_rest_shape_as_hint(tmp_path: Path) -> None:
    text = JOB_HEAD + "      - {id: a, commandLine: echo a}\n      - {id: b, commandLine: echo b, dependsOn: [a]}\n"
    (d,) = check(tmp_path, text)
    assert d.code == "SP100" and at(text, d) == "[a]"
    assert d.hint == "write dependsOn: {taskIds: [a]} (or taskIdRanges: [{start: 1, end: 10}])"


@pytest.mark.parametrize(
    ("text", "where", "message", "hint"),
    [
        ('batchspec: 1\npool:\n  id: "p1\n  vmSize: x\n', (3, 7), 'the string opened with " here is never closed',
         'add the closing "'),
        ("batchspec: 1\npool: {id: p1\nx: 2\n", (3, 2),
         'expected "," or "}": the "{" opened on line 2, column 7 is not closed', None),
        ('batchspec: 1\na: "C:\\q"\n', (2, 7), "found unknown escape character", None),
        ("batchspec: 1\na: b: c\n", (2, 5), "mapping values are not allowed in this context", None),
    ],
)
def test_yaml_syntax_errors_point_at_the_cause(
    tmp_path: Path, text: str, where: tuple[int, int], message: str, hint: str | None
) -> None:
    (d,) = check(tmp_path, text)
    assert (d.code, (d.span.start.line, d.span.start.col), d.message) == ("SP001", where, message)
    assert d.hint
    if hint:
        assert d.hint == hint


@pytest.mark.parametrize("text", ['pool:\n  id: "p1\n', "pool: {id: p1}\n", ""])
def test_a_file_named_batchspec_yaml_is_never_skipped(tmp_path: Path, text: str) -> None:
    from batchspec.spec.validate import is_batchspec_document

    path = tmp_path / "batchspec.yaml"
    assert is_batchspec_document(str(path), text)
    diags = check(tmp_path, text)
    assert [d.code for d in diags] in (["SP001"], ["SP020"])
    assert not is_batchspec_document(str(tmp_path / "docker-compose.yaml"), text)


SUPPRESSED = POOL_HEAD + (
    "  taskSlotsPerNode: 64   # batchspec: ignore[SP203]\n"
    "  fixedScale: {targetDedicatedNodes: 1}\n"
    "  startTask:\n"
    "    script: |\n"
    "      apt-get install curl  # batchspec: ignore[apt-without-yes]\n"
    "      pip install requests  # batchspec: ignore[SP210, unpinned-pip-install]\n"
    "      pip install numpy==1.26.4  # pinned: see requirements.txt\n"
)


def test_a_comment_after_pip_install_is_not_a_package(tmp_path: Path) -> None:
    diags = check(tmp_path, SUPPRESSED)
    assert not [d for d in diags if d.code == "SP213"]  # "#", "pinned:", "see" ... were reported as packages


def test_a_spec_suppression_that_silences_nothing_is_reported_at_its_key(tmp_path: Path) -> None:
    diags = check(tmp_path, SUPPRESSED)
    assert [(d.code, d.span.start.line, at(SUPPRESSED, d)) for d in diags] == [("BS003", 13, "SP210")]
    assert diags[0].message == 'suppression of "SP210" suppresses nothing on this line'


def test_unused_spec_suppressions_obey_ignore(tmp_path: Path) -> None:
    from batchspec.lint.config import LintConfig

    path = tmp_path / "batchspec.yaml"
    path.write_text(SUPPRESSED, encoding="utf-8")
    assert validate_document(str(path), SUPPRESSED, LintConfig(ignore=("BS003",))) == []


def test_a_spec_without_a_pool_is_an_error_not_a_clean_pass(tmp_path: Path) -> None:
    text = "batchspec: 1\njobs:\n  - id: j\n    tasks: [{commandLine: echo}]\n"
    (d,) = check(tmp_path, text)
    assert (d.code, d.span.start.line) == ("SP014", 1)
    assert 'no "pool"' in d.message


def test_a_pool_without_vm_size_is_an_error_at_the_pool_key(tmp_path: Path) -> None:
    text = POOL_HEAD.replace("  vmSize: Standard_D2s_v3\n", "") + "  fixedScale: {targetDedicatedNodes: 1}\n"
    (d,) = check(tmp_path, text)
    assert (d.code, at(text, d)) == ("SP014", "pool")
    assert d.message == 'the pool needs a "vmSize" to be created'


def test_vm_size_from_an_environment_overlay_counts_there(tmp_path: Path) -> None:
    text = POOL_HEAD + "  fixedScale: {targetDedicatedNodes: 1}\nenvironments:\n  prod:\n    pool: {vmSize: Standard_D4s_v3}\n"
    assert check(tmp_path, text) == []


J2_SPEC = POOL_HEAD + (
    "  autoScale:\n"
    "    evaluationInterval: PT5M\n"
    "    formulaFile: autoscale.formula.j2\n"
    "  startTask:\n"
    "    scriptFile: setup.sh.j2\n"
)


def test_template_errors_in_an_included_j2_file_point_into_that_file(tmp_path: Path) -> None:
    (tmp_path / "autoscale.formula.j2").write_text(
        "// cap\n$TargetDedicatedNodes = min({{ maxnodes }}, 2);\n", encoding="utf-8"
    )
    (tmp_path / "setup.sh.j2").write_text("echo start\necho {{ greeting }\n", encoding="utf-8")
    diags = check(tmp_path, J2_SPEC)
    got = sorted((d.code, d.span.path.rsplit("/", 1)[-1], d.span.start.line, d.span.start.col) for d in diags)
    assert got == [("TM001", "setup.sh.j2", 2, 1), ("TM002", "autoscale.formula.j2", 2, 32)]
    tm002 = next(d for d in diags if d.code == "TM002")
    assert tm002.message == 'undefined template variable "maxnodes"'
    assert [r.message for r in tm002.related] == ["formula file included here"]
    assert tm002.related[0].span.start.line == 10


def test_formula_findings_in_a_rendered_j2_file_are_exact_on_unchanged_lines(tmp_path: Path) -> None:
    (tmp_path / "autoscale.formula.j2").write_text(
        "$TargetDedicatedNodes = min({{ maxNodes }}, max(0, $PendingTask.GetSample(1)));\n"
        "$x = $PendingTsks.GetSample(1);\n"
        "$NodeDeallocationOption = taskcompletion;\n",
        encoding="utf-8",
    )
    (tmp_path / "setup.sh.j2").write_text("echo hi\n", encoding="utf-8")
    found = {(d.code, d.span.start.line): d for d in check(tmp_path, J2_SPEC)}
    changed = found[("FM101", 1)]
    assert (changed.span.start.col, changed.span.end.col) == (1, 80)  # the whole line as written (79 chars)
    assert "the finding is at column 39 once rendered" in (changed.hint or "")
    unchanged = found[("FM101", 2)]
    assert unchanged.span.start.col == 6 and "rendered" not in (unchanged.hint or "")


def test_secrets_are_pointed_at_exactly_in_scripts_and_environment(tmp_path: Path) -> None:
    text = POOL_HEAD + (
        "  fixedScale: {targetDedicatedNodes: 1}\n"
        "  startTask:\n"
        "    script: |\n"
        "      echo start\n"
        '      curl -o x "https://a.blob.core.windows.net/c/x?sv=2022-11-02&sp=r&sig=abcdEFGH1234abcdEFGH1234abcd%3D"\n'
        "    environment:\n"
        "      MODE: fast\n"
        '      STORAGE: "AccountName=acct;AccountKey=bXlrZXlteWtleW15a2V5bXlrZXlteWtleW15a2V5bXlrZXk="\n'
    )
    found = sorted((d.span.start.line, at(text, d)[:8]) for d in check(tmp_path, text) if d.code == "SP205")
    assert found == [(12, "&sig=abc"), (15, "AccountK")]


def test_secrets_in_jobs_and_tasks_are_found_too(tmp_path: Path) -> None:
    text = POOL_HEAD + (
        "  fixedScale: {targetDedicatedNodes: 1}\n"
        "jobs:\n"
        "  - id: j\n"
        "    environment:\n"
        "      MODE: fast\n"
        '      STORAGE: "AccountName=acct;AccountKey=bXlrZXlteWtleW15a2V5bXlrZXlteWtleW15a2V5bXlrZXk="\n'
        "    taskFactory:\n"
        "      parametricSweep:\n"
        "        parameters: {n: {start: 1, end: 3}}\n"
        "        task: {id: 't-{{ n }}', commandLine: echo, environment: {DB_PASSWORD: hunter2}}\n"
    )
    found = [(d.code, d.span.start.line, at(text, d)[:10]) for d in check(tmp_path, text)]
    # the template's three tasks give one finding, at the template
    assert found == [("SP205", 13, "AccountKey"), ("SP205", 17, "hunter2")]
    assert "a managed identity" in (check(tmp_path, text)[0].hint or "")


def test_a_variable_only_an_environment_defines_says_so(tmp_path: Path) -> None:
    text = POOL_HEAD + (
        "  fixedScale: {targetDedicatedNodes: 1}\n"
        "  displayName: '{{ label }}'\n"
        "environments:\n"
        "  prod:\n"
        "    variables: {label: production}\n"
        "  dev:\n"
        "    variables: {other: 1}\n"
    )
    found = [(d.code, d.message, d.hint) for d in check(tmp_path, text)]
    hint = "defined only in environments.prod.variables; give it a default under variables: for the others"
    assert found == [("TM002", 'undefined template variable "label"', hint)]  # dev repeats it: reported once


PER_FILE = POOL_HEAD + (
    "  fixedScale: {targetDedicatedNodes: 1}\n"
    "jobs:\n"
    "  - id: convert\n"
    "    inputs:\n"
    "      - {files: data/*.csv, container: inputs}\n"
    "    taskFactory:\n"
    "      perFile:\n"
    "        container: inputs\n"
    "        task: {script: \"convert {{ file.name }}\"}\n"
)


def _project(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("1\n", encoding="utf-8")


def test_per_file_job_is_clean(tmp_path: Path) -> None:
    _project(tmp_path)
    assert check(tmp_path, PER_FILE) == []


def test_an_input_glob_that_matches_nothing_lists_the_folder(tmp_path: Path) -> None:
    _project(tmp_path)
    (d,) = check(tmp_path, PER_FILE.replace("data/*.csv", "data/*.cvs"))
    assert (d.code, d.hint) == ("SP011", "data/ holds a.csv")
    (d,) = check(tmp_path, PER_FILE.replace("data/*.csv", "dta/*.csv"))
    assert d.hint == 'there is no folder "dta" in the project'


def test_a_per_file_container_that_gets_no_input_is_an_error(tmp_path: Path) -> None:
    _project(tmp_path)
    text = PER_FILE.replace("        container: inputs\n", "        container: input\n")
    (d,) = check(tmp_path, text)
    assert (d.code, at(text, d)) == ("SP012", "input")
    assert d.message == 'perFile container "input" receives no input file, so the job would have no tasks'
    assert d.hint == 'did you mean "inputs"? the job\'s inputs go to "inputs"'


def test_a_misspelt_attribute_names_the_object_and_its_members(tmp_path: Path) -> None:
    _project(tmp_path)
    (d,) = check(tmp_path, PER_FILE.replace("file.name", "file.nme"))
    assert (d.code, d.message) == ("TM002", '"file" has no attribute "nme"')
    assert d.hint == 'did you mean "file.name"? file has blob, container, name, stem'


SWEEP = POOL_HEAD + (
    "  fixedScale: {targetDedicatedNodes: 1}\n"
    "jobs:\n"
    "  - id: sweep\n"
    "    taskFactory:\n"
    "      parametricSweep:\n"
    "        parameters: PARAMS\n"
    "        task: {id: 't-{{ n }}', commandLine: 'echo {{ n }}'}\n"
)


def test_an_empty_sweep_is_an_error_not_a_job_without_tasks(tmp_path: Path) -> None:
    (d,) = check(tmp_path, SWEEP.replace("PARAMS", "{n: {start: 5, end: 1}}"))
    assert (d.code, d.message) == ("SP012", 'parameter "n" has no values, so the sweep makes no task')
    assert d.hint == "start is above end: add step: -1 to count down"
    assert check(tmp_path, SWEEP.replace("PARAMS", "{n: {start: 5, end: 1, step: -1}}")) == []
    (d,) = check(tmp_path, SWEEP.replace("PARAMS", "{n: []}"))
    assert d.hint == "give it at least one value"


def test_an_id_template_that_misses_a_parameter_says_so(tmp_path: Path) -> None:
    (d,) = check(tmp_path, SWEEP.replace("PARAMS", "{n: {start: 1, end: 2}, m: [a, b]}"))
    assert d.code == "SP017"
    assert d.hint == "the id template gives two tasks the same id; use every swept parameter in it ({{ n }}, {{ m }})"


def test_fix_hints_in_an_embedded_formula_do_not_promise_a_rewrite(tmp_path: Path) -> None:
    text = POOL_HEAD + (
        "  autoScale:\n"
        "    evaluationInterval: PT5M\n"
        "    formula: |\n"
        "      $TargetDedicated = min(2, max(0, $PendingTasks.GetSample(1)));\n"
        "      $NodeDeallocationOption = taskcompletion;\n"
    )
    (d,) = check(tmp_path, text)
    assert d.code == "FM210" and d.hint.endswith("(--fix does this in a .formula file)")


def test_the_jobs_example_in_docs_spec_md_validates(tmp_path: Path) -> None:
    """The sweep, its dependency on the listed task and the inputs of the docs' example, as a user copies them."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "spec.md").read_text(encoding="utf-8")
    block = doc.split("## `jobs`", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("1\n", encoding="utf-8")
    text = POOL_HEAD + "  fixedScale: {targetDedicatedNodes: 1}\n" + block
    assert [(d.code, d.message) for d in check(tmp_path, text)] == []


def test_a_hard_coded_slot_count_points_to_the_service_variable(tmp_path: Path) -> None:
    text = POOL_HEAD + (
        "  taskSlotsPerNode: 2\n"
        "  autoScale:\n"
        "    evaluationInterval: PT5M\n"
        "    formula: |\n"
        "      maxTasksPerNode = 4;\n"
        "      $TargetDedicatedNodes = min(10, ceil(max(0, $PendingTasks.GetSample(1)) / maxTasksPerNode));\n"
        "      $NodeDeallocationOption = taskcompletion;\n"
    )
    (d,) = [d for d in check(tmp_path, text) if d.code == "SP206"]
    assert d.hint == "use the service variable $TaskSlotsPerNode instead of a constant (or write 2)"
