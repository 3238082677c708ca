"""harness/run_play.py's summary of a play's output: what every molecule scenario and the bench
judge a run by (recap, changed tasks per host, failure messages, diff)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "harness"))

from run_play import summarise  # noqa: E402

# Two batches of site.yml (serial), a failure in json, a check-mode diff, the recap.
OUTPUT = """
PLAY [Deploy] ******************************************************************

TASK [channels_app : django | Apply the database migrations] *******************
changed: [app1]

TASK [channels_app : django | Check that the migrations of this release ran on app1] ***
skipping: [app1]

TASK [channels_app : django | Apply the database migrations] *******************
skipping: [app2]

TASK [channels_app : django | Check that the migrations of this release ran on app1] ***
ok: [app2]

TASK [unit : config | Upload the configuration] ********************************
--- before
+++ after
@@ -1,3 +1,3 @@
-    "*:8080": {
+    "*:8081": {
changed: [app2]

TASK [channels_app : deploy | Health check] ************************************
fatal: [app2]: FAILED! => {"changed": false, "msg": "release 1a2b keeps serving: HTTP 500"}

PLAY RECAP *********************************************************************
app1                       : ok=12   changed=1    unreachable=0    failed=0    skipped=3    rescued=0    ignored=0
app2                       : ok=10   changed=1    unreachable=0    failed=1    skipped=2    rescued=0    ignored=0
"""


def test_recap_and_changed():
    summary = summarise(OUTPUT)
    assert summary["recap"]["app1"]["changed"] == 1
    assert summary["recap"]["app2"]["failed"] == 1
    assert summary["changed"] == 2


def test_statuses_per_host_over_batches():
    tasks = [t for t in summarise(OUTPUT)["tasks"] if t["name"].endswith("Apply the database migrations")]
    assert [t["hosts"] for t in tasks] == [{"app1": ["changed"]}, {"app2": ["skipping"]}]


def test_ran_and_changed_tasks():
    summary = summarise(OUTPUT)
    assert summary["changed_tasks"] == ["channels_app : django | Apply the database migrations",
                                        "unit : config | Upload the configuration"]
    assert "channels_app : deploy | Health check" in summary["ran"]


def test_failure_message_from_json_result():
    assert summarise(OUTPUT)["failures"] == [
        {"task": "channels_app : deploy | Health check", "host": "app2", "msg": "release 1a2b keeps serving: HTTP 500"}]


def test_failure_message_over_several_lines():
    output = ('TASK [x : y] ***\nfatal: [h]: FAILED! => {\n    "changed": false,\n    "msg": "two\\nlines"\n}\n\n'
              "PLAY RECAP ***\nh : ok=1 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0\n")
    assert summarise(output)["failures"][0]["msg"] == "two\nlines"


def test_failure_in_yaml_kept_as_text():
    output = "TASK [x : y] ***\nfatal: [h]: FAILED! => \n    changed: false\n    msg: the cause\n\nPLAY RECAP ***\n"
    assert "msg: the cause" in summarise(output)["failures"][0]["msg"]


def test_diff_lines_without_headers():
    assert summarise(OUTPUT)["diff"] == ['-    "*:8080": {', '+    "*:8081": {']


def test_a_loop_label_with_an_arrow_does_not_cut_the_message():
    output = ('TASK [x : y] ***\nfailed: [h] (item=a => b) => {"changed": false, "msg": "the cause"}\n\n'
              "PLAY RECAP ***\nh : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0\n")
    assert summarise(output)["failures"][0]["msg"] == "the cause"


def test_a_play_that_runs_too_long_is_killed_with_its_children(tmp_path):
    import json
    import subprocess
    import time

    play = tmp_path / "ansible-playbook"
    play.write_text("#!/bin/sh\necho started\nsleep 60 &\necho $! > " + str(tmp_path / "child") + "\nwait\n")
    play.chmod(0o755)
    begin = time.monotonic()
    run = subprocess.run([sys.executable, str(Path(__file__).resolve().parent.parent / "harness" / "run_play.py"),
                          "--ansible-playbook", str(play), "--project", str(tmp_path), "--log", str(tmp_path / "log"),
                          "--kill-after", "1", "--", "site.yml"], capture_output=True, text=True, check=True)
    summary = json.loads(run.stdout)
    assert summary["rc"] == -9 and "killed after 1 s" in summary["output"]
    assert time.monotonic() - begin < 30
    child = int((tmp_path / "child").read_text())
    time.sleep(0.2)
    status = Path(f"/proc/{child}/status")
    # Gone, or a zombie waiting to be reaped: not running either way.
    assert not status.exists() or "\nState:\tZ" in status.read_text()
