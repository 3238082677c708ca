#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: app_workers
short_description: Run an app's background workers as systemd services of one release
description:
  - The long-running commands of an app that NGINX Unit does not run (Channels' C(runworker),
    Celery and the like) as systemd services that follow the release Unit serves.
  - Each worker is a template unit C(unitchannels-APP_WORKER@.service), written by this module,
    and runs as instances C(RELEASE.N) (N from 1 to O(workers[].processes)). An instance runs
    the worker's command of that release, which this module records in the release
    (C(ROOT/releases/RELEASE/.unit-workers.json)), in the release directory through the app's
    manage wrapper (C(ROOT/bin/manage --worker INSTANCE WORKER)), with the release's virtualenv
    first on C(PATH) and the app's environment and secrets, as the app's user; hardened (no new privileges, a
    read-only system but O(writable_paths), a private C(/tmp)), logging to the journal, started
    at boot.
  - O(state=started) starts the instances of O(release) and checks that each stays up for
    O(settle) seconds; instances of other releases keep running (the release Unit serves until
    the switch). One that does not stay up fails the task naming the worker, with its last journal
    lines, and the instances this call started are stopped again.
  - O(state=exclusive) does the same, then stops and disables every other instance of the app's
    workers (other releases, workers no longer declared) and removes the template units of workers
    no longer declared. A stopped worker gets its C(stop_signal) and finishes the work in hand
    for up to C(stop_timeout) seconds.
  - O(state=stopped) stops and disables the instances of O(release) (a deploy that failed after
    they started).
  - O(state=restarted) restarts every running instance of the app's workers (each finishes its
    work in hand first), as C(playbooks/restart.yml) does with the app; O(release) is not needed.
  - Supports check mode and diff (the instances that run before and after).
version_added: 0.3.0
author: unitchannels maintainers (@unitchannels)
options:
  app:
    description: The app's name (C(channels_app_name)); names the units.
    type: str
    required: true
  root:
    description: The app's root directory (C(channels_app_root)), with C(releases/) and C(bin/manage). Required unless O(state=restarted).
    type: path
  release:
    description:
      - The release (a directory name under C(ROOT/releases)) whose instances to run or stop.
      - Required unless O(state=restarted).
    type: str
  workers:
    description: The app's workers on this host.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The worker's name (lower-case letters, digits and C(-)).
        type: str
        required: true
      command:
        description:
          - The command and its arguments. C(manage) first runs the release's C(manage.py); a
            program of the release's virtualenv (C(celery)) or an absolute path otherwise.
        type: list
        elements: str
        required: true
      processes:
        description: How many instances run (each one process of the command).
        type: int
        default: 1
      stop_signal:
        description: The signal that asks the command to stop.
        type: str
        default: SIGTERM
      stop_timeout:
        description: Seconds a stopping command may take to finish its work in hand before it is killed.
        type: int
        default: 30
      hosts:
        description:
          - The inventory hosts the worker runs on (one for a worker that must run once, such as a
            scheduler); unset, every host. On another host it is treated as not declared.
        type: list
        elements: str
  host:
    description: This host's inventory name, matched against O(workers[].hosts).
    type: str
    default: ''
  user:
    description: The user the workers run as (the app's). Required unless O(state=restarted).
    type: str
  group:
    description: Their group. Required unless O(state=restarted).
    type: str
  writable_paths:
    description: The only paths the workers may write (with a private C(/tmp)).
    type: list
    elements: path
    default: []
  after:
    description: Units the workers start after (the channel layer's Redis, the database).
    type: list
    elements: str
    default: []
  state:
    description: What to do with the instances of O(release) (see the description).
    type: str
    choices: [started, exclusive, stopped, restarted]
    default: exclusive
  settle:
    description: Seconds a started instance must stay up to count as up.
    type: float
    default: 3
  secrets:
    description:
      - The app's secret values (its secrets file's). Never shown, and masked in the journal
        lines of a worker that did not come up (a URL's password on its own too).
    type: list
    elements: str
    default: []
  restart:
    description:
      - Restart the instances of O(release) that run (with O(state=started) or O(state=exclusive))
        because what they read at start changed (the app's secrets, its loader).
    type: bool
    default: false
  unit_dir:
    description: Where the template units are written.
    type: path
    default: /etc/systemd/system
attributes:
  check_mode:
    support: full
    details: Reports the units it would write and the instances it would start and stop; runs nothing.
  diff_mode:
    support: full
    details: The running instances before and after.
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
notes:
  - Messages sent to a worker's channel while its instances switch wait in the channel layer
    (channels-redis keeps them for its C(expiry), 60 seconds by default).
'''

EXAMPLES = r'''
- name: Run the release's workers, then make them the only ones
  unitchannels.deploy.app_workers:
    app: chat
    root: /srv/chat
    release: 3f9c2a1b0d4e
    user: unit
    group: unit
    writable_paths: [/srv/chat/shared]
    after: [redis-server.service]
    workers:
      - {name: stats, command: [manage, runworker, chat-stats]}
      - {name: celery, command: [celery, -A, chatsite, worker, -c, "2"], processes: 1, stop_timeout: 60}
'''

RETURN = r'''
started:
  description: The instances this call started.
  returned: always
  type: list
  elements: str
  sample: [unitchannels-chat_stats@3f9c2a1b0d4e.1.service]
stopped:
  description: The instances this call stopped.
  returned: always
  type: list
  elements: str
written:
  description: The template units this call wrote.
  returned: always
  type: list
  elements: path
removed:
  description: The template units this call removed (workers no longer declared).
  returned: always
  type: list
  elements: path
running:
  description: The app's worker instances that run after the call.
  returned: always
  type: list
  elements: str
'''

import json
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.unitchannels.deploy.plugins.module_utils.secret_mask import mask
from ansible_collections.unitchannels.deploy.plugins.module_utils.systemd_service import Service
from ansible_collections.unitchannels.deploy.plugins.module_utils.worker_units import (
    template_workers,
    unit_name,
    units_of,
    worker_of,
)

NAME = re.compile(r'^[a-z0-9][a-z0-9-]*$')
SIGNAL = re.compile(r'^SIG[A-Z0-9+-]+$')
UP_PROPERTIES = ('ActiveState', 'SubState', 'NRestarts', 'Result', 'ExecMainStatus')


def systemd_quote(word):
    """One word of ExecStart: double-quoted, with systemd's specifiers and variables kept literal."""
    return '"%s"' % word.replace('\\', '\\\\').replace('"', '\\"').replace('%', '%%').replace('$', '$$')


def unit_text(params, worker):
    """The template unit of a worker (its instances: RELEASE.N)."""
    app, root = params['app'], params['root']
    after = ' '.join(['network-online.target'] + params['after'])
    lines = [
        '# Managed by Ansible (unitchannels.deploy.app_workers): worker %s of %s.' % (worker['name'], app),
        '[Unit]',
        'Description=unitchannels %s: worker %s (release and instance %%i)' % (app, worker['name']),
        'After=%s' % after,
        'Wants=network-online.target',
        # A Redis or database outage of any length: keep trying (systemd gives up after 5 starts in 10 s).
        'StartLimitIntervalSec=0',
        '',
        '[Service]',
        'Type=exec',
        'User=%s' % params['user'],
        'Group=%s' % params['group'],
        # The command is the release's (its .unit-workers.json): a rollback runs the old one.
        'ExecStart=%s %s %%i %s' % (systemd_quote(root + '/bin/manage'), systemd_quote('--worker'), systemd_quote(worker['name'])),
        'KillSignal=%s' % worker['stop_signal'],
        'TimeoutStopSec=%d' % worker['stop_timeout'],
        'Restart=on-failure',
        'RestartSec=5',
        'SyslogIdentifier=unitchannels-%s-%s' % (app, worker['name']),
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        'ProtectHome=read-only',
        'PrivateTmp=yes',
        'ProtectKernelTunables=yes',
        'ProtectControlGroups=yes',
        'RestrictSUIDSGID=yes',
    ]
    if params['writable_paths']:
        lines.append('ReadWritePaths=%s' % ' '.join(params['writable_paths']))
    lines += ['', '[Install]', 'WantedBy=multi-user.target', '']
    return '\n'.join(lines)


def instances(params, release):
    return [unit_name(params['app'], w['name'], '%s.%d' % (release, n))
            for w in params['workers'] for n in range(1, w['processes'] + 1)]


def existing(params):
    """The app's worker instances enabled at boot (systemd's wants links)."""
    wants = os.path.join(params['unit_dir'], 'multi-user.target.wants')
    return units_of(params['app'], os.listdir(wants)) if os.path.isdir(wants) else set()


def running(module, systemctl, app):
    # Active only: one that keeps restarting (activating, auto-restart) is started again and checked.
    rc, out, err = module.run_command([systemctl, 'list-units', '--plain', '--no-legend', '--state=active',
                                       'unitchannels-%s_*@*.service' % app])
    if rc != 0:
        module.fail_json(msg='systemctl list-units failed: %s' % (err or out).strip())
    return units_of(app, [line.split()[0] for line in out.splitlines() if line.strip()])


def journal(module, unit):
    journalctl = module.get_bin_path('journalctl')
    if not journalctl:
        return ''
    rc, out, err = module.run_command([journalctl, '--no-pager', '-n', '20', '-o', 'cat', '-u', unit])
    return out.strip() if rc == 0 else ''


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return None


def start(module, systemctl, unit):
    """Enable and (re)start an instance, waiting for its job (a running one first finishes its work
    in hand); a start that fails is not fatal here: the check after it reports it, with the journal."""
    Service(module, unit).run('enable', '--', unit)
    module.run_command([systemctl, 'reset-failed', '--', unit])
    module.run_command([systemctl, 'restart', '--', unit])


def write_units(module, units):
    """Write (or, for None, remove) each path's text, then make systemd read them again."""
    for path, text in units.items():
        if text is None:
            if os.path.exists(path):
                os.remove(path)
            continue
        with open(path + '.tmp', 'w') as f:
            f.write(text)
        os.chmod(path + '.tmp', 0o644)
        os.rename(path + '.tmp', path)
    if any(path.endswith('.service') for path in units):
        Service(module, '').run('daemon-reload')


def restart_all(module):
    """state=restarted: every running instance of the app's workers, restarted."""
    systemctl = module.get_bin_path('systemctl', required=True)
    units = sorted(running(module, systemctl, module.params['app']))
    result = dict(changed=bool(units), started=units, stopped=units, written=[], removed=[], running=units)
    if not module.check_mode:
        for unit in units:
            Service(module, unit).run('restart', '--', unit)
    module.exit_json(**result)


def check_worker(params):
    for worker in params['workers']:
        if not NAME.match(worker['name']):
            return 'worker name %r: use lower-case letters, digits and -' % worker['name']
        if not worker['command']:
            return 'worker %s: command is empty' % worker['name']
        if worker['processes'] < 1:
            return 'worker %s: processes is %d, it must be at least 1' % (worker['name'], worker['processes'])
        if worker['stop_timeout'] < 1:
            return 'worker %s: stop_timeout is %d, it must be at least 1 (seconds)' % (worker['name'], worker['stop_timeout'])
        if not SIGNAL.match(worker['stop_signal']):
            return 'worker %s: stop_signal %s is not a signal name such as SIGTERM' % (worker['name'], worker['stop_signal'])
    names = [w['name'] for w in params['workers']]
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        return 'worker names must be unique: %s' % ', '.join(duplicates)
    if params['release'] is not None and not re.match(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$', params['release']):
        return 'release %r is not a release directory name' % params['release']
    return None


def main():
    worker_spec = dict(
        name=dict(type='str', required=True),
        command=dict(type='list', elements='str', required=True),
        processes=dict(type='int', default=1),
        stop_signal=dict(type='str', default='SIGTERM'),
        stop_timeout=dict(type='int', default=30),
        hosts=dict(type='list', elements='str'),
    )
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type='str', required=True),
            host=dict(type='str', default=''),
            root=dict(type='path'),
            release=dict(type='str'),
            workers=dict(type='list', elements='dict', options=worker_spec, default=[]),
            user=dict(type='str'),
            group=dict(type='str'),
            writable_paths=dict(type='list', elements='path', default=[]),
            after=dict(type='list', elements='str', default=[]),
            state=dict(type='str', choices=['started', 'exclusive', 'stopped', 'restarted'], default='exclusive'),
            settle=dict(type='float', default=3),
            restart=dict(type='bool', default=False),
            secrets=dict(type='list', elements='str', default=[], no_log=True),
            unit_dir=dict(type='path', default='/etc/systemd/system'),
        ),
        required_if=[(state, value, ['release', 'root', 'user', 'group'])
                     for state, value in (('state', 'started'), ('state', 'exclusive'), ('state', 'stopped'))],
        supports_check_mode=True,
    )
    params = module.params
    if params['state'] == 'restarted':
        restart_all(module)
    problem = check_worker(params)
    # The workers of this host: the others count as not declared here.
    params['workers'] = [w for w in params['workers'] if not w['hosts'] or params['host'] in w['hosts']]
    if problem:
        module.fail_json(msg=problem)
    systemctl = module.get_bin_path('systemctl', required=True)
    state = params['state']
    wanted = instances(params, params['release'])
    before = running(module, systemctl, params['app'])
    result = dict(changed=False, started=[], stopped=[], written=[], removed=[], running=sorted(before))

    # The template units: written when they differ; those of workers no longer declared removed
    # once their instances are stopped (exclusive).
    units, previous = {}, {}
    if state != 'stopped':
        wanted_files = dict((os.path.join(params['unit_dir'], unit_name(params['app'], w['name'])), unit_text(params, w))
                            for w in params['workers'])
        # The release's own record of its workers' commands.
        record = os.path.join(params['root'], 'releases', params['release'], '.unit-workers.json')
        wanted_files[record] = json.dumps(dict((w['name'], w['command']) for w in params['workers']),
                                          indent=2, sort_keys=True) + '\n'
        for path, text in wanted_files.items():
            previous[path] = read(path)
            if previous[path] != text:
                units[path] = text
    declared = set(unit_name(params['app'], w['name']) for w in params['workers'])
    obsolete = [os.path.join(params['unit_dir'], unit_name(params['app'], worker))
                for worker in template_workers(params['app'], params['unit_dir'])
                if unit_name(params['app'], worker) not in declared] \
        if state == 'exclusive' else []
    if state == 'stopped':
        to_start, to_stop = [], sorted(set(wanted) & (before | existing(params)))
    else:
        # A changed template, a changed command or what they read at start restarts the release's
        # instances that run.
        restart = [unit for unit in wanted if unit in before and (
            params['restart'] or record in units
            or os.path.join(params['unit_dir'], re.sub(r'@.*', '@.service', unit)) in units)]
        to_start = [unit for unit in wanted if unit not in before or unit in restart]
        to_stop = sorted((before | existing(params)) - set(wanted)) if state == 'exclusive' else []
    after = sorted((before - set(to_stop)) | set(to_start))
    result.update(written=sorted(units), removed=obsolete, started=to_start, stopped=to_stop, running=after,
                  changed=bool(units or obsolete or to_start or to_stop))
    if module._diff and result['changed']:
        result['diff'] = dict(before='\n'.join(sorted(before)) + '\n', after='\n'.join(after) + '\n',
                              before_header='worker instances', after_header='worker instances')
    if module.check_mode or not result['changed']:
        module.exit_json(**result)

    write_units(module, units)
    for unit in to_start:
        start(module, systemctl, unit)
    if to_start and params['settle'] > 0:
        time.sleep(params['settle'])
    for unit in to_start:
        status = Service(module, unit).status(UP_PROPERTIES)
        if status.get('ActiveState') != 'active' or status.get('NRestarts', '0') not in ('', '0'):
            # The definitions go back to what ran before; the instances that ran before run again
            # with them, the others go.
            write_units(module, dict((path, previous[path]) for path in units))
            for started in to_start:
                if started in before:
                    start(module, systemctl, started)
                else:
                    Service(module, started).run('disable', '--now', '--', started)
            result.update(changed=True, started=[], stopped=[u for u in to_start if u not in before], running=sorted(before))
            worker = worker_of(params['app'], unit)
            module.fail_json(msg='Worker %s of %s did not stay up on release %s: %s is %s (%s, restarted %s times, exit status %s). '
                                 'Its last journal lines:\n%s'
                                 % (worker, params['app'], params['release'], unit, status.get('ActiveState'),
                                    status.get('Result'), status.get('NRestarts') or 0, status.get('ExecMainStatus'),
                                    mask(journal(module, unit), params['secrets']) or '(none)'), **result)
    for unit in to_stop:
        Service(module, unit).run('disable', '--now', '--', unit)
    write_units(module, dict((path, None) for path in obsolete))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
