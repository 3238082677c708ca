"""The "## Variables" sections of the role READMEs are generated from meta/argument_specs.yml.

A README that drifted from its specs fails here with the diff; regenerate with
``python scripts/role_docs.py`` (see scripts/role_docs.py).
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from script_module import load_script

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "role_docs.py"
ROLES = sorted(p.parent.parent.name for p in (REPO_ROOT / "roles").glob("*/meta/argument_specs.yml"))
REGENERATE = "python scripts/role_docs.py"


role_docs = load_script(SCRIPT)


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, check=False)


def test_every_role_is_covered():
    assert {"unit", "channels_app", "redis"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_readme_variables_match_argument_specs(role):
    result = run("--check", role)
    if result.returncode != 0:
        pytest.fail(f"roles/{role}/README.md: the Variables section differs from "
                    f"roles/{role}/meta/argument_specs.yml.\n{result.stdout}{result.stderr}\n"
                    f"Edit the descriptions in the specs, then regenerate with: {REGENERATE}",
                    pytrace=False)


@pytest.mark.parametrize("role", ROLES)
def test_every_spec_option_has_a_readme_entry(role):
    specs = yaml.safe_load((REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    readme = (REPO_ROOT / "roles" / role / "README.md").read_text()
    section = readme[readme.index("\n## Variables\n"):]
    for entry in specs["argument_specs"].values():
        for name, option in entry["options"].items():
            assert f"`{name}`" in section, f"{name} missing from roles/{role}/README.md; run {REGENERATE}"
            assert option.get("description"), f"{role}: {name} has no description in argument_specs.yml"


def _copy_role(tmp_path, role="redis"):
    src, dst = REPO_ROOT / "roles" / role, tmp_path / "roles" / role
    for part in ("meta/argument_specs.yml", "defaults/main.yml", "README.md"):
        (dst / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / part, dst / part)
    return dst


def test_check_detects_spec_option_missing_from_readme(tmp_path):
    role = _copy_role(tmp_path)
    spec_path = role / "meta" / "argument_specs.yml"
    specs = yaml.safe_load(spec_path.read_text())
    specs["argument_specs"]["main"]["options"]["redis_new_option"] = {
        "type": "list", "elements": "str", "default": ["a"], "description": "A new option."}
    spec_path.write_text(yaml.safe_dump(specs, sort_keys=False))
    readme_before = (role / "README.md").read_bytes()

    result = run("--check", "--roles-dir", str(tmp_path / "roles"))

    assert result.returncode == 1
    assert "+### `redis_new_option`" in result.stdout
    assert "+A new option." in result.stdout
    assert '+Type: list of str. Default: `["a"]`' in result.stdout
    assert REGENERATE in result.stderr
    assert (role / "README.md").read_bytes() == readme_before, "--check must not write"

    # Without --check the section is rewritten, and the rest of the README is kept as it was.
    assert run("--roles-dir", str(tmp_path / "roles")).returncode == 0
    readme_after = (role / "README.md").read_text()
    assert "### `redis_new_option`" in readme_after
    head = readme_before.decode().split("## Variables\n")[0]
    assert readme_after.startswith(head + "## Variables\n")
    assert run("--check", "--roles-dir", str(tmp_path / "roles")).returncode == 0


def test_check_detects_a_hand_edited_readme(tmp_path):
    role = _copy_role(tmp_path)
    readme = role / "README.md"
    readme.write_text(readme.read_text().replace("TCP port.", "The TCP port."))
    result = run("--check", "--roles-dir", str(tmp_path / "roles"))
    assert result.returncode == 1
    assert "-The TCP port." in result.stdout and "+TCP port." in result.stdout


def test_section_replaced_up_to_the_next_heading_only():
    readme = "# Role\n\nIntro.\n\n## Variables\n\nold\n\n## Tags\n\n`x`: all.\n"
    out = role_docs.replace_section(readme, "## Variables\n\nnew\n")
    assert out == "# Role\n\nIntro.\n\n## Variables\n\nnew\n\n## Tags\n\n`x`: all.\n"
    assert role_docs.replace_section("# Role\n", "## Variables\n\nnew\n") == "# Role\n\n## Variables\n\nnew\n"


def test_rendering_of_types_choices_defaults_nested_options_and_entry_points():
    specs = {"argument_specs": {
        "apply_config": {"short_description": "Apply declared configuration only", "options": {
            "x_only": {"type": "bool", "default": False, "description": "Only here."}}},
        "main": {"options": {
            "x_mode": {"choices": ["a", "b"], "default": "a", "description": ["First paragraph.", "Second, C(code)."]},
            "x_key": {"type": "str", "required": True, "no_log": True, "description": "See O(x_mode=a)."},
            "x_computed": {"type": "int", "description": "Computed."},
            "x_items": {"type": "list", "elements": "dict", "default": [], "description": "Items.",
                        "options": {"name": {"type": "str", "required": True, "description": "Name."},
                                    "port": {"type": "int", "default": 80, "description": "Port."}}},
        }}}}
    out = role_docs.render_section(specs, {"x_computed": "{{ 2 * 2 }}"})
    assert out.startswith("## Variables\n")
    assert "### `x_mode`\n\nFirst paragraph.\n\nSecond, `code`.\n\nType: str, one of `a`, `b`. Default: `\"a\"`\n" in out
    assert "See `x_mode=a`.\n\nType: str. Required. Not logged (`no_log`).\n" in out
    assert 'Type: int. Default (computed in `defaults/main.yml`): `"{{ 2 * 2 }}"`\n' in out
    assert "Type: list of dict. Default: `[]`\n\nOptions of each element:\n\n" in out
    assert "- `name`: Name. Type: str. Required.\n- `port`: Port. Type: int. Default: `80`\n" in out
    # main first, other entry points after it under their own heading
    assert out.index("### `x_mode`") < out.index("### Entry point `apply_config`") < out.index("#### `x_only`")
    assert out.index("### `x_mode`") < out.index("### `x_key`") < out.index("### `x_computed`")


def test_plain_text_is_escaped_for_markdown():
    assert role_docs.markdown("a *b* _c_ snake_case ~d~ <e>") == r"a \*b\* \_c\_ snake_case \~d\~ \<e>"
    assert role_docs.markdown("L(Health check, #health-check) U(https://x/)") == \
        "[Health check](#health-check) <https://x/>"
    assert role_docs.code("a`b") == "`` a`b ``"


def test_entry_point_options_shared_with_main_are_named_not_repeated():
    """An entry point's option that is main's (a YAML alias) is listed by name, one it owns in full."""
    specs = yaml.safe_load("""
argument_specs:
  main:
    options: &all
      x_a: &x_a {type: str, description: The A.}
      x_b: {type: int, description: The B.}
  part:
    options:
      x_a: *x_a
      x_own: {type: bool, description: Only here.}
  whole:
    options: *all
""")
    out = role_docs.render_section(specs)
    part = out.split("### Entry point `part`")[1].split("### Entry point `whole`")[0]
    assert "These of `main`'s variables: `x_a`." in part
    assert "#### `x_a`" not in part and "#### `x_own`" in part and "Only here." in part
    assert "The same variables as `main`." in out.split("### Entry point `whole`")[1]
