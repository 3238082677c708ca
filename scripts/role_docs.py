#!/usr/bin/env python
"""Generate the "## Variables" section of each role's README from its argument specs.

roles/<role>/meta/argument_specs.yml is the single source of the role variables' documentation
(Ansible validates the variables against it when the role starts, and `ansible-doc -t role` shows
it).  This script renders, for every role that has such a file, one "### `name`" entry per option of
the `main` entry point, in the spec's order: the description (a string or a list of paragraphs,
in Ansible's markup: C(), V(), O(), I(), B(), U(), L() become Markdown), then a line with the type,
the choices, the default and whether the variable is required.  Other entry points (e.g.
`tasks_from: apply_config`) follow under their own sub-heading.  A default the spec leaves out
because it is computed (a Jinja expression) is taken from the role's defaults/main.yml and marked
as such.

    python scripts/role_docs.py            # rewrite the Variables section of every role README
    python scripts/role_docs.py --check    # exit 1 and print a unified diff if a README drifted
    python scripts/role_docs.py unit       # only roles/unit

The section runs from the line "## Variables" up to the next "## " heading (or the end of the
file); the rest of the README is left as it is.  Only the standard library and PyYAML are needed.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Variables"
REGENERATE = "python scripts/role_docs.py"
NOTE = ("<!-- Generated from meta/argument_specs.yml by scripts/role_docs.py: edit the descriptions "
        "there, then run `python scripts/role_docs.py`. -->")

# Ansible's documentation markup (as in ansible-doc), in the order the alternatives are tried.
_MARKUP = re.compile(
    r"(?<![\w])(?:"
    r"L\((?P<ltext>[^,)]*),\s*(?P<lurl>[^)]*)\)"
    r"|R\((?P<rtext>[^,)]*),\s*(?P<rref>[^)]*)\)"
    r"|(?P<tag>RV|[CVOEPMIBU])\((?P<arg>[^)]*)\)"
    r"|(?P<hr>HORIZONTALLINE)(?![\w])"
    r")")
_CODE_TAGS = {"C", "V", "O", "E", "P", "M", "RV"}


class SpecError(Exception):
    """An argument_specs.yml this script cannot document."""


def code(text: str) -> str:
    """Inline Markdown code for any text, backticks included."""
    text = str(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if longest or text.startswith(" ") or text.endswith(" "):
        return f"{fence} {text} {fence}"
    return f"{fence}{text}{fence}"


def _escape(text: str) -> str:
    """Escape the characters of plain text that Markdown would otherwise interpret."""
    text = re.sub(r"([\\`*~\[\]<])", r"\\\1", text)
    # "_" is emphasis only at a word boundary (GitHub leaves snake_case alone).
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def markdown(text: str) -> str:
    """One paragraph of a description (plain text with Ansible markup) as Markdown."""
    out, pos = [], 0
    for match in _MARKUP.finditer(text):
        out.append(_escape(text[pos:match.start()]))
        pos = match.end()
        if match.group("ltext") is not None:
            out.append(f"[{_escape(match.group('ltext').strip())}]({match.group('lurl').strip()})")
        elif match.group("rtext") is not None:
            out.append(_escape(match.group("rtext").strip()))
        elif match.group("hr"):
            continue
        else:
            tag, arg = match.group("tag"), match.group("arg")
            if tag in _CODE_TAGS:
                out.append(code(arg))
            elif tag == "I":
                out.append(f"*{_escape(arg)}*")
            elif tag == "B":
                out.append(f"**{_escape(arg)}**")
            else:  # U
                out.append(f"<{arg}>")
    out.append(_escape(text[pos:]))
    result = " ".join("".join(out).split())
    # A paragraph must not turn into a heading, list item or quote.
    return re.sub(r"^(#|>|[-+] |\d+[.)] )", r"\\\1", result)


def paragraphs(description) -> list[str]:
    if description is None:
        return []
    if isinstance(description, str):
        description = [description]
    if not isinstance(description, list):
        raise SpecError(f"description must be a string or a list, not {type(description).__name__}")
    return [markdown(str(item)) for item in description if str(item).strip()]


def value(data) -> str:
    """A default or choice as inline code of its JSON form (YAML flow style if JSON cannot say it)."""
    try:
        text = json.dumps(data, ensure_ascii=False)
    except TypeError:
        text = yaml.safe_dump(data, default_flow_style=True, width=1 << 16).strip()
        text = text[:-4].rstrip() if text.endswith("\n...") else text
    return code(text)


def type_of(option: dict) -> str:
    kind = option.get("type", "str")
    if kind == "list" and option.get("elements"):
        kind = f"list of {option['elements']}"
    return str(kind)


def _choices(option: dict) -> str:
    return ", ".join(code(c) if isinstance(c, str) else value(c) for c in option["choices"])


def facts(name: str, option: dict, defaults: dict) -> list[str]:
    """The sentences after the description: type, choices, default, required, no_log."""
    kind = type_of(option)
    if option.get("choices"):
        kind += ", one of " + _choices(option)
    parts = [f"Type: {kind}."]
    if option.get("required"):
        parts.append("Required.")
    elif "default" in option:
        parts.append(f"Default: {value(option['default'])}")
    elif name in defaults:
        parts.append(f"Default (computed in `defaults/main.yml`): {value(defaults[name])}")
    if option.get("no_log"):
        parts.append("Not logged (`no_log`).")
    # "Default: `x`" ends the line without a period (a period after code reads as part of it).
    return [part if part.endswith(".") or part is parts[-1] else part + "." for part in parts]


def _suboptions(options: dict, indent: str = "") -> list[str]:
    """Nested options as an indented list, recursively."""
    lines = []
    for name, option in options.items():
        option = option or {}
        text = " ".join(paragraphs(option.get("description")))
        head = " ".join(facts(name, option, {}))
        lines.append(f"{indent}- {code(name)}: {text} {head}".rstrip())
        if option.get("options"):
            lines.extend(_suboptions(option["options"], indent + "  "))
    return lines


def render_option(name: str, option: dict, defaults: dict, level: str) -> list[str]:
    option = option or {}
    lines = [f"{level} {code(name)}", ""]
    for para in paragraphs(option.get("description")):
        lines += [para, ""]
    lines += [" ".join(facts(name, option, defaults)), ""]
    if option.get("options"):
        each = "Options of each element" if option.get("type") == "list" else "Options"
        lines += [f"{each}:", ""] + _suboptions(option["options"]) + [""]
    return lines


def render_section(specs: dict, defaults: dict | None = None) -> str:
    """The whole "## Variables" section (ends with one newline) for one role's argument specs."""
    defaults = defaults or {}
    entry_points = (specs or {}).get("argument_specs")
    if not isinstance(entry_points, dict) or not entry_points:
        raise SpecError("no argument_specs entry points")
    names = sorted(entry_points, key=lambda n: (n != "main", n))
    lines = [SECTION, "", NOTE, ""]
    for entry in names:
        spec = entry_points[entry] or {}
        level = "###"
        if entry != "main":
            level = "####"
            lines += [f"### Entry point {code(entry)}", ""]
            summary = spec.get("short_description")
            how = f"With `tasks_from: {entry}`" + (f": {markdown(summary)}" if summary else ".")
            lines += [how, ""]
        options = spec.get("options") or {}
        if not options:
            lines += ["No variables.", ""]
        # Options an entry point shares with main (a YAML alias in the specs) are named, not repeated.
        main_options = (entry_points.get("main") or {}).get("options") or {}
        shared = [name for name, option in options.items() if entry != "main" and main_options.get(name) == option]
        if shared and len(shared) == len(main_options):
            lines += ["The same variables as `main`.", ""]
        elif shared:
            lines += ["These of `main`'s variables: " + ", ".join(code(name) for name in shared) + ".", ""]
        for name, option in options.items():
            if name not in shared:
                lines += render_option(name, option, defaults, level)
    return "\n".join(lines).rstrip("\n") + "\n"


def replace_section(readme: str, section: str) -> str:
    """The README with its Variables section replaced (or appended when it has none)."""
    lines = readme.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == SECTION), None)
    if start is None:
        body = readme.rstrip("\n")
        return (body + "\n\n" if body else "") + section
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[end:])
    return "".join(lines[:start]) + section + ("\n" + tail if tail else "")


def load_yaml(path: Path):
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def role_readme(role_dir: Path) -> tuple[str, str]:
    """(current README text, README text with the generated Variables section) of one role."""
    specs = load_yaml(role_dir / "meta" / "argument_specs.yml")
    defaults = {}
    for name in ("main.yml", "main.yaml"):
        if (role_dir / "defaults" / name).is_file():
            defaults = load_yaml(role_dir / "defaults" / name) or {}
            break
    readme_path = role_dir / "README.md"
    current = readme_path.read_text(encoding="utf-8") if readme_path.is_file() else ""
    return current, replace_section(current, render_section(specs, defaults))


def find_roles(roles_dir: Path, wanted: list[str]) -> list[Path]:
    if wanted:
        dirs = [roles_dir / name for name in wanted]
        missing = [str(d) for d in dirs if not (d / "meta" / "argument_specs.yml").is_file()]
        if missing:
            raise SpecError("no meta/argument_specs.yml in " + ", ".join(missing))
        return dirs
    return sorted(p.parent.parent for p in roles_dir.glob("*/meta/argument_specs.yml"))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("roles", nargs="*", help="role names (default: every role with meta/argument_specs.yml)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 with a unified diff when a README differs from its specs")
    parser.add_argument("--roles-dir", type=Path, default=REPO_ROOT / "roles", help="default: %(default)s")
    args = parser.parse_args(argv)

    try:
        role_dirs = find_roles(args.roles_dir, args.roles)
        if not role_dirs:
            raise SpecError(f"no role with meta/argument_specs.yml under {args.roles_dir}")
        results = [(d / "README.md", *role_readme(d)) for d in role_dirs]
    except (SpecError, OSError, yaml.YAMLError) as exc:
        print(f"role_docs: {exc}", file=sys.stderr)
        return 2

    drifted = []
    for path, current, wanted in results:
        if current == wanted:
            continue
        name = _display(path)
        if args.check:
            drifted.append(name)
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(keepends=True), wanted.splitlines(keepends=True),
                fromfile=f"a/{name}", tofile=f"b/{name} (generated from meta/argument_specs.yml)"))
        else:
            path.write_text(wanted, encoding="utf-8")
            print(f"role_docs: rewrote the Variables section of {name}")
    if drifted:
        print(f"\nrole_docs: {', '.join(drifted)} out of date with meta/argument_specs.yml; "
              f"regenerate with: {REGENERATE}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
