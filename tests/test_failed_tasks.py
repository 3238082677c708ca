"""scripts/failed_tasks.py names the task a failed molecule run stopped at (molecule-run.sh)."""

import subprocess
import sys
from pathlib import Path

from script_module import load_script

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "failed_tasks.py"
failed_tasks = load_script(SCRIPT)

RED = "\x1b[0;31m"
RESET = "\x1b[0m"


def framed(*lines):
    """Lines as `molecule test` prints a playbook's output: coloured, inside its frame."""
    return "\n".join(f"  \x1b[2m│{RESET} {RED}{line}{RESET}" for line in lines) + "\n"


LOG = (
    "INFO     multihost ➜ verify: Executing\n"
    + framed(
        "TASK [edge | A bad certificate is refused]",
        "  **********",
        "fatal: [app1]: FAILED! =>",
        "    changed: false",
        "    msg: expected",
        "...ignoring",
        "",
        "TASK [edge | The edge saw app2 DOWN and UP again; no request failed; its",
        "  WebSockets reconnected within 2 s] ***",
        "fatal: [app1]: FAILED! =>",
        "    assertion: load.ws_reconnect_max_ms < 2000",
        "    changed: false",
        "    evaluated_to: false",
        "    msg: '{\"ws_reconnect_max_ms\": 2210.5}'",
        "",
        "PLAY RECAP *****",
        "app1                       : ok=61   changed=18   failed=1",
    )
    + "  └─ Return code: 2 ────\n"
    + "ERROR    Ansible return code was 2\n"
)


def test_names_the_last_failed_task_with_its_message():
    text = failed_tasks.summary(LOG, max_lines=20)
    lines = text.splitlines()
    assert lines[0] == ("failed: TASK [edge | The edge saw app2 DOWN and UP again; no request failed;"
                        " its WebSockets reconnected within 2 s]")
    assert lines[1] == "fatal: [app1]: FAILED! =>"
    assert "    msg: '{\"ws_reconnect_max_ms\": 2210.5}'" in lines
    # Neither colours nor molecule's frame, and nothing after the failure's body.
    assert "\x1b" not in text and "│" not in text
    assert "PLAY RECAP" not in text


def test_an_ignored_failure_is_not_counted():
    found = failed_tasks.failures(LOG)
    assert [task for task, dummy in found] == [
        "TASK [edge | The edge saw app2 DOWN and UP again; no request failed; its WebSockets reconnected within 2 s]"]


def test_a_loop_item_failure_and_earlier_ones_are_counted():
    log = framed(
        "TASK [first]",
        "fatal: [h1]: FAILED! =>",
        "    msg: one",
        "",
        "TASK [second]",
        "failed: [h1] (item=a) =>",
        "    msg: two",
    )
    text = failed_tasks.summary(log, max_lines=20)
    assert text.splitlines()[:2] == ["failed: TASK [second] (1 earlier failure(s) in the log)",
                                     "failed: [h1] (item=a) =>"]


def test_a_long_message_is_cut_and_says_so():
    log = framed("TASK [long]", "fatal: [h1]: FAILED! =>", *(f"    line {n}" for n in range(30)))
    lines = failed_tasks.summary(log, max_lines=5).splitlines()
    assert len(lines) == 1 + 5 + 1
    assert lines[-1] == "    ... 26 more lines in the log"


def test_a_log_without_a_failure_says_so(tmp_path):
    log = tmp_path / "molecule.log"
    log.write_text(framed("TASK [fine]", "ok: [h1]"))
    result = subprocess.run([sys.executable, str(SCRIPT), str(log)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "no failed task in the log" in result.stdout


def test_a_missing_log_is_named(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "none.log")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "none.log" in result.stderr
