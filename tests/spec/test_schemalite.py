"""The in-house validator agrees with the reference implementation (jsonschema) on our schemas."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from batchspec.spec.schema import load_schema
from batchspec.spec.schemalite import Validator, unsupported_keywords

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = [
    "pool.schema.json",
    "pool-data.schema.json",
    "job.schema.json",
    "task.schema.json",
    "spec.schema.json",
]
CORPUS = sorted((REPO / "tests" / "corpus" / "pools").glob("*.json"))


@pytest.mark.parametrize("name", SCHEMAS)
def test_schemas_use_only_supported_keywords(name: str) -> None:
    assert unsupported_keywords(load_schema(name)) == set()


def agree(schema_name: str, instance: object) -> None:
    schema = load_schema(schema_name)
    ref = Draft202012Validator(schema)
    lite = Validator(schema)
    assert lite.is_valid(instance) == ref.is_valid(instance), instance


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_bodies(path: Path) -> None:
    data = json.loads(path.read_text())
    body = data["resources"][0] if "resources" in data else data
    for name in SCHEMAS[:2]:
        agree(name, body)
        agree(name, body.get("properties", body))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-300, 300),
    st.floats(allow_nan=False, width=32),
    st.text(max_size=12),
    st.sampled_from(["Pack", "pack", "PT5M", "Admin", "Pool", "UserAssigned"]),
)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_mutated_pool_bodies(data: st.DataObject) -> None:
    body = json.loads((REPO / "tests" / "corpus" / "pools" / "bicep-start-task-chain.json").read_text())
    # walk to a random place and replace or add a value
    node = body
    for _ in range(data.draw(st.integers(0, 4))):
        if isinstance(node, dict) and node:
            node = node[data.draw(st.sampled_from(sorted(node)))]
        elif isinstance(node, list) and node:
            node = node[data.draw(st.integers(0, len(node) - 1))]
    if isinstance(node, dict):
        key = data.draw(st.sampled_from([*sorted(node), "extra", "nodeFillType", "formula", "autoScale"]))
        node[key] = data.draw(
            st.one_of(
                scalars, st.dictionaries(st.sampled_from(["a", "formula", "fixedScale"]), scalars, max_size=2)
            )
        )
    elif isinstance(node, list):
        node.append(data.draw(scalars))
    agree("pool.schema.json", copy.deepcopy(body))


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        scalars,
        lambda c: st.one_of(
            st.lists(c, max_size=3),
            st.dictionaries(
                st.sampled_from(
                    ["id", "commandLine", "resourceFiles", "constraints", "dependsOn", "requiredSlots", "x"]
                ),
                c,
                max_size=4,
            ),
        ),
        max_leaves=10,
    )
)
def test_random_task_bodies(instance: object) -> None:
    agree("task.schema.json", instance)
