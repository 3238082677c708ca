"""Every module's DOCUMENTATION, EXAMPLES and RETURN are YAML that parses: ansible-doc and
ansible-test sanity refuse a module whose documentation does not, and pytest runs first."""

import ast
from pathlib import Path

import pytest
import yaml

MODULES = sorted((Path(__file__).resolve().parent.parent / "plugins" / "modules").glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[path.stem for path in MODULES])
def test_documentation_parses(path):
    blocks = {node.targets[0].id: node.value.value for node in ast.parse(path.read_text()).body
              if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in ("DOCUMENTATION", "EXAMPLES", "RETURN")}
    assert set(blocks) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    for name, text in blocks.items():
        assert yaml.safe_load(text) is not None, name
    assert yaml.safe_load(blocks["DOCUMENTATION"])["module"] == path.stem
