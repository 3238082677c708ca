"""Run ansible-playbook as a test's user would, and summarise the run as one JSON object.

  run_play.py --ansible-playbook PATH --project DIR --log FILE [--label TEXT] [--user-env]
              [--env NAME=VALUE ...] [--kill-after SECONDS] -- site.yml --check --diff

Every molecule scenario runs its plays through this (molecule/shared/tasks/run_play.yml), and
make bench reads its recaps with summarise(). The play runs in DIR with the caller's
environment, or with --user-env a clean one (HOME, PATH, LANG only: the project's own
ansible.cfg decides everything, no ANSIBLE_* variable of the test harness reaches it), plus
what --env adds, as a user exporting a variable (ANSIBLE_STRATEGY=mitogen_linear) would. Its
output is appended to FILE (the scenario's plays log, searched for the scenario's secrets), and
this prints:

  rc        exit code of ansible-playbook (-9 when --kill-after ended it)
  seconds   how long it ran
  recap     {host: {ok, changed, unreachable, failed, skipped, rescued, ignored}}
  changed   sum of "changed" over the hosts of the recap
  tasks     [{"name": "role : task", "hosts": {host: [status, ...]}}] in the order they ran
  ran       names of the tasks that did something other than skip
  changed_tasks  names of the tasks that reported a change
  failures  [{"task", "host", "msg"}] of the failed results (msg: the result's, else its text)
  diff      the lines of the --diff output (those starting with "+" or "-", without the headers)
  output    the whole output; tail its last 40 lines

Standard library only; reads the default stdout callback's output, results in json or yaml.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?P<name>.*)\] \**$")
STATUS = re.compile(r"^(?P<status>ok|changed|skipping|fatal|failed|rescued|unreachable): \[(?P<host>[^\]]+)\]"
                    r"(?P<rest>.*)$")
RECAP = re.compile(r"^(?P<host>\S+)\s*:\s*(?P<counts>(?:\w+=\d+\s*)+)$")
# After "FAILED! => " or a loop item's "(item=...) => ": a label with "=>" in it does not cut the result.
RESULT = re.compile(r"(?:FAILED! |\(item=.*?\) )=> (?P<result>.*)$")
FAILED = ("fatal", "failed", "unreachable")


def failure_message(lines):
    """The msg of a failed result printed from lines[0] on (json on one or more lines, or yaml)."""
    match = RESULT.search(lines[0])
    if not match:
        return lines[0]
    text = match["result"]
    if not text.strip():
        # yaml results: the indented block below the line.
        block = []
        for line in lines[1:]:
            if line and not line[0].isspace():
                break
            block.append(line)
        return "\n".join(block).strip()
    for line in lines[1:]:
        try:
            return str(json.loads(text).get("msg", text))
        except ValueError:
            if TASK.match(line) or STATUS.match(line) or line.startswith(("PLAY", "...")):
                break
            text += "\n" + line
    try:
        return str(json.loads(text).get("msg", text))
    except (ValueError, AttributeError):
        return text


def summarise(output):
    """The summary of one run's output (see the module's doc), without rc and seconds."""
    lines = output.splitlines()
    tasks, recap, diff, failures, in_recap = [], {}, [], [], False
    for number, line in enumerate(lines):
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if in_recap:
            match = RECAP.match(line.strip())
            if match:
                recap[match["host"]] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match["counts"])}
            continue
        match = TASK.match(line)
        if match:
            tasks.append({"name": match["name"], "hosts": {}})
            continue
        match = STATUS.match(line)
        if match and tasks:
            tasks[-1]["hosts"].setdefault(match["host"], []).append(match["status"])
            if match["status"] in FAILED:
                failures.append({"task": tasks[-1]["name"], "host": match["host"],
                                 "msg": failure_message(lines[number:number + 400])})
            continue
        if line[:1] in ("+", "-") and not line.startswith(("+++", "---")):
            diff.append(line)

    def statuses(task):
        return [status for host in task["hosts"].values() for status in host]

    return {
        "recap": recap,
        "changed": sum(host.get("changed", 0) for host in recap.values()),
        "tasks": tasks,
        "ran": [t["name"] for t in tasks if any(s != "skipping" for s in statuses(t))],
        "changed_tasks": [t["name"] for t in tasks if "changed" in statuses(t)],
        "failures": failures,
        "diff": diff,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ansible-playbook", required=True, help="the ansible-playbook to run")
    parser.add_argument("--project", required=True, help="the Ansible project the play runs in")
    parser.add_argument("--log", required=True, help="file the play's output is appended to")
    parser.add_argument("--label", default="", help="what this run is, for the log")
    parser.add_argument("--user-env", action="store_true", help="a clean environment, as the user's shell has")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a variable the user sets for this run")
    parser.add_argument("--kill-after", type=int, default=900, help="seconds before the play is killed")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then the ansible-playbook arguments")
    options = parser.parse_args()
    args = options.args[1:] if options.args[:1] == ["--"] else options.args
    if options.user_env:
        env = {name: os.environ[name] for name in ("HOME", "PATH", "LANG") if name in os.environ}
    else:
        # The harness's plays: results as json (the scenarios' ansible.cfg says yaml), no colours
        # (molecule forces them for its own runs).
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    env.update(item.split("=", 1) for item in options.env)
    started = time.monotonic()
    # Its own process group: a play that runs too long is killed with its workers and connections.
    play = subprocess.Popen([options.ansible_playbook] + args, cwd=options.project, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    try:
        output, dummy = play.communicate(timeout=options.kill_after)
        rc = play.returncode
    except subprocess.TimeoutExpired:
        os.killpg(play.pid, signal.SIGKILL)
        output, dummy = play.communicate()
        rc = -9
        output += f"\nrun_play: killed after {options.kill_after} s\n"
    seconds = round(time.monotonic() - started, 1)
    with open(options.log, "a", encoding="utf-8") as log:
        # The arguments without what -e gives: the scenarios pass secrets that way, and the log is
        # searched for them in the play's own output.
        shown = ["..." if i and args[i - 1] in ("-e", "--extra-vars") else arg for i, arg in enumerate(args)]
        log.write(f"\n==> {options.label}: ansible-playbook {' '.join(shown)} (rc {rc}, {seconds}s)\n{output}")
    result = summarise(output)
    result.update(rc=rc, seconds=seconds, output=output, tail=output.splitlines()[-40:])
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
