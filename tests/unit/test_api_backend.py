"""The controller satisfies the Protocols the API layer is written against (netlab.api.backend).

The API no longer imports the controller, so nothing else would notice a renamed controller member
before an integration test does."""

from __future__ import annotations

import ast
import inspect

import pytest

from netlab.api import backend
from netlab.runtime.controller import Controller


def _members(protocol: type) -> tuple[set[str], set[str]]:
    """(methods, attributes) a Protocol declares; properties count as attributes."""
    methods, attributes = set(), set()
    for name, value in vars(protocol).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            attributes.add(name)
        elif inspect.isfunction(value):
            methods.add(name)
    return methods, attributes


def _init_attributes(cls: type) -> set[str]:
    tree = ast.parse(inspect.getsource(cls))
    init = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    found = set()
    for node in ast.walk(init):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        for target in targets:
            for t in target.elts if isinstance(target, ast.Tuple) else [target]:
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                    found.add(t.attr)
    return found


@pytest.mark.parametrize("protocol", [backend.Backend, backend.StoreView])
def test_controller_has_every_member(protocol):
    methods, attributes = _members(protocol)
    assert methods and attributes
    missing_methods = sorted(m for m in methods if not callable(getattr(Controller, m, None)))
    missing_attributes = sorted(attributes - _init_attributes(Controller) - set(dir(Controller)))
    assert not missing_methods and not missing_attributes, (missing_methods, missing_attributes)


def test_signatures_match_the_protocol():
    methods, _ = _members(backend.Backend)
    for name in methods:
        wanted = list(inspect.signature(getattr(backend.Backend, name)).parameters)
        actual = list(inspect.signature(getattr(Controller, name)).parameters)
        assert actual == wanted, name
