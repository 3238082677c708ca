# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

import os
import time

import pytest

from ansible_collections.unitchannels.deploy.plugins.modules import unit_app_restart


@pytest.fixture
def configured(fake, recorded, monkeypatch):
    fake.config = recorded.djangochannels_config
    fake.running['djangochannels'] = 1
    monkeypatch.setattr(unit_app_restart, 'SETTLE_SECONDS', 0.2)
    monkeypatch.setattr(unit_app_restart, 'POLL_INTERVAL', 0.05)
    return fake


def run(run_module, fake, **args):
    check_mode = args.pop('check_mode', False)
    args.setdefault('name', 'djangochannels')
    args.setdefault('socket', fake.socket_path)
    args.setdefault('log_file', fake.log_path)
    return run_module(unit_app_restart, args, check_mode=check_mode)


def restarts(fake):
    return [r for r in fake.requests if r.raw_path.startswith('/control/')]


def test_restart_ok(run_module, configured, recorded):
    result = run(run_module, configured)
    assert result['changed'] is True and not result['failed']
    assert result['response'] == recorded.restart_ok
    assert result['app_status']['processes']['running'] == 1
    assert [(r.method, r.raw_path) for r in restarts(configured)] == [
        ('GET', '/control/applications/djangochannels/restart')]
    # the old prototype's "sendmsg ... Broken pipe" alert is not a failure of the new processes
    assert 'sendmsg' in configured.log_text()


def test_restart_waits_for_a_process(run_module, configured):
    configured.restart_mode['djangochannels'] = 'slow'
    configured.slow_start_polls = 3
    result = run(run_module, configured)
    assert result['changed'] is True and not result['failed']
    polls = [r for r in configured.requests if r.raw_path == '/status/applications/djangochannels']
    assert len(polls) >= 4


def test_restart_broken_code(run_module, configured, recorded):
    configured.restart_mode['djangochannels'] = 'broken'
    started = time.time()
    result = run(run_module, configured)
    assert time.time() - started < 3
    assert result['failed'] is True and result['changed'] is True
    assert result['response'] == recorded.restart_ok
    msg = result['msg']
    assert 'application djangochannels failed to start after the restart' in msg
    assert 'Python failed to import module "mysite.asgi"' in msg
    assert 'RuntimeError: boom: simulated import-time failure' in msg
    assert 'sendmsg' not in msg
    assert 'RuntimeError: boom: simulated import-time failure' in result['unit_log']


def test_restart_not_configured(run_module, configured, recorded):
    case = recorded.first('GET', '/control/applications/nosuchapp/restart', 404)
    result = run(run_module, configured, name='nosuchapp')
    assert result['failed'] is True and result['changed'] is False
    assert result['status'] == 404 and result['response'] == case['response']
    assert 'application nosuchapp is not configured' in result['msg']
    assert 'Configured applications: djangochannels.' in result['msg']


def test_restart_check_mode_sends_nothing(run_module, configured):
    result = run(run_module, configured, check_mode=True)
    assert result['changed'] is True and not result['failed']
    assert configured.requests == []


def test_restart_no_wait(run_module, configured):
    configured.restart_mode['djangochannels'] = 'broken'
    result = run(run_module, configured, wait=False)
    assert result['changed'] is True and not result['failed']
    assert [r.raw_path for r in configured.requests] == ['/control/applications/djangochannels/restart']


def test_restart_timeout_without_process(run_module, configured):
    configured.restart_mode['djangochannels'] = 'never'
    result = run(run_module, configured, wait_timeout=1)
    assert result['failed'] is True and result['changed'] is True
    assert 'no running process 1 seconds after the restart' in result['msg']
    assert 'wait: false' in result['msg']
    assert result['app_status']['processes']['running'] == 0


def test_restart_unreadable_log_warns(run_module, configured, workdir, monkeypatch):
    warnings = []
    monkeypatch.setattr(unit_app_restart.AnsibleModule, 'warn', lambda self, w: warnings.append(w))
    result = run(run_module, configured, log_file=os.path.join(workdir, 'missing.log'))
    assert result['changed'] is True and not result['failed']
    assert warnings and 'only /status is checked' in warnings[0]


def test_restart_socket_missing(run_module, workdir):
    path = os.path.join(workdir, 'control.unit.sock')
    result = run_module(unit_app_restart, dict(name='djangochannels', socket=path))
    assert result['failed'] is True and result['changed'] is False
    assert path in result['msg']


@pytest.mark.parametrize('name', ['a/b', ''])
def test_restart_bad_name(run_module, configured, name):
    result = run(run_module, configured, name=name)
    assert result['failed'] is True and configured.requests == []
