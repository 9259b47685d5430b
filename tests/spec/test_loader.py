from __future__ import annotations

import json

import pytest

from batchspec.diagnostics.model import Pos
from batchspec.spec.loader import MAX_BYTES, DocumentError, load_text


def error_of(path: str, text: str):
    with pytest.raises(DocumentError) as info:
        load_text(path, text)
    return info.value.diagnostics[0]


def test_json_data_matches_stdlib_and_string_positions_map_through_escapes(seed_text: str) -> None:
    doc = load_text("seed.json", seed_text)
    assert doc.data == json.loads(seed_text)
    loc = doc.locations[("properties", "scaleSettings", "autoScale", "formula")]
    formula = doc.data["properties"]["scaleSettings"]["autoScale"]["formula"]
    lines = seed_text.split("\n")
    for word in ("cappedPoolSize", "$NodeDeallocationOption", "taskcompletion"):
        p = loc.string_map.at(formula.index(word))
        assert lines[p.line - 1][p.col - 1 : p.col - 1 + len(word)] == word
    # a character after an escaped \r\n lands right after the escape in the file
    i = formula.index("\r\n") + 2
    p = loc.string_map.at(i)
    assert lines[p.line - 1][p.col - 3 : p.col - 1] == "\\n"


def test_json_unicode_escape_and_surrogates_map_exactly() -> None:
    text = '{"a": "x\\u00e9\\ud83d\\ude00y"}'
    doc = load_text("u.json", text)
    assert doc.data == {"a": "x\u00e9\U0001f600y"}
    smap = doc.locations[("a",)].string_map
    assert smap.at(3) == Pos(1, 27)  # "y"


def test_yaml_literal_block_positions() -> None:
    text = "pool:\n  formula: |\n    $a = 1;\n    $TargetDedicatedNodes = $a;\n"
    doc = load_text("s.yaml", text)
    smap = doc.locations[("pool", "formula")].string_map
    value = doc.data["pool"]["formula"]
    assert smap.exact
    assert smap.at(value.index("$TargetDedicatedNodes")) == Pos(4, 5)


@pytest.mark.parametrize(
    ("text", "code", "line", "col"),
    [
        ("a: 1\nb: 2\na: 3\n", "SP003", 3, 1),
        ("a:\n\tb: 1\n", "SP001", 2, 1),
        ("a: !!python/object/apply:os.system ['id']\n", "SP001", 1, 4),
        ("a: [1,\n", "SP001", 2, 1),
        ("a: 1\n---\nb: 2\n", "SP001", 2, 1),
    ],
)
def test_yaml_bad_input_is_positioned(text: str, code: str, line: int, col: int) -> None:
    d = error_of("bad.yaml", text)
    assert (d.code, d.span.start.line, d.span.start.col) == (code, line, col)


def test_tab_error_has_a_hint() -> None:
    d = error_of("bad.yaml", "a:\n\tb: 1\n")
    assert "tab" in d.message and "spaces" in (d.hint or "")


def test_json_duplicate_key_and_syntax_errors() -> None:
    d = error_of("d.json", '{"a": 1,\n "a": 2}')
    assert (d.code, d.span.start.line, d.span.start.col) == ("SP003", 2, 2)
    d = error_of("t.json", '{"a": 1,}')
    assert d.code == "SP002" and d.hint == "remove the trailing comma"
    d = error_of("q.json", "{'a': 1}")
    assert d.code == "SP002"


def test_anchor_bomb_is_stopped_quickly() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(8):
        prev, cur = chr(97 + i), chr(98 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    d = error_of("bomb.yaml", "\n".join(lines) + "\n")
    assert d.code == "SP004"


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    assert error_of("deep.json", "[" * 100000 + "]" * 100000).code == "SP005"
    assert error_of("deep.yaml", "[" * 100000 + "]" * 100000).code in ("SP001", "SP005")
    assert error_of("deep2.yaml", "a:\n" + "".join("  " * i + "- \n" for i in range(1, 200))).code in (
        "SP001",
        "SP005",
    )


def test_huge_document_is_refused() -> None:
    d = error_of("big.json", '{"a": "' + "x" * (MAX_BYTES + 10) + '"}')
    assert d.code == "SP006"


def test_merge_keys_and_aliases() -> None:
    doc = load_text("m.yaml", "base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n")
    assert doc.data["c"] == {"x": 1, "y": 3}
    assert doc.span(("c", "y")).start == Pos(4, 6)


def test_json_comments_as_arm_templates_allow_them() -> None:
    text = '{\n  // the pool\n  "properties": { /* size */ "vmSize": "x" }\n}\n'
    doc = load_text("t.json", text)
    assert doc.data == {"properties": {"vmSize": "x"}}
    assert doc.span(("properties", "vmSize")).start == Pos(3, 40)
    assert error_of("u.json", '{"a": 1 /* open').code == "SP002"
