# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

import copy
import json
import os

import pytest

from ansible_collections.unitchannels.deploy.plugins.modules import unit_config
from ansible_collections.unitchannels.deploy.tests.unit.fakeunit import FakeUnit, Recorded

REC = Recorded.load()
APP = REC.djangochannels_config['applications']['djangochannels']


def reversed_keys(value):
    """Same JSON value with every object's keys in reverse order."""
    if isinstance(value, dict):
        return dict((k, reversed_keys(value[k])) for k in reversed(list(value)))
    if isinstance(value, list):
        return [reversed_keys(v) for v in value]
    return value


@pytest.fixture
def configured(fake, recorded):
    """The fake runs the recorded Django Channels configuration."""
    fake.config = recorded.djangochannels_config
    return fake


def run(run_module, unit_args, **args):
    check_mode = args.pop('check_mode', False)
    diff = args.pop('diff', False)
    args.update(unit_args)
    return run_module(unit_config, args, check_mode=check_mode, diff=diff)


# ---------------------------------------------------------------------------
# idempotence

def test_create_whole_config_from_recorded_put(run_module, fake, unit_args, recorded):
    case = recorded.first('PUT', '/config', 200)
    value = json.loads(case['request_body'])
    result = run(run_module, unit_args, value=value)
    assert result['changed'] is True and not result['failed']
    assert result['response'] == case['response']
    assert result['before'] == recorded.fresh_config
    assert result['after'] == value
    assert [(r.method, r.raw_path) for r in fake.writes] == [('PUT', '/config')]
    assert fake.writes[0].json == value
    assert fake.config == recorded.case('GET /config after successful PUT')['response']


def test_unchanged_sends_no_write(run_module, configured, unit_args, recorded):
    result = run(run_module, unit_args, value=recorded.djangochannels_config)
    assert result['changed'] is False and not result['failed']
    assert result['response'] is None
    assert configured.writes == []
    assert [r.method for r in configured.requests] == ['GET']


def test_key_order_ignored(run_module, configured, unit_args, recorded):
    value = reversed_keys(recorded.djangochannels_config)
    assert list(value) != list(recorded.djangochannels_config)
    result = run(run_module, unit_args, value=value)
    assert result['changed'] is False
    assert configured.writes == []


def test_route_order_change_detected(run_module, configured, unit_args, recorded):
    value = recorded.djangochannels_config
    value['routes'].reverse()
    result = run(run_module, unit_args, value=value['routes'], path='/config/routes')
    assert result['changed'] is True
    assert [(r.method, r.raw_path) for r in configured.writes] == [('PUT', '/config/routes')]
    assert configured.config['routes'] == value['routes']
    # and converged afterwards
    result = run(run_module, unit_args, value=value['routes'], path='/config/routes')
    assert result['changed'] is False and len(configured.writes) == 1


def test_change_sub_path(run_module, configured, unit_args):
    env = {'DJANGO_SETTINGS_MODULE': 'mysite.settings', 'CHANNEL_LAYER': 'redis'}
    path = '/config/applications/djangochannels/environment'
    result = run(run_module, unit_args, path=path, value=env)
    assert result['changed'] is True
    assert result['before'] == {'DJANGO_SETTINGS_MODULE': 'mysite.settings'}
    assert configured.config['applications']['djangochannels']['environment'] == env
    assert run(run_module, unit_args, path=path, value=env)['changed'] is False


@pytest.mark.parametrize('current, wanted, changed', [
    (1, 1.0, False),
    (2, 2, False),
    (2, '2', True),
    (True, 1, True),
])
def test_scalar_values(run_module, configured, unit_args, current, wanted, changed):
    configured.config['applications']['djangochannels']['processes'] = current
    result = run(run_module, unit_args, path='/config/applications/djangochannels/processes', value=wanted)
    assert result['changed'] is changed
    assert len(configured.writes) == (1 if changed else 0)


def test_create_listener_with_readable_path(run_module, configured, unit_args):
    result = run(run_module, unit_args, path='/config/listeners/127.0.0.1:8000', value={'pass': 'routes'})
    assert result['changed'] is True and result['path'] == '/config/listeners/127.0.0.1:8000'
    assert configured.writes[0].raw_path == '/config/listeners/127.0.0.1:8000'
    assert configured.config['listeners']['127.0.0.1:8000'] == {'pass': 'routes'}
    result = run(run_module, unit_args, path='/config/listeners/*:80', value={'pass': 'routes'})
    assert result['changed'] is False


def test_name_with_slash_and_space(run_module, configured, unit_args):
    result = run(run_module, unit_args, path='/config/applications/djangochannels/environment/A%2FB C',
                 value='x')
    assert result['changed'] is True
    assert configured.writes[0].raw_path == '/config/applications/djangochannels/environment/A%2FB%20C'
    assert configured.config['applications']['djangochannels']['environment']['A/B C'] == 'x'


def test_append_to_routes_by_index(run_module, configured, unit_args):
    route = {'match': {'uri': '/ws/*'}, 'action': {'pass': 'applications/djangochannels'}}
    result = run(run_module, unit_args, path='/config/routes/2', value=route)
    assert result['changed'] is True and result['before'] is None
    assert configured.config['routes'][2] == route


# ---------------------------------------------------------------------------
# state=absent

def test_absent_existing(run_module, configured, unit_args, recorded):
    path = '/config/applications/djangochannels/environment/DJANGO_SETTINGS_MODULE'
    result = run(run_module, unit_args, path=path, state='absent')
    assert result['changed'] is True
    assert result['before'] == 'mysite.settings' and result['after'] is None
    assert result['response'] == recorded.reconfigured
    assert [(r.method, r.raw_path) for r in configured.writes] == [('DELETE', path)]
    assert 'DJANGO_SETTINGS_MODULE' not in configured.config['applications']['djangochannels']['environment']


def test_absent_missing(run_module, configured, unit_args):
    result = run(run_module, unit_args, path='/config/listeners/nosuch', state='absent')
    assert result['changed'] is False and not result['failed']
    assert configured.writes == []


def test_absent_whole_config(run_module, configured, unit_args):
    result = run(run_module, unit_args, path='/config', state='absent')
    assert result['changed'] is True and result['after'] == {}
    assert configured.config == {}
    assert run(run_module, unit_args, path='/config', state='absent')['changed'] is False
    assert len(configured.writes) == 1


def test_absent_fresh_install_config_is_absent(run_module, fake, unit_args):
    result = run(run_module, unit_args, path='/config', state='absent')
    assert result['changed'] is False and fake.writes == []


def test_present_then_absent_then_present(run_module, configured, unit_args):
    path = '/config/listeners/*:8000'
    assert run(run_module, unit_args, path=path, value={'pass': 'routes'})['changed'] is True
    assert run(run_module, unit_args, path=path, state='absent')['changed'] is True
    assert '*:8000' not in configured.config['listeners']
    assert run(run_module, unit_args, path=path, state='absent')['changed'] is False
    assert run(run_module, unit_args, path=path, value={'pass': 'routes'})['changed'] is True
    assert [r.method for r in configured.writes] == ['PUT', 'DELETE', 'PUT']


def test_absent_by_index_warns(run_module, configured, unit_args, monkeypatch):
    warnings = []
    monkeypatch.setattr(unit_config.AnsibleModule, 'warn', lambda self, w: warnings.append(w))
    result = run(run_module, unit_args, path='/config/routes/0', state='absent')
    assert result['changed'] is True and 'not' not in str(result.get('msg', ''))
    assert warnings and 'array element' in warnings[0]


# ---------------------------------------------------------------------------
# check mode and diff

def test_check_mode_change_writes_nothing(run_module, configured, unit_args, recorded):
    before = copy.deepcopy(configured.config)
    value = recorded.djangochannels_config
    value['applications']['djangochannels']['processes'] = 4
    result = run(run_module, unit_args, value=value, check_mode=True)
    assert result['changed'] is True and result['response'] is None
    assert result['after'] == value
    assert configured.writes == [] and configured.config == before


def test_check_mode_absent_writes_nothing(run_module, configured, unit_args):
    result = run(run_module, unit_args, path='/config/listeners/*:80', state='absent', check_mode=True)
    assert result['changed'] is True and configured.writes == []
    assert '*:80' in configured.config['listeners']


def test_diff_content(run_module, configured, unit_args):
    path = '/config/applications/djangochannels/environment'
    result = run(run_module, unit_args, path=path, value={'Z': '1', 'A': '2'}, diff=True, check_mode=True)
    diff = result['diff']
    assert diff['before'] == '{\n    "DJANGO_SETTINGS_MODULE": "mysite.settings"\n}\n'
    assert diff['after'] == '{\n    "A": "2",\n    "Z": "1"\n}\n'
    assert diff['before_header'] == diff['after_header'] == 'unit:%s' % path


def test_diff_create_and_delete(run_module, configured, unit_args):
    result = run(run_module, unit_args, path='/config/listeners/*:81', value={'pass': 'routes'}, diff=True)
    assert result['diff']['before'] == '' and '"pass": "routes"' in result['diff']['after']
    result = run(run_module, unit_args, path='/config/listeners/*:81', state='absent', diff=True)
    assert '"pass": "routes"' in result['diff']['before'] and result['diff']['after'] == ''


def test_no_diff_unless_asked(run_module, configured, unit_args):
    result = run(run_module, unit_args, path='/config/listeners/*:81', value={'pass': 'routes'})
    assert 'diff' not in result


def test_diff_shows_route_reorder(run_module, configured, unit_args, recorded):
    routes = recorded.djangochannels_config['routes']
    result = run(run_module, unit_args, path='/config/routes', value=list(reversed(routes)), diff=True)
    assert result['changed'] is True
    assert result['diff']['before'] != result['diff']['after']
    assert result['diff']['after'].index('applications/djangochannels') < result['diff']['after'].index('/static/*')


# ---------------------------------------------------------------------------
# Unit's refusals, from the recording

RECORDED_400 = [c for c in REC.failing_puts(400) if 'invalid-json' not in c['title']]
RECORDED_500 = REC.failing_puts(500)


@pytest.mark.parametrize('case', RECORDED_400, ids=[Recorded.body_file(c) for c in RECORDED_400])
def test_recorded_400(run_module, configured, unit_args, case):
    before = copy.deepcopy(configured.config)
    result = run(run_module, unit_args, value=json.loads(case['request_body']))
    assert result['failed'] is True and result['changed'] is False
    assert result['status'] == 400
    assert result['error'] == case['response']['error']
    assert result['detail'] == case['response']['detail']
    assert result['response'] == case['response']
    assert case['response']['detail'] in result['msg']
    assert 'previous configuration is still in force' in result['msg']
    assert configured.config == before


def test_recorded_400_delete_still_referenced(run_module, configured, unit_args, recorded):
    case = recorded.first('DELETE', '/config/applications/djangochannels', 400)
    result = run(run_module, unit_args, path='/config/applications/djangochannels', state='absent')
    assert result['failed'] is True and result['changed'] is False
    assert result['response'] == case['response']
    assert case['response']['detail'] in result['msg']
    assert 'djangochannels' in configured.config['applications']


KEY_LOG_LINE = {
    'bad-listener-addr-in-use.json': 'bind(\\"127.0.0.1:6379\\") failed (98: Address already in use)',
    'bad-home-missing.json': 'Failed to initialise config',
    'bad-path-missing.json': "ModuleNotFoundError: No module named 'mysite'",
    'bad-module-import.json': 'Python failed to import module "mysite.no_such_asgi"',
    'bad-module-raises.json': "ModuleNotFoundError: No module named 'this_package_does_not_exist_xyz'",
}


@pytest.mark.parametrize('case', RECORDED_500, ids=[Recorded.body_file(c) for c in RECORDED_500])
def test_recorded_500_reports_log(run_module, configured, unit_args, recorded, case):
    before = copy.deepcopy(configured.config)
    result = run(run_module, unit_args, value=json.loads(case['request_body']), log_file=configured.log_path)
    assert result['failed'] is True and result['changed'] is False
    assert result['status'] == 500 and result['response'] == case['response']
    assert result['unit_log'] == recorded.log_for(case)
    assert KEY_LOG_LINE[Recorded.body_file(case)] in result['msg']
    assert 'previous configuration is still in force' in result['msg']
    # lines from before the task are not reported
    assert 'unit 1.34.2 started' not in result['msg']
    assert configured.config == before


def test_500_without_readable_log(run_module, configured, unit_args, workdir):
    case = RECORDED_500[0]
    missing = os.path.join(workdir, 'no-such.log')
    result = run(run_module, unit_args, value=json.loads(case['request_body']), log_file=missing)
    assert result['failed'] is True and result['unit_log'] == []
    assert missing in result['msg'] and 'Failed to apply new configuration.' in result['msg']


def test_put_under_missing_parent(run_module, configured, unit_args, recorded):
    result = run(run_module, unit_args, path='/config/applications/nosuchapp/environment/X', value='1')
    assert result['failed'] is True and result['changed'] is False
    assert result['status'] == 404 and result['response'] == recorded.not_found
    assert 'parent /config/applications/nosuchapp/environment does not exist' in result['msg']
    assert 'from /config/applications/nosuchapp down' in result['msg']


def test_put_named_route_when_routes_is_array(run_module, configured, unit_args, recorded):
    result = run(run_module, unit_args, path='/config/routes/main', value=[{'action': {'return': 204}}])
    assert result['failed'] is True and result['changed'] is False
    assert result['status'] == 404 and result['error'] == "Value doesn't exist."
    assert '/config/routes is an array' in result['msg'] and "'main' is not a valid index" in result['msg']
    assert isinstance(configured.config['routes'], list)


def test_put_member_of_scalar(run_module, configured, unit_args):
    result = run(run_module, unit_args, path='/config/applications/djangochannels/module/x', value='1')
    assert result['failed'] is True and 'is a str, not an object' in result['msg']


# ---------------------------------------------------------------------------
# arguments and connection

@pytest.mark.parametrize('path', ['/status', '/certificates/x', '/configuration', 'config', '/config//x'])
def test_bad_path(run_module, fake, unit_args, path):
    result = run(run_module, unit_args, path=path, value=1)
    assert result['failed'] is True and 'path' in result['msg']
    assert fake.requests == []


def test_value_required_when_present(run_module, fake, unit_args):
    result = run(run_module, unit_args, path='/config/listeners/*:80')
    assert result['failed'] is True and 'value' in result['msg']


def test_nan_value(run_module, fake, unit_args):
    result = run(run_module, unit_args, path='/config/applications/x/processes', value=float('nan'))
    assert result['failed'] is True and 'JSON' in result['msg']
    assert fake.requests == []


def test_socket_missing(run_module, workdir):
    path = os.path.join(workdir, 'control.unit.sock')
    result = run_module(unit_config, dict(socket=path, value={}))
    assert result['failed'] is True and path in result['msg'] and 'does not exist' in result['msg']


def test_socket_and_url_exclusive(run_module, fake):
    result = run_module(unit_config, dict(socket=fake.socket_path, url='http://127.0.0.1:1', value={}))
    assert result['failed'] is True and 'mutually exclusive' in result['msg']


def test_over_tcp(run_module, workdir, recorded):
    f = FakeUnit(workdir, recorded)
    url = f.serve_tcp()
    try:
        result = run_module(unit_config, dict(url=url, path='/config/listeners/*:8000', value={'pass': 'routes'}))
        assert result['changed'] is True
        assert f.config['listeners'] == {'*:8000': {'pass': 'routes'}}
    finally:
        f.stop()


def test_json_text_value_warns(run_module, configured, unit_args, monkeypatch):
    warnings = []
    monkeypatch.setattr(unit_config.AnsibleModule, 'warn', lambda self, w: warnings.append(w))
    result = run(run_module, unit_args, path='/config/listeners/*:81', value='{"pass": "routes"}')
    assert result['changed'] is True
    assert warnings and 'from_json' in warnings[0]
    assert configured.writes[0].json == '{"pass": "routes"}'


# ---------------------------------------------------------------------------
# merge: several apps share one Unit, each declaring only its own entries

OTHER_APP = {'type': 'python 3.11', 'path': '/srv/other', 'module': 'other.asgi'}


def test_merge_keeps_entries_declared_elsewhere(run_module, configured, unit_args, recorded):
    result = run(run_module, unit_args, merge=True,
                 value={'applications': {'other': OTHER_APP}, 'listeners': {'*:81': {'pass': 'applications/other'}}})
    assert result['changed'] is True and not result['failed']
    held = configured.config
    assert held['applications']['djangochannels'] == APP
    assert held['applications']['other'] == OTHER_APP
    assert held['listeners']['*:80'] == recorded.djangochannels_config['listeners']['*:80']
    assert held['routes'] == recorded.djangochannels_config['routes']
    # one atomic write of the whole composed configuration
    assert [(r.method, r.raw_path) for r in configured.writes] == [('PUT', '/config')]


def test_merge_unchanged_sends_no_write(run_module, configured, unit_args):
    result = run(run_module, unit_args, merge=True, value={'applications': {'djangochannels': APP}})
    assert result['changed'] is False
    assert configured.writes == []


def test_merge_turns_empty_routes_array_into_named_sets(run_module, fake, unit_args, recorded):
    assert fake.config['routes'] == []
    routes = {'app': [{'action': {'return': 204}}]}
    result = run(run_module, unit_args, merge=True, value={'routes': routes})
    assert result['changed'] is True and not result['failed']
    assert fake.config['routes'] == routes


def test_merge_refuses_non_empty_routes_array(run_module, configured, unit_args):
    result = run(run_module, unit_args, merge=True, value={'routes': {'app': [{'action': {'return': 204}}]}})
    assert result['failed']
    assert 'routes holds an array of 2 entries' in result['msg']
    assert configured.writes == []


def test_merge_remove_deletes_named_entries(run_module, configured, unit_args, recorded):
    run(run_module, unit_args, merge=True, value={'applications': {'other': OTHER_APP}})
    result = run(run_module, unit_args, merge=True, value={}, remove=['applications/other', 'listeners/*:9999'])
    assert result['changed'] is True and not result['failed']
    assert 'other' not in configured.config['applications']
    assert configured.config['applications']['djangochannels'] == APP


def test_remove_without_merge_is_refused(run_module, configured, unit_args):
    result = run(run_module, unit_args, value={}, remove=['applications/other'])
    assert result['failed'] and 'only meaningful with merge' in result['msg']
