#!/usr/bin/env python
"""Print the task that failed in a molecule log, and the first lines of what it said.

A failed scenario ends with molecule's recap, which names the action (converge, verify, ...) but
not the task; CI shows only the end of the output.  scripts/molecule-run.sh calls this after a
failure so that the last lines printed name the task, its host and its message:

    python scripts/failed_tasks.py .cache/molecule-multihost.log

Reads the log as `molecule test` printed it (colours, molecule's "│" frame, lines wrapped at 80
columns).  Only the standard library is needed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# molecule frames a playbook's output: "  │ text"; its last line "  └─ Return code: ...".
FRAME = re.compile(r"^\s*[│└]\s?")
FAILURE = re.compile(r"^(fatal|failed): \[")
TASK = re.compile(r"^TASK \[")
# Molecule wraps long lines; a continuation is indented further than the line it continues.
BLOCK_END = re.compile(r"^(TASK \[|PLAY |RUNNING HANDLER|ok: |changed: |skipping: |included: |"
                       r"FAILED - RETRYING|\.\.\.ignoring|fatal: |failed: )")


def plain_lines(text: str) -> list[str]:
    """The log's lines without colours or molecule's frame."""
    return [FRAME.sub("", ANSI.sub("", line)).rstrip() for line in text.splitlines()]


def task_name(lines: list[str], start: int) -> str:
    """The "TASK [...]" heading at lines[start], joined with the lines it wrapped onto."""
    name = lines[start]
    index = start + 1
    while "]" not in name and index < len(lines) and lines[index].strip():
        name += " " + lines[index].strip()
        index += 1
    return re.sub(r"\s*\*+$", "", name)


def failures(text: str) -> list[tuple[str, list[str]]]:
    """Each failure: the task it happened in, and its lines (the "fatal:" line and its body).

    A failure that a later ``...ignoring`` marks as ignored is left out.
    """
    lines = plain_lines(text)
    found: list[tuple[str, list[str]]] = []
    task = "(no task heading before it)"
    index = 0
    while index < len(lines):
        line = lines[index]
        if TASK.match(line):
            task = task_name(lines, index)
        elif FAILURE.match(line):
            body = [line]
            index += 1
            while index < len(lines) and lines[index].strip() and not BLOCK_END.match(lines[index]):
                body.append(lines[index])
                index += 1
            if not (index < len(lines) and lines[index].startswith("...ignoring")):
                found.append((task, body))
            continue
        index += 1
    return found


def summary(text: str, max_lines: int) -> str:
    """The last failure, at most max_lines lines of it, and how many came before it."""
    found = failures(text)
    if not found:
        return "failed_tasks: no failed task in the log (see the lines above it)"
    task, body = found[-1]
    shown = body[:max_lines]
    if len(body) > max_lines:
        shown.append(f"    ... {len(body) - max_lines} more lines in the log")
    earlier = f" ({len(found) - 1} earlier failure(s) in the log)" if len(found) > 1 else ""
    return "\n".join([f"failed: {task}{earlier}", *shown])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--max-lines", type=int, default=15)
    args = parser.parse_args(argv)
    try:
        text = args.log.read_text(errors="replace")
    except OSError as error:
        print(f"failed_tasks: cannot read {args.log}: {error.strerror}", file=sys.stderr)
        return 2
    print(summary(text, args.max_lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
