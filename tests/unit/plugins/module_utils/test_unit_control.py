# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

import errno
import json
import os
import socket

import pytest

from ansible_collections.unitchannels.deploy.plugins.module_utils import unit_config_tree as ut
from ansible_collections.unitchannels.deploy.plugins.module_utils import unit_control as uc
from ansible_collections.unitchannels.deploy.plugins.module_utils import unit_log as ul
from ansible_collections.unitchannels.deploy.tests.unit.fakeunit import FakeUnit, Recorded, stale_socket


# ---------------------------------------------------------------------------
# semantic comparison

ROUTES = [
    {'match': {'uri': '/static/*'}, 'action': {'share': '/srv/djapp$uri'}},
    {'action': {'pass': 'applications/djangochannels'}},
]


@pytest.mark.parametrize('left, right, equal', [
    pytest.param({'a': 1, 'b': 2}, {'b': 2, 'a': 1}, True, id='object-key-order-ignored'),
    pytest.param(ROUTES, list(reversed(ROUTES)), False, id='array-order-kept'),
    pytest.param([1, 2], [1, 2, 3], False, id='array-length'),
    pytest.param({'processes': 1}, {'processes': 1.0}, True, id='int-equals-float'),
    pytest.param(1.5, 1, False, id='float-differs'),
    pytest.param(True, 1, False, id='bool-is-not-int'),
    pytest.param(False, 0, False, id='false-is-not-zero'),
    pytest.param(True, True, True, id='bool'),
    pytest.param('1', 1, False, id='string-is-not-number'),
    pytest.param(None, {}, False, id='null-is-not-empty'),
    pytest.param(None, None, True, id='null'),
    pytest.param({'a': {'b': [1, {'c': 'd'}]}}, {'a': {'b': [1, {'c': 'd'}]}}, True, id='nested'),
    pytest.param({'a': {'b': [1, {'c': 'd'}]}}, {'a': {'b': [1, {'c': 'e'}]}}, False, id='nested-differs'),
    pytest.param({'a': 1}, {'a': 1, 'b': None}, False, id='extra-key'),
    pytest.param([], {}, False, id='array-is-not-object'),
])
def test_json_equal(left, right, equal):
    assert ut.json_equal(left, right) is equal
    assert ut.json_equal(right, left) is equal


def test_normalize_json_round_trip():
    assert uc.normalize_json({'t': (1, 2), 1: 'x'}) == {'t': [1, 2], '1': 'x'}


def test_encode_json_rejects_nan():
    with pytest.raises(uc.UnitControlError, match='cannot be sent to Unit as JSON'):
        uc.encode_json({'x': float('nan')})


def test_pretty_json_sorts_keys_keeps_arrays():
    assert ut.pretty_json({'b': [2, 1], 'a': 1}) == '{\n    "a": 1,\n    "b": [\n        2,\n        1\n    ]\n}\n'


# ---------------------------------------------------------------------------
# paths

@pytest.mark.parametrize('segments, path', [
    (['config'], '/config'),
    (['config', 'listeners', '*:8000'], '/config/listeners/*:8000'),
    (['config', 'listeners', '127.0.0.1:80'], '/config/listeners/127.0.0.1:80'),
    (['config', 'listeners', '[::1]:80'], '/config/listeners/%5B::1%5D:80'),
    (['config', 'applications', 'my app'], '/config/applications/my%20app'),
    (['config', 'applications', 'a/b'], '/config/applications/a%2Fb'),
    (['config', 'applications', '100%'], '/config/applications/100%25'),
    (['config', 'routes', 0, 'match', 'uri'], '/config/routes/0/match/uri'),
    (['config', 'applications', 'app?#'], '/config/applications/app%3F%23'),
])
def test_build_and_split_path(segments, path):
    assert ut.build_path(*segments) == path
    assert ut.split_path(path) == [str(s) for s in segments]
    assert ut.normalize_path(path) == path


@pytest.mark.parametrize('given, canonical', [
    ('/config/', '/config'),
    ('/config/listeners/*:8000/', '/config/listeners/*:8000'),
    ('/config/applications/my app', '/config/applications/my%20app'),
    ('/config/applications/my%20app', '/config/applications/my%20app'),
    ('/config/applications/a%2fb', '/config/applications/a%2Fb'),
])
def test_normalize_path(given, canonical):
    assert ut.normalize_path(given) == canonical


@pytest.mark.parametrize('bad', ['config', '/config//x', '/config/./x', '/config/../status', ''])
def test_split_path_rejects(bad):
    with pytest.raises(ValueError):
        ut.split_path(bad)


def test_describe_path_decodes():
    assert ut.describe_path('/config/applications/a%2Fb') == '/config/applications/a/b'


# ---------------------------------------------------------------------------
# client against the fake control socket

def test_client_get_fresh_install(fake, recorded):
    resp = uc.UnitClient(socket_path=fake.socket_path).get('/config')
    case = recorded.case('GET /config on a fresh install')
    assert (resp.status, resp.body) == (case['status'], case['response'])
    assert resp.ok


def test_client_put_get_delete(fake, recorded):
    client = uc.UnitClient(socket_path=fake.socket_path)
    resp = client.put('/config', recorded.djangochannels_config)
    assert (resp.status, resp.body) == (200, recorded.reconfigured)
    assert client.get('/config/applications/djangochannels/environment').body == {
        'DJANGO_SETTINGS_MODULE': 'mysite.settings'}
    resp = client.delete('/config/listeners/nosuch')
    case = recorded.first('DELETE', '/config/listeners/nosuch', 404)
    assert (resp.status, resp.body) == (404, case['response'])
    assert resp.error == "Value doesn't exist."


def test_client_sends_listener_names_readably(fake):
    client = uc.UnitClient(socket_path=fake.socket_path)
    client.get('/config/listeners/*:8000')
    client.get(ut.build_path('config', 'applications', 'a/b c'))
    assert [r.raw_path for r in fake.requests] == ['/config/listeners/*:8000', '/config/applications/a%2Fb%20c']


def test_client_invalid_json_reply_has_location(fake, recorded):
    case = recorded.case('PUT /config with invalid-json.json')
    resp = uc.UnitClient(socket_path=fake.socket_path).request('PUT', '/config', data=case['request_body'])
    assert (resp.status, resp.body) == (400, case['response'])
    text = resp.error_text()
    assert 'Invalid JSON.' in text and 'line 1, column 44' in text and 'byte offset 43' in text


def test_client_405(fake, recorded):
    resp = uc.UnitClient(socket_path=fake.socket_path).post('/status', {})
    case = recorded.first('POST', '/status', 405)
    assert (resp.status, resp.body) == (405, case['response'])


def test_client_over_tcp(workdir, recorded):
    f = FakeUnit(workdir, recorded)
    url = f.serve_tcp()
    try:
        resp = uc.UnitClient(url=url + '/').get('/status/applications')
        assert resp.status == 200
        assert f.requests[0].raw_path == '/status/applications'
    finally:
        f.stop()


def test_client_socket_and_url_exclusive():
    with pytest.raises(uc.UnitControlError, match='mutually exclusive'):
        uc.UnitClient(socket_path='/x', url='http://127.0.0.1:1')


def test_client_bad_url():
    with pytest.raises(uc.UnitControlError, match='http://'):
        uc.UnitClient(url='127.0.0.1:8443')


def test_client_default_socket():
    assert uc.UnitClient().socket_path == '/var/run/control.unit.sock'


def test_socket_missing(workdir):
    path = os.path.join(workdir, 'nope.sock')
    with pytest.raises(uc.UnitControlError) as e:
        uc.UnitClient(socket_path=path).get('/config')
    assert path in e.value.msg and 'does not exist' in e.value.msg


def test_socket_not_a_socket(workdir):
    path = os.path.join(workdir, 'file')
    open(path, 'w').close()
    with pytest.raises(uc.UnitControlError, match='not a unix socket'):
        uc.UnitClient(socket_path=path).get('/config')


def test_socket_connection_refused(workdir):
    path = stale_socket(os.path.join(workdir, 'stale.sock'))
    with pytest.raises(uc.UnitControlError) as e:
        uc.UnitClient(socket_path=path).get('/config')
    assert path in e.value.msg and 'connection refused' in e.value.msg


def test_socket_permission_denied(fake, monkeypatch):
    # the tests may run as root, for whom every socket is writable: simulate the check
    monkeypatch.setattr(uc.os, 'access', lambda path, mode: False)
    with pytest.raises(uc.UnitControlError) as e:
        uc.UnitClient(socket_path=fake.socket_path).get('/config')
    assert fake.socket_path in e.value.msg and 'permission denied' in e.value.msg and 'become' in e.value.msg


def test_connect_errors_are_named(workdir):
    client = uc.UnitClient(socket_path='/run/x.sock')
    wrapped = OSError('Invalid Socket File (/run/x.sock): [Errno %d] Permission denied' % errno.EACCES)
    assert 'permission denied' in client._connection_error(wrapped)
    assert '/run/x.sock' in client._connection_error(OSError(errno.ENOENT, 'No such file'))
    assert 'did not answer' in client._connection_error(socket.timeout('timed out'))
    tcp = uc.UnitClient(url='http://127.0.0.1:1')
    refused = ConnectionRefusedError(errno.ECONNREFUSED, 'x')
    assert 'connection refused by http://127.0.0.1:1' in tcp._connection_error(refused)


def test_tcp_connection_refused():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(uc.UnitControlError, match='connection refused'):
        uc.UnitClient(url='http://127.0.0.1:%d' % port, timeout=2).get('/config')


def test_timeout(fake):
    fake.delay = 1.0
    with pytest.raises(uc.UnitControlError) as e:
        uc.UnitClient(socket_path=fake.socket_path, timeout=0.2).get('/config')
    assert 'did not answer within 0.2 seconds' in e.value.msg


# ---------------------------------------------------------------------------
# messages

@pytest.mark.parametrize('title', [c['title'] for c in Recorded.load().cases if c['status'] == 400])
def test_request_failure_400_names_unit_reason(recorded, title):
    case = recorded.case(title)
    resp = uc.UnitResponse(case['method'], case['path'], case['status'], json.dumps(case['response']).encode())
    msg, fields = uc.request_failure(resp)
    assert case['response']['error'] in msg
    assert case['response'].get('detail', '') in msg
    assert uc.NOTHING_CHANGED in msg
    assert fields['status'] == 400 and fields['error'] == case['response']['error']


def test_request_failure_500_with_and_without_log(recorded):
    case = recorded.case('PUT /config with bad-listener-addr-in-use.json')
    resp = uc.UnitResponse('PUT', '/config', 500, b'{"error": "Failed to apply new configuration."}')
    lines = recorded.log_for(case)
    msg, fields = uc.request_failure(resp, log_lines=lines, log_file='/var/log/unit.log')
    assert 'bind(\\"127.0.0.1:6379\\") failed (98: Address already in use)' in msg
    assert uc.NOTHING_CHANGED in msg and fields['unit_log'] == lines
    msg, fields = uc.request_failure(resp, log_lines=[], log_file='/var/log/unit.log', log_error='Permission denied')
    assert 'Permission denied' in msg and '/var/log/unit.log' in msg and fields['unit_log'] == []


# ---------------------------------------------------------------------------
# log tail

def _append(path, lines):
    with open(path, 'a') as f:
        f.write(''.join(line + '\n' for line in lines))


def test_log_tail_reads_only_new_lines(workdir):
    path = os.path.join(workdir, 'unit.log')
    _append(path, ['old 1', 'old 2'])
    tail = ul.LogTail(path)
    tail.mark()
    assert tail.read_new() == []
    _append(path, ['new 1', 'new 2'])
    assert tail.read_new() == ['new 1', 'new 2']
    _append(path, ['new 3'])
    assert tail.read_new() == ['new 3']


def test_log_tail_rotation(workdir):
    path = os.path.join(workdir, 'unit.log')
    _append(path, ['x' * 50] * 10)
    tail = ul.LogTail(path)
    tail.mark()
    os.rename(path, path + '.1')
    _append(path, ['after rotation'])
    assert tail.read_new() == ['after rotation']


def test_log_tail_bounded(workdir):
    path = os.path.join(workdir, 'unit.log')
    open(path, 'w').close()
    tail = ul.LogTail(path, max_lines=5, max_bytes=1024)
    tail.mark()
    _append(path, ['line %04d' % i for i in range(1000)])
    lines = tail.read_new()
    assert len(lines) == 6 and lines[0].startswith('[...') and lines[-1] == 'line 0999'


def test_log_tail_missing_file(workdir):
    path = os.path.join(workdir, 'missing.log')
    tail = ul.LogTail(path)
    tail.mark()
    assert tail.read_new() == []
    assert 'does not exist' in tail.error
    _append(path, ['created later'])
    assert tail.read_new() == ['created later']


def test_log_tail_wait_collects_late_lines(workdir):
    import threading
    path = os.path.join(workdir, 'unit.log')
    open(path, 'w').close()
    tail = ul.LogTail(path)
    tail.mark()
    _append(path, ['first'])
    t = threading.Timer(0.05, _append, (path, ['late']))
    t.start()
    lines = tail.read_new(wait=1.0, interval=0.1)
    t.join()
    assert lines == ['first', 'late']


# ---------------------------------------------------------------------------
# reading application failures in Unit's log

def test_app_failure_lines_broken_restart(recorded):
    lines = recorded.broken_restart_log
    failure = ul.app_failure_lines(lines, 'djangochannels')
    assert any('Python failed to import module "mysite.asgi"' in line for line in failure)
    assert 'RuntimeError: boom: simulated import-time failure' in failure
    assert 'app process 1244 exited with code 1' in '\n'.join(failure)
    # noise of the old processes going away is not the application's failure
    assert not any('sendmsg' in line or '1230#1230' in line for line in failure)
    assert ul.app_failure_lines(lines, 'otherapp') == []


@pytest.mark.parametrize('body_file, expected', [
    ('bad-home-missing.json', "PYTHONHOME = '/srv/djapp/no-such-venv/'"),
    ('bad-path-missing.json', "ModuleNotFoundError: No module named 'mysite'"),
    ('bad-module-raises.json', "ModuleNotFoundError: No module named 'this_package_does_not_exist_xyz'"),
])
def test_app_failure_lines_recorded_500(recorded, body_file, expected):
    failure = ul.app_failure_lines(recorded.log_sections[body_file], 'djangochannels')
    assert any(expected in line for line in failure)
    assert any('failed to start application "djangochannels"' in line for line in failure)


def test_app_failure_lines_healthy_app_printing():
    lines = [
        '2026/11/25 17:22:59 [info] 1243#1243 "app" prototype started',
        '2026/11/25 17:22:59 [info] 1244#1244 "app" application started',
        'some warning the app printed on stderr',
    ]
    assert ul.app_failure_lines(lines, 'app') == []


def test_log_entries_group_continuations(recorded):
    entries = ul.log_entries(recorded.broken_restart_log)
    alert = [e for e in entries if 'Python failed' in e['msg']][0]
    assert alert['level'] == 'alert' and alert['pid'] == '1244' and len(alert['lines']) == 5
