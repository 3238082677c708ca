#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: configured_service
short_description: Write a systemd service's settings and keep it running, in one call
description:
  - Puts O(directories) and O(files) in place as M(unitchannels.deploy.app_files) does, adds each
    of O(lines) to the end of its file when the file lacks it, then makes the systemd service
    O(name) enabled or not (O(enabled)) and running or stopped (O(state)).
  - A running service is restarted when one of those paths changed, when O(restart) is set, or
    when one of O(restart_for_paths) is newer than the running process, so it runs with the
    settings and the program on disk; systemd reloads its units first when a changed path is
    under C(/etc/systemd/) or O(daemon_reload) is set.
  - One round trip for what M(ansible.builtin.template), M(ansible.builtin.lineinfile),
    M(ansible.builtin.systemd_service) and a restart handler do in four or more; on a host where
    everything is as asked it reads the files and runs one C(systemctl show).
version_added: 0.2.0
author: unitchannels maintainers (@unitchannels)
options:
  name:
    description: The systemd service, such as V(redis-server) or V(unit).
    type: str
    required: true
  enabled:
    description: Start the service at boot (V(true)) or not (V(false)); V(null) leaves it as it is.
    type: bool
  state:
    description: V(started) starts a stopped service; V(stopped) stops a running one.
    type: str
    choices: [started, stopped]
    default: started
  restart:
    description:
      - Restart the service even when no path changed, when it runs (for example after its
        package was installed or upgraded). A stopped service is started, not restarted.
    type: bool
    default: false
  restart_for_paths:
    description:
      - The program and what it loads (files, or directories whose entries count too). A running
        service is restarted when one of them was installed, replaced or removed after it started
        (an inode change time later than the moment systemd last saw it become active), as when a
        package upgrade or a new plugin package did not restart it itself.
      - Read on the host, so a restart a failed run left due still happens on the next run.
    type: list
    elements: path
    default: []
  reload_for_paths:
    description:
      - Paths among O(files) and O(lines) whose change the service takes with C(systemctl reload),
        such as PostgreSQL's C(pg_hba.conf). When every path that changed is one of them, a running
        service is reloaded, not restarted; a change to any other path still restarts it.
    type: list
    elements: path
    default: []
  daemon_reload:
    description: Make systemd reload its units before acting, even when no changed path is under C(/etc/systemd/).
    type: bool
    default: false
  wait_for:
    description:
      - Where the running service accepts connections, C(unix:/PATH) or C(HOST:PORT) (an IPv6
        address in brackets), the syntax of NGINX Unit's C(--control). With O(state=started) the
        module returns only once a connection there succeeds, so what comes next can talk to the
        service; when none does within O(wait_timeout) seconds it fails with the end of the
        service's journal.
    type: str
  wait_timeout:
    description: How long O(wait_for) waits, in seconds.
    type: int
    default: 30
  lines:
    description:
      - Lines that files written by others (a package's main configuration) must hold. Each is
        appended when no line of the file equals it; the file keeps its owner, group and mode.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of an existing file (in check mode a missing one is reported as a change).
        type: path
        required: true
      line:
        description: The line, without its newline.
        type: str
        required: true
extends_documentation_fragment:
  - unitchannels.deploy.app_files
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would change (paths with their diff, the service action); nothing is written or run, and O(wait_for) is not waited for.
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - A file that holds a secret takes O(files[].secret_content), never shown; with O(files[].content) the diff holds the content.
  - A service that does not exist fails the module, except in check mode, where its package may
    not be installed yet and the action is reported as a change.
'''

EXAMPLES = r'''
- name: Write the Redis settings and run Redis with them
  become: true
  unitchannels.deploy.configured_service:
    name: redis-server
    enabled: true
    state: started
    files:
      - path: /etc/redis/redis-local.conf
        content: "{{ lookup('ansible.builtin.template', 'redis-local.conf.j2') }}"
        owner: redis
        group: redis
        mode: "0640"
    lines:
      - path: /etc/redis/redis.conf
        line: include /etc/redis/redis-local.conf
    # The package was just installed: its postinst started it without the settings.
    restart: "{{ redis_install is changed }}"
'''

RETURN = r'''
changed_paths:
  description: The directories and files that were (or, in check mode, would be) created or changed.
  returned: always
  type: list
  elements: str
  sample: [/etc/redis/redis-local.conf]
backup_files:
  description: For each file with O(files[].backup) whose content was replaced, the path of its copy.
  returned: always
  type: dict
  sample: {}
action:
  description: What was (or would be) done to the service, V(null) for nothing.
  returned: always
  type: str
  sample: restarted
  choices: [started, restarted, reloaded, stopped]
enabled_changed:
  description: Whether the boot start was (or would be) changed.
  returned: always
  type: bool
restart_reason:
  description: Why the service was (or would be) restarted, V(null) when it was not.
  returned: always
  type: str
  sample: /usr/lib/unit/modules/python3.11.unit.so changed after the service started
daemon_reloaded:
  description: Whether systemd reloaded (or would reload) its units.
  returned: always
  type: bool
waited:
  description: Seconds it took until O(wait_for) accepted a connection (0 when it did at once).
  returned: when O(wait_for) was waited for
  type: float
  sample: 0.4
status:
  description: The service's states as systemd gave them before acting.
  returned: always
  type: dict
  sample: {LoadState: loaded, ActiveState: active, UnitFileState: enabled, ActiveEnterTimestampMonotonic: "5391774"}
'''

import os
import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.unitchannels.deploy.plugins.module_utils.systemd_service import Service
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_address import socket_endpoint
from ansible_collections.unitchannels.deploy.plugins.module_utils.app_files import (
    DIRECTORY_SPEC, LINE_SPEC, files_option, put_in_place)

RUNNING = ('active', 'activating', 'reloading')
# The states of `systemctl show -p UnitFileState` that `systemctl enable` and `disable` switch
# between; the others (static, indirect, generated, alias) are not the service's own to change.
SWITCHABLE = {'enabled': True, 'enabled-runtime': True, 'disabled': False}
SYSTEMD_PATHS = ('/etc/systemd/', '/run/systemd/system/')


def active_since(status):
    """When the service last became active, in seconds since the epoch (None when it did not say).

    systemd gives it on the monotonic clock, in microseconds: taken back to the wall clock of
    the file times it is compared with, to the microsecond.
    """
    try:
        entered = int(status.get('ActiveEnterTimestampMonotonic') or 0)
    except ValueError:
        return None
    if entered <= 0:
        return None
    return time.time() - (time.monotonic() - entered / 1e6)


def changed_since(paths, since):
    """The first of paths (or of a directory's entries) whose inode changed after since."""
    for path in paths:
        candidates = [path]
        if os.path.isdir(path):
            candidates += [os.path.join(path, name) for name in sorted(os.listdir(path))]
        for candidate in candidates:
            try:
                if os.lstat(candidate).st_ctime > since:
                    return candidate
            except OSError:
                continue
    return None


def restart_reason(params, changed_paths, status):
    if params['restart']:
        return 'asked for (restart)'
    restart_paths = [path for path in changed_paths if path not in params['reload_for_paths']]
    if restart_paths:
        return '%s changed' % ', '.join(restart_paths)
    if params['restart_for_paths']:
        started = active_since(status)
        newer = changed_since(params['restart_for_paths'], started) if started else None
        if newer:
            return '%s changed after the service started' % newer
    return None


def accepts(family, address):
    conn = socket.socket(family, socket.SOCK_STREAM)
    conn.settimeout(1)
    try:
        conn.connect(address)
        return True
    except OSError:
        return False
    finally:
        conn.close()


def wait_until_it_answers(module, service, result):
    """Until the service accepts a connection at wait_for; fails with its journal's end after wait_timeout."""
    family, address = socket_endpoint(module.params['wait_for'])
    start = time.monotonic()
    while not accepts(family, address):
        if time.monotonic() - start > module.params['wait_timeout']:
            module.fail_json(msg='%s runs, but nothing accepted a connection on %s within %d s. The end of its journal:\n%s' % (
                module.params['name'], module.params['wait_for'], module.params['wait_timeout'], service.journal()), **result)
        time.sleep(0.1)
    result['waited'] = round(time.monotonic() - start, 2)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            enabled=dict(type='bool'),
            state=dict(type='str', choices=['started', 'stopped'], default='started'),
            restart=dict(type='bool', default=False),
            restart_for_paths=dict(type='list', elements='path', default=[]),
            reload_for_paths=dict(type='list', elements='path', default=[]),
            daemon_reload=dict(type='bool', default=False),
            directories=dict(type='list', elements='dict', default=[], options=DIRECTORY_SPEC),
            files=files_option(),
            lines=dict(type='list', elements='dict', default=[], options=LINE_SPEC),
            wait_for=dict(type='str'),
            wait_timeout=dict(type='int', default=30),
        ),
        supports_check_mode=True,
        # Never the arguments in the host's log (secret_content): see app_files.
        no_log=True,
    )
    params = module.params
    if params['wait_for'] and not socket_endpoint(params['wait_for']):
        module.fail_json(msg='wait_for: %r is neither unix:/PATH nor HOST:PORT' % params['wait_for'])
    service = Service(module, params['name'])
    work = put_in_place(module, params['directories'], params['files'], params['lines'])
    result = dict(changed_paths=work.changed_paths, backup_files=work.backup_files,
                  action=None, restart_reason=None, enabled_changed=False, daemon_reloaded=False)
    if module._diff:
        result['diff'] = work.diffs

    reload_units = params['daemon_reload'] or any(path.startswith(SYSTEMD_PATHS) for path in work.changed_paths)
    if reload_units:
        result['daemon_reloaded'] = True
        if not module.check_mode:
            service.run('daemon-reload')
    status = service.status()
    result['status'] = status
    if status.get('LoadState') != 'loaded':
        if not module.check_mode:
            hint = 'unmask it first' if status.get('LoadState') == 'masked' else 'install its package first'
            module.fail_json(msg='the service %s is %s: %s' % (params['name'], status.get('LoadState') or 'unknown', hint),
                             **result)
        module.warn('the service %s is %s; in a real run it must exist by then' % (params['name'], status.get('LoadState')))

    is_enabled = SWITCHABLE.get(status.get('UnitFileState'))
    if params['enabled'] is not None and is_enabled is not None and params['enabled'] != is_enabled:
        result['enabled_changed'] = True
        if not module.check_mode:
            service.run('enable' if params['enabled'] else 'disable', '--', params['name'])

    running = status.get('ActiveState') in RUNNING
    if params['state'] == 'started' and not running:
        result['action'] = 'started'
    elif params['state'] == 'started':
        result['restart_reason'] = restart_reason(params, work.changed_paths, status)
        if result['restart_reason']:
            result['action'] = 'restarted'
        elif work.changed_paths:  # only paths the service reloads
            result['action'] = 'reloaded'
    elif params['state'] == 'stopped' and running:
        result['action'] = 'stopped'
    if result['action'] and not module.check_mode:
        service.run({'started': 'start', 'restarted': 'restart', 'reloaded': 'reload', 'stopped': 'stop'}[result['action']],
                    '--', params['name'])

    result['changed'] = bool(work.changed_paths or result['enabled_changed'] or result['action'] or reload_units)
    if params['wait_for'] and params['state'] == 'started' and not module.check_mode:
        wait_until_it_answers(module, service, result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
