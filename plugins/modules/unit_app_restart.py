#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: unit_app_restart
short_description: Restart the processes of an NGINX Unit application and check they come back
description:
  - Restarts all processes of application O(name) with C(GET /control/applications/NAME/restart).
  - Use it when the application's code or virtualenv changed but its configuration did not.
    Unit does nothing when an identical configuration is uploaded again, so the old code
    keeps running. Typically triggered by a handler.
  - Unit reports success (C(Ok)) for a restart even when the new processes then fail
    to start (for example an exception at import time); the failure only shows in Unit's log
    and in C(/status). With O(wait=true) (the default) the module therefore polls
    C(GET /status/applications/NAME) until at least one process runs, watches the lines Unit
    writes to O(log_file) meanwhile, and fails with the application's error and traceback
    when it could not start.
  - Always reports C(changed) (a restart is an action, not a state).
version_added: 0.1.0
author: unitchannels maintainers (@unitchannels)
options:
  name:
    description:
      - Name of the application, as in C(/config/applications/NAME).
    type: str
    required: true
  wait:
    description:
      - After the restart, wait until Unit reports at least one running process of the
        application, and fail if the application logged a start-up failure.
      - Set to V(false) for applications that start processes only on demand
        (C(processes) with C(spare) 0), which legitimately have no running process.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for a running process when O(wait=true).
    type: int
    default: 30
extends_documentation_fragment:
  - unitchannels.deploy.unit_control
  - unitchannels.deploy.unit_control.log_file
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is sent to Unit and the task reports C(changed).
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: unitchannels.deploy.unit_config
  - name: Application restart in Unit's documentation
    description: The C(/control/applications) endpoint.
    link: https://unit.nginx.org/configuration/#configuration-proc-mgmt
'''

EXAMPLES = r'''
- name: Restart the app after new code was deployed (handler)
  become: true
  unitchannels.deploy.unit_app_restart:
    name: djangochannels

- name: Restart without waiting for a process (on-demand processes)
  become: true
  unitchannels.deploy.unit_app_restart:
    name: djangochannels
    wait: false
'''

RETURN = r'''
response:
  description: Unit's answer to the restart request.
  returned: when a request was sent
  type: raw
  sample: {"success": "Ok"}
app_status:
  description: The last C(/status/applications/NAME) seen while waiting.
  returned: when O(wait=true) and not in check mode
  type: dict
  sample: {"processes": {"running": 1, "starting": 0, "idle": 1}, "requests": {"active": 0}}
unit_log:
  description:
    - On a start-up failure, the log lines of the application's processes (error and traceback).
    - On timeout, every line Unit logged since the restart (bounded).
  returned: failure, when O(wait=true)
  type: list
  elements: str
  sample:
    - 2026/11/25 17:22:59 [alert] 1244#1244 Python failed to import module "mysite.asgi"
    - "Traceback (most recent call last):"
    - '  File "/srv/djapp/mysite/asgi.py", line 21, in <module>'
    - "RuntimeError: boom: simulated import-time failure"
'''

import json
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_address import DEFAULT_LOG_FILE
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_config_tree import build_path
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_control import (
    UNIT_MUTUALLY_EXCLUSIVE,
    UnitControlError,
    client_from_module,
    unit_argument_spec,
)
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_log import (
    LogTail,
    app_failure_lines,
)

# After the restart, keep watching the log for this long even when /status already
# shows a running process: Unit logs "application started" before importing the module.
SETTLE_SECONDS = 1.5
POLL_INTERVAL = 0.25


def running_processes(status):
    try:
        return int(status['processes']['running'])
    except (KeyError, TypeError, ValueError):
        return 0


def configured_apps(client):
    try:
        resp = client.get('/config/applications')
    except UnitControlError:
        return None
    if resp.status == 200 and isinstance(resp.body, dict):
        return sorted(resp.body)
    return None


def main():
    argument_spec = unit_argument_spec()
    argument_spec.update(
        name=dict(type='str', required=True),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=30),
        log_file=dict(type='path', default=DEFAULT_LOG_FILE),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=UNIT_MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    name = module.params['name']
    log_file = module.params['log_file']
    result = dict(changed=True)

    if not name or '/' in name:
        module.fail_json(msg='name must be an application name, without "/" (got %r)' % name)

    if module.check_mode:
        module.exit_json(**result)

    restart_path = build_path('control', 'applications', name, 'restart')
    status_path = build_path('status', 'applications', name)
    log = LogTail(log_file)
    log.mark()
    started = time.time()
    try:
        client = client_from_module(module)
        resp = client.get(restart_path)
    except UnitControlError as e:
        module.fail_json(msg=e.msg, changed=False)

    result['response'] = resp.body
    if resp.status == 404:
        apps = configured_apps(client)
        known = ''
        if apps is not None:
            known = ' Configured applications: %s.' % (', '.join(apps) if apps else 'none')
        module.fail_json(
            msg='application %s is not configured in Unit (GET %s answered 404: %s).%s'
                % (name, restart_path, resp.error_text(), known),
            changed=False, status=resp.status, response=resp.body)
    if not resp.ok:
        module.fail_json(
            msg='Unit refused to restart application %s (HTTP %s: %s)' % (name, resp.status, resp.error_text()),
            changed=False, status=resp.status, response=resp.body)

    if not module.params['wait']:
        module.exit_json(**result)

    deadline = started + max(module.params['wait_timeout'], 0)
    settle_until = started + SETTLE_SECONDS
    lines = []
    warned = False
    status = None
    while True:
        lines.extend(log.read_new())
        if log.error and not warned:
            module.warn('cannot read %s (%s): start-up errors of %s cannot be reported, only /status is checked'
                        % (log_file, log.error, name))
            warned = True
        failure = app_failure_lines(lines, name)
        if failure:
            # let the processes finish writing their traceback
            time.sleep(POLL_INTERVAL)
            lines.extend(log.read_new(wait=0.5))
            failure = app_failure_lines(lines, name)
            result.update(app_status=status, unit_log=failure)
            module.fail_json(
                msg='application %s failed to start after the restart (Unit answered %s to the restart '
                    'request anyway; requests to it now get 503). Unit\'s log (%s) says:\n%s'
                    % (name, json.dumps(resp.body), log_file, '\n'.join(failure)),
                **result)
        try:
            st = client.get(status_path)
        except UnitControlError as e:
            module.fail_json(msg='restarted %s, but then: %s' % (name, e.msg), **result)
        if st.status == 200:
            status = st.body
        result['app_status'] = status
        now = time.time()
        if running_processes(status) >= 1 and now >= min(settle_until, deadline):
            module.exit_json(**result)
        if now >= deadline:
            lines.extend(log.read_new())
            result['unit_log'] = lines
            module.fail_json(
                msg='application %s has no running process %d seconds after the restart (status: %s).%s'
                    % (name, module.params['wait_timeout'], json.dumps(status),
                       (" Unit's log (%s) since the restart:\n%s" % (log_file, '\n'.join(lines))) if lines else
                       ' Nothing was logged to %s; if the application starts processes only on demand, '
                       'use wait: false.' % log_file),
                **result)
        time.sleep(POLL_INTERVAL)


if __name__ == '__main__':
    main()
