#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: haproxy_server
short_description: Take an app host out of HAProxy before a change, and put it back after
description:
  - Sets the administrative state of server O(server) of backend O(backend) through HAProxy's
    runtime API (its C(stats socket)), then waits for what that state means.
  - V(drain) sends the server no new connections (the backends that C(track) it follow), then
    waits up to O(drain_timeout) seconds until its sessions in O(backend) have ended. The edge of
    the haproxy role passes WebSockets through another backend, so O(backend) counts HTTP
    requests only, and its WebSockets stay open until the change closes them.
  - V(ready) takes it back and waits up to O(up_timeout) seconds for HAProxy's health check to
    see it UP; when it does not, the module fails with the check's status.
  - The drain is HAProxy's administrative state (C(show servers state)), whatever the health
    check says meanwhile - V(ready) takes back a drained server that is DOWN too. A server an
    operator put into maintenance (C(set server ... state maint)) is left there by both states,
    with a warning - V(drain) has nothing to do, and V(ready) does not undo it.
  - With O(keep_last), the last server that is UP is never drained; the module changes nothing,
    says so in RV(alone), and the change runs with the clients connected (a single host behind
    its own front has nowhere else to send them).
  - No HAProxy (its socket missing) or a server it does not know yet (a host added to the fleet
    before the edge's configuration names it) changes nothing and warns.
version_added: 0.9.0
author: unitchannels maintainers (@unitchannels)
options:
  socket:
    description: HAProxy's runtime API socket (C(stats socket ... level admin)).
    type: path
    default: /run/haproxy/admin.sock
  backend:
    description: The backend whose health check judges the server.
    type: str
    required: true
  server:
    description: The server's name in O(backend).
    type: str
    required: true
  state:
    description: The administrative state to set.
    type: str
    choices: [ready, drain]
    required: true
  drain_timeout:
    description: With O(state=drain), how long to wait for the server's sessions in O(backend) to end, in seconds.
    type: float
    default: 30
  up_timeout:
    description: With O(state=ready), how long to wait for the health check to see the server UP, in seconds.
    type: float
    default: 30
  keep_last:
    description: Never take the last server that is UP out of O(backend).
    type: bool
    default: true
  recheck:
    description:
      - With O(state=ready), for a drained server whose service restarted while it was out, mark it
        DOWN before taking it back (C(set server ... health down)), so that it gets traffic only once
        the health check has passed C(rise) times since.
      - Without it, a restart shorter than the health check's C(fall) checks leaves the server UP in
        HAProxy's eyes, and it is taken back at once, before its app answers again.
      - Its WebSockets' backend (C(track)) follows it DOWN and closes what it still holds, so not for
        a change that keeps them open (a code deploy).
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the server's state and reports whether it would change; sets nothing and waits for nothing.
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - Run it on the HAProxy host (C(delegate_to)), as a user who may use the socket (root, or the
    C(haproxy) group with Debian's C(mode 660)).
'''

EXAMPLES = r'''
- name: Take the app host out of every edge before its Unit restarts
  become: true
  delegate_to: "{{ item }}"
  loop: "{{ groups['edge'] }}"
  unitchannels.deploy.haproxy_server:
    backend: chat_http
    server: "{{ inventory_hostname }}"
    state: drain
    drain_timeout: 20
'''

RETURN = r'''
status:
  description: The server's status as HAProxy's C(show stat) gives it (V(UP), V(DRAIN), V(DOWN), V(MAINT), ...), after the module.
  returned: when HAProxy knows the server
  type: str
  sample: DRAIN
before:
  description: The server's status before the module.
  returned: when HAProxy knows the server
  type: str
  sample: UP
sessions:
  description: The server's current sessions in O(backend) when the module returned.
  returned: when HAProxy knows the server
  type: int
  sample: 0
waited:
  description: Seconds spent waiting for the sessions to end or for the server to come UP.
  returned: always
  type: float
  sample: 1.2
alone:
  description: O(keep_last) kept the server in, as the only one UP.
  returned: always
  type: bool
  sample: false
found:
  description: HAProxy runs and knows the server.
  returned: always
  type: bool
  sample: true
out:
  description: The server is drained or in maintenance when the module returns (its clients go elsewhere).
  returned: always
  type: bool
  sample: false
'''

import csv
import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

POLL_INTERVAL = 0.5
# srv_admin_state bits (HAProxy's server.h): forced maintenance, and forced drain.
ADMIN_FORCED_MAINT = 0x01
ADMIN_FORCED_DRAIN = 0x08


class RuntimeAPI(object):
    """One command per connection, as HAProxy's non-interactive mode answers."""

    def __init__(self, path):
        self.path = path

    def command(self, line):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(10)
        try:
            conn.connect(self.path)
            conn.sendall(to_bytes(line + '\n'))
            chunks = []
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            conn.close()
        return to_text(b''.join(chunks))

    def servers(self, backend):
        """{server name: its `show stat` row, with its srv_admin_state as 'admin'} for backend; None without it."""
        text = self.command('show stat')
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines or not lines[0].startswith('# '):
            raise ValueError('unexpected answer to "show stat": %s' % text.strip()[:200])
        lines[0] = lines[0][2:]
        rows = {}
        known = False
        for row in csv.DictReader(lines):
            if row.get('pxname') == backend:
                known = True
                if row.get('svname') not in ('FRONTEND', 'BACKEND'):
                    rows[row['svname']] = row
        if not known:
            return None
        for name, admin in self.admin_states(backend).items():
            if name in rows:
                rows[name]['admin'] = admin
        return rows

    def admin_states(self, backend):
        """{server name: srv_admin_state} from `show servers state BACKEND` (version 1 format)."""
        text = self.command('show servers state %s' % backend)
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines or not lines[0].strip().isdigit() or len(lines) < 2 or not lines[1].startswith('# '):
            raise ValueError('unexpected answer to "show servers state": %s' % text.strip()[:200])
        columns = lines[1][2:].split()
        states = {}
        for line in lines[2:]:
            fields = dict(zip(columns, line.split()))
            states[fields.get('srv_name')] = int(fields.get('srv_admin_state') or 0)
        return states


def status_word(row):
    """UP, DOWN, DRAIN, MAINT, ... without the transition counts or "(via ...)"."""
    return (row.get('status') or '').split(' ')[0]


def is_up(row):
    return status_word(row) == 'UP'


def main():
    module = AnsibleModule(
        argument_spec=dict(
            socket=dict(type='path', default='/run/haproxy/admin.sock'),
            backend=dict(type='str', required=True),
            server=dict(type='str', required=True),
            state=dict(type='str', required=True, choices=['ready', 'drain']),
            drain_timeout=dict(type='float', default=30),
            up_timeout=dict(type='float', default=30),
            keep_last=dict(type='bool', default=True),
            recheck=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    api = RuntimeAPI(p['socket'])
    result = dict(changed=False, waited=0.0, alone=False, found=False, out=False)
    target = '%s/%s' % (p['backend'], p['server'])
    try:
        servers = api.servers(p['backend'])
    except (OSError, socket.error) as e:
        module.warn('HAProxy is not running here (%s: %s): nothing to take out or put back' % (p['socket'], e))
        module.exit_json(**result)
    except ValueError as e:
        module.fail_json(msg='HAProxy at %s: %s' % (p['socket'], e), **result)
    # An HAProxy that runs another configuration (Debian's own, after a first run that stopped
    # before the haproxy role wrote its own): the haproxy role's run is what puts the host in.
    if servers is None:
        module.warn('HAProxy has no backend %s (it does not run the haproxy role\'s configuration yet): '
                    'nothing to take out or put back' % p['backend'])
        module.exit_json(**result)
    row = servers.get(p['server'])
    if row is None:
        module.warn('HAProxy has no server %s in backend %s (it has: %s): nothing to take out or put back'
                    % (p['server'], p['backend'], ', '.join(sorted(servers)) or 'none'))
        module.exit_json(**result)
    before, admin = status_word(row), row.get('admin', 0)
    drained, maint = bool(admin & ADMIN_FORCED_DRAIN), bool(admin & ADMIN_FORCED_MAINT)
    result.update(found=True, before=before, status=before, sessions=int(row.get('scur') or 0), out=drained or maint)
    if maint:
        module.warn('%s is in maintenance (set by hand): left as it is' % target)
        module.exit_json(**result)

    if p['state'] == 'drain':
        change = not drained
        if change and p['keep_last'] and is_up(row):
            if not [name for name, other in servers.items() if name != p['server'] and is_up(other)]:
                result['alone'] = True
                module.exit_json(**result)
    else:
        change = drained
    result['changed'] = change
    after = 'DRAIN' if p['state'] == 'drain' else 'UP'
    if module._diff:
        result['diff'] = dict(before='%s: %s\n' % (target, 'DRAIN' if drained else before),
                              after='%s: %s\n' % (target, after if change else ('DRAIN' if drained else before)))
    if module.check_mode:
        module.exit_json(**result)

    if change and p['state'] == 'ready' and p['recheck']:
        answer = api.command('set server %s health down' % target).strip()
        if answer:
            module.fail_json(msg='HAProxy refused to mark %s DOWN until it is checked again: %s' % (target, answer), **result)
    if change:
        answer = api.command('set server %s state %s' % (target, p['state'])).strip()
        if answer:
            module.fail_json(msg='HAProxy refused to set %s to %s: %s' % (target, p['state'], answer), **result)
    result['out'] = p['state'] == 'drain'

    started = time.time()
    timeout = p['drain_timeout'] if p['state'] == 'drain' else p['up_timeout']
    while True:
        try:
            row = api.servers(p['backend']).get(p['server'], row)
        except (OSError, socket.error, ValueError) as e:
            module.fail_json(msg='HAProxy at %s stopped answering while %s was set to %s: %s'
                             % (p['socket'], target, p['state'], e), **result)
        result.update(status=status_word(row), sessions=int(row.get('scur') or 0))
        done = result['sessions'] == 0 if p['state'] == 'drain' else is_up(row)
        if done or time.time() - started >= timeout:
            break
        time.sleep(POLL_INTERVAL)
    result['waited'] = round(time.time() - started, 2)
    if p['state'] == 'ready' and not is_up(row):
        module.fail_json(msg='%s is %s at the edge %.0f s after it was put back (health check: %s %s): '
                             'it gets no traffic until its health check passes'
                             % (target, row.get('status'), result['waited'],
                                row.get('check_status') or '-', row.get('last_chk') or ''), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
