"""Every shell script in git passes shellcheck (the pinned one; Debian's 0.9 finds more in places)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHEBANG = re.compile(rb"#!\s*(/usr)?/bin/(env\s+)?(ba)?sh\b")


def shell_scripts():
    """Tracked files whose first line runs sh or bash (templates are not shell until rendered)."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True)
    found = []
    for name in files.stdout.splitlines():
        path = ROOT / name
        if name.endswith(".j2") or not path.is_file():
            continue
        with path.open("rb") as handle:
            if SHEBANG.match(handle.readline()):
                found.append(name)
    return found


def test_there_are_scripts_to_check():
    assert "scripts/molecule-run.sh" in shell_scripts()


def test_shellcheck_is_clean():
    binary = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which("shellcheck")
    if binary is None:
        pytest.fail("shellcheck is not installed: make venv installs it (requirements-dev.txt)")
    result = subprocess.run([binary, *shell_scripts()], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
