# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""haproxy_server against a fake runtime API that answers as HAProxy 2.6's does (one command per
connection; `show stat` CSV whose first columns are HAProxy's; `set server` answers an empty line)."""

from __future__ import absolute_import, division, print_function

import os
import socket
import tempfile
import threading

import pytest

from ansible_collections.unitchannels.deploy.plugins.modules import haproxy_server

# The first columns of HAProxy 2.6's `show stat` header, as it prints them (it has 129 in all).
COLUMNS = ('pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,'
           'status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,'
           'type,rate,rate_lim,rate_max,check_status,check_code').split(',')


class FakeHAProxy(object):
    """Servers of chat_http (checked) and chat_ws (tracking them); drain and maint propagate."""

    def __init__(self, path):
        self.path = path
        # admin: srv_admin_state (8 drained, 1 maintenance), as `show servers state` gives it.
        self.servers = {'app1': {'status': 'UP', 'scur': 0, 'admin': 0}, 'app2': {'status': 'UP', 'scur': 0, 'admin': 0}}
        self.commands = []
        # Called after each `show stat`: lets a test move sessions or health along.
        self.tick = None
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(8)
        self.thread = threading.Thread(target=self.serve)
        self.thread.daemon = True
        self.thread.start()

    def stat(self):
        rows = ['# ' + ','.join(COLUMNS)]
        for backend in ('chat_http', 'chat_ws'):
            for name, server in sorted(self.servers.items()):
                values = dict(pxname=backend, svname=name, status=server['status'],
                              scur=str(server['scur'] if backend == 'chat_http' else 7),
                              check_status='L7OK' if backend == 'chat_http' and server['status'] == 'UP' else 'L4CON')
                rows.append(','.join(values.get(column, '') for column in COLUMNS))
            rows.append(','.join(dict(pxname=backend, svname='BACKEND', status='UP').get(c, '') for c in COLUMNS))
        return '\n'.join(rows) + '\n\n'

    def servers_state(self, backend):
        columns = ('be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight '
                   'srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state '
                   'srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl '
                   'srv_check_port srv_check_addr srv_agent_addr srv_agent_port')
        rows = ['1', '# ' + columns]
        for number, (name, server) in enumerate(sorted(self.servers.items()), 1):
            admin = server['admin'] if backend == 'chat_http' else (16 if server['admin'] & 8 else 0)
            rows.append('3 %s %d %s 10.0.0.%d 2 %d 1 1 5 15 3 3 6 0 0 0 - 80 - 0 0 - - 0' % (backend, number, name, number, admin))
        return '\n'.join(rows) + '\n\n'

    def serve(self):
        while True:
            try:
                conn = self.listener.accept()[0]
            except OSError:
                return
            line = conn.recv(4096).decode().strip()
            self.commands.append(line)
            if line == 'show stat':
                answer = self.stat()
                if self.tick:
                    self.tick(self)
            elif line.startswith('show servers state '):
                backend = line.split(' ')[3]
                answer = self.servers_state(backend) if backend in ('chat_http', 'chat_ws') else "Can't find backend.\n"
            elif line.startswith('set server '):
                target, dummy, state = line[len('set server '):].split(' ')
                server = self.servers[target.split('/')[1]]
                # A drained server that fails its check shows DOWN; ready clears drain and maintenance.
                if dummy == 'health':
                    # Forced DOWN until the check passes again (the test's tick); admin state kept.
                    server['status'] = 'DOWN' if state == 'down' else server['status']
                elif state == 'drain':
                    server['admin'] |= 8
                    server['status'] = 'DRAIN' if server['status'] == 'UP' else server['status']
                elif state == 'ready':
                    server['admin'] = 0
                    server['status'] = 'UP' if server['status'] in ('DRAIN', 'MAINT') else server['status']
                answer = '\n'
            else:
                answer = 'Unknown command.\n'
            conn.sendall(answer.encode())
            conn.close()

    def close(self):
        self.listener.close()


@pytest.fixture
def haproxy(monkeypatch):
    monkeypatch.setattr(haproxy_server, 'POLL_INTERVAL', 0.01)
    directory = tempfile.mkdtemp()
    fake = FakeHAProxy(os.path.join(directory, 'admin.sock'))
    yield fake
    fake.close()


def run(run_module, haproxy, check_mode=False, **args):
    args.setdefault('socket', haproxy.path)
    args.setdefault('backend', 'chat_http')
    args.setdefault('server', 'app1')
    return run_module(haproxy_server, args, check_mode=check_mode, diff=True)


def sets(haproxy):
    return [c for c in haproxy.commands if c.startswith('set ')]


def test_drain_waits_for_the_http_sessions_to_end(run_module, haproxy):
    haproxy.servers['app1']['scur'] = 3

    def finish_one(fake):
        if fake.servers['app1']['status'] == 'DRAIN' and fake.servers['app1']['scur']:
            fake.servers['app1']['scur'] -= 1
    haproxy.tick = finish_one
    result = run(run_module, haproxy, state='drain', drain_timeout=5)
    assert not result['failed'] and result['changed']
    assert (result['before'], result['status'], result['sessions']) == ('UP', 'DRAIN', 0)
    assert sets(haproxy) == ['set server chat_http/app1 state drain']
    assert result['diff'] == {'before': 'chat_http/app1: UP\n', 'after': 'chat_http/app1: DRAIN\n'}


def test_drain_gives_up_waiting_after_its_timeout(run_module, haproxy):
    haproxy.servers['app1']['scur'] = 2
    result = run(run_module, haproxy, state='drain', drain_timeout=0.2)
    assert not result['failed'] and result['status'] == 'DRAIN' and result['sessions'] == 2
    assert 0.2 <= result['waited'] < 2


def test_the_last_server_up_is_kept_in(run_module, haproxy):
    haproxy.servers['app2']['status'] = 'DOWN'
    result = run(run_module, haproxy, state='drain')
    assert result['alone'] and not result['changed'] and sets(haproxy) == []
    result = run(run_module, haproxy, state='drain', keep_last=False, drain_timeout=0)
    assert result['changed'] and result['status'] == 'DRAIN'


def test_ready_waits_for_the_health_check(run_module, haproxy):
    haproxy.servers['app1'].update(status='DRAIN', admin=8)

    def check_passes(fake):
        if fake.servers['app1']['status'] == 'UP' and not getattr(fake, 'seen', False):
            fake.seen = True
            fake.servers['app1']['status'] = 'DOWN'
        elif getattr(fake, 'seen', False):
            fake.servers['app1']['status'] = 'UP'
    haproxy.tick = check_passes
    result = run(run_module, haproxy, state='ready')
    assert not result['failed'] and result['changed'] and result['status'] == 'UP'


def test_recheck_takes_a_restarted_server_back_only_after_its_check_passes_again(run_module, haproxy):
    # Drained, and restarted faster than the check notices: HAProxy still has it UP underneath.
    haproxy.servers['app1'].update(status='DRAIN', admin=8)
    checks = []

    def rise(fake):
        if fake.servers['app1']['status'] == 'DOWN':
            checks.append(1)
            if len(checks) == 3:
                fake.servers['app1']['status'] = 'UP'
    haproxy.tick = rise
    result = run(run_module, haproxy, state='ready', recheck=True)
    assert not result['failed'] and result['changed'] and result['status'] == 'UP'
    assert sets(haproxy) == ['set server chat_http/app1 health down', 'set server chat_http/app1 state ready']
    assert len(checks) == 3


def test_without_recheck_a_restarted_server_is_back_at_once(run_module, haproxy):
    haproxy.servers['app1'].update(status='DRAIN', admin=8)
    result = run(run_module, haproxy, state='ready')
    assert result['changed'] and result['status'] == 'UP'
    assert sets(haproxy) == ['set server chat_http/app1 state ready']


def test_recheck_leaves_a_server_that_was_not_drained_alone(run_module, haproxy):
    result = run(run_module, haproxy, state='ready', recheck=True)
    assert not result['changed'] and sets(haproxy) == []
    result = run(run_module, haproxy, state='drain', recheck=True, drain_timeout=0)
    assert sets(haproxy) == ['set server chat_http/app1 state drain']


def test_ready_fails_when_the_health_check_keeps_it_down(run_module, haproxy):
    haproxy.servers['app1']['status'] = 'DOWN'
    result = run(run_module, haproxy, state='ready', up_timeout=0.2)
    assert result['failed'] and not result['changed']
    assert 'chat_http/app1 is DOWN at the edge' in result['msg'] and 'L4CON' in result['msg']


def test_settled_states_change_nothing(run_module, haproxy):
    assert not run(run_module, haproxy, state='ready')['changed']
    haproxy.servers['app1'].update(status='DRAIN', admin=8)
    assert not run(run_module, haproxy, state='drain', drain_timeout=0)['changed']
    assert sets(haproxy) == []


def test_check_mode_reports_and_sets_nothing(run_module, haproxy):
    result = run(run_module, haproxy, check_mode=True, state='drain')
    assert result['changed'] and result['diff']['after'] == 'chat_http/app1: DRAIN\n'
    assert sets(haproxy) == [] and haproxy.servers['app1']['status'] == 'UP'


def test_a_drained_host_that_is_down_is_put_back(run_module, haproxy):
    # Drained, then its Unit restarted slower than the check: HAProxy shows it DOWN, not DRAIN.
    haproxy.servers['app1'].update(status='DOWN', admin=8)

    def comes_up(fake):
        if fake.servers['app1']['admin'] == 0:
            fake.servers['app1']['status'] = 'UP'
    haproxy.tick = comes_up
    result = run(run_module, haproxy, state='ready')
    assert not result['failed'] and result['changed'] and result['before'] == 'DOWN' and result['status'] == 'UP'
    assert sets(haproxy) == ['set server chat_http/app1 state ready'] and not result['out']


def test_maintenance_set_by_hand_is_left_alone(run_module, haproxy, monkeypatch):
    warnings = []
    monkeypatch.setattr(haproxy_server.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    haproxy.servers['app1'].update(status='MAINT', admin=1)
    for state in ('ready', 'drain'):
        result = run(run_module, haproxy, state=state)
        assert not result['failed'] and not result['changed'] and result['out']
    assert sets(haproxy) == [] and 'in maintenance (set by hand): left as it is' in warnings[0]


def test_no_haproxy_or_an_unknown_server_changes_nothing_and_warns(run_module, haproxy, tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(haproxy_server.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    result = run(run_module, haproxy, state='drain', server='app9')
    assert not result['failed'] and not result['found'] and 'no server app9 in backend chat_http (it has: app1, app2)' in warnings[0]
    result = run(run_module, haproxy, state='drain', socket=str(tmp_path / 'none.sock'))
    assert not result['failed'] and not result['found'] and 'HAProxy is not running here' in warnings[1]


def test_an_haproxy_without_the_backend_changes_nothing_and_warns(run_module, haproxy, monkeypatch):
    """Debian's own configuration runs until the haproxy role writes its own: no drain, no failure."""
    warnings = []
    monkeypatch.setattr(haproxy_server.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    result = run(run_module, haproxy, state='drain', backend='channels_http')
    assert not result['failed'] and not result['found'] and not result['changed']
    assert 'HAProxy has no backend channels_http' in warnings[0] and sets(haproxy) == []
