"""Run ansible-playbook in the user's project the way its user would, and summarise the run.

  user_play.py --project DIR --log FILE [--env NAME=VALUE ...] -- site.yml --check --diff

The play runs in DIR with a clean environment (HOME, PATH, LANG only): the project's own
ansible.cfg decides everything (no ANSIBLE_* variable of the test harness reaches it), plus what
--env adds, as a user exporting a variable (ANSIBLE_STRATEGY=mitogen_linear) would. Its output
is appended to FILE, and this prints one JSON object:

  rc        exit code of ansible-playbook
  recap     {host: {ok, changed, unreachable, failed, skipped, rescued, ignored}}
  changed   sum of "changed" over the hosts of the recap
  tasks     [{"name": "role : task", "statuses": ["ok", "changed", ...]}] in the order they ran
  ran       names of the tasks that did something other than skip
  changed_tasks  names of the tasks that reported a change
  diff      the lines of the --diff output (those starting with "+" or "-", without the headers)

Standard library only; reads the default stdout callback's output.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?P<name>.*)\] \**$")
STATUS = re.compile(r"^(?P<status>ok|changed|skipping|fatal|failed|included|rescued): \[")
RECAP = re.compile(r"^(?P<host>\S+)\s*:\s*(?P<counts>(?:\w+=\d+\s*)+)$")


def summarise(output):
    tasks, recap, diff, in_recap = [], {}, [], False
    for line in output.splitlines():
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
            tasks.append({"name": match["name"], "statuses": []})
            continue
        match = STATUS.match(line)
        if match and tasks:
            tasks[-1]["statuses"].append(match["status"])
            continue
        if line[:1] in "+-" and not line.startswith(("+++", "---")):
            diff.append(line)
    return {
        "recap": recap,
        "changed": sum(host.get("changed", 0) for host in recap.values()),
        "tasks": tasks,
        "ran": [t["name"] for t in tasks if any(s != "skipping" for s in t["statuses"])],
        "changed_tasks": [t["name"] for t in tasks if "changed" in t["statuses"]],
        "diff": diff,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", required=True, help="the user's Ansible project")
    parser.add_argument("--log", required=True, help="file the play's output is appended to")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a variable the user sets for this run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then the ansible-playbook arguments")
    options = parser.parse_args()
    args = options.args[1:] if options.args[:1] == ["--"] else options.args
    env = {name: os.environ[name] for name in ("HOME", "PATH", "LANG") if name in os.environ}
    env.update(item.split("=", 1) for item in options.env)
    started = time.monotonic()
    run = subprocess.run(["ansible-playbook"] + args, cwd=options.project, env=env, check=False,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = round(time.monotonic() - started, 1)
    with open(options.log, "a", encoding="utf-8") as log:
        log.write("\n==> ansible-playbook %s (rc %d, %ss)\n%s" % (" ".join(args), run.returncode, seconds, run.stdout))
    result = summarise(run.stdout)
    result.update(rc=run.returncode, seconds=seconds, args=args)
    if run.returncode != 0:
        # The end of the play's output says why; the whole of it is in the log.
        result["tail"] = run.stdout.splitlines()[-40:]
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
