# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""The fake control socket must answer like the recorded Unit 1.34.2."""

from __future__ import absolute_import, division, print_function

import json

import pytest

from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_control import UnitClient


def test_replay_whole_recording(fake, recorded):
    """Send every recorded request, in the recorded order, and compare the answers.

    /status counters (connections, requests) are not simulated: only the
    per-application part of /status is compared.
    """
    client = UnitClient(socket_path=fake.socket_path)
    for case in recorded.cases:
        if 'AFTER making mysite/asgi.py raise' in case['title']:
            fake.restart_mode['djangochannels'] = 'broken'
        elif 'after restoring asgi.py' in case['title']:
            fake.restart_mode['djangochannels'] = 'ok'
        resp = client.request(case['method'], case['path'], data=case['request_body'])
        assert resp.status == case['status'], case['title']
        if case['method'] == 'GET' and case['path'] in ('/', '/status'):
            got = resp.body if case['path'] == '/status' else resp.body['status']
            want = case['response'] if case['path'] == '/status' else case['response']['status']
            assert got['applications'] == want['applications'], case['title']
            assert sorted(resp.body) == sorted(case['response']), case['title']
        else:
            assert resp.body == case['response'], case['title']


@pytest.mark.parametrize('body_file', [
    'bad-unknown-type.json', 'bad-unavailable-python-version.json', 'bad-pass-target.json'])
def test_validator_wording_matches_recording(fake, recorded, body_file):
    """Without the recorded rules, the fake's own validator gives Unit's exact answer."""
    fake.use_recorded_rules = False
    case = recorded.case('PUT /config with %s' % body_file)
    resp = UnitClient(socket_path=fake.socket_path).put('/config', json.loads(case['request_body']))
    assert (resp.status, resp.body) == (case['status'], case['response'])


def test_validator_delete_referenced(fake, recorded):
    fake.use_recorded_rules = False
    fake.config = recorded.djangochannels_config
    case = recorded.first('DELETE', '/config/applications/djangochannels', 400)
    resp = UnitClient(socket_path=fake.socket_path).delete('/config/applications/djangochannels')
    assert (resp.status, resp.body) == (case['status'], case['response'])


def test_500_appends_recorded_log(fake, recorded):
    case = recorded.case('PUT /config with bad-listener-addr-in-use.json')
    UnitClient(socket_path=fake.socket_path).request('PUT', '/config', data=case['request_body'])
    assert fake.log_text().splitlines()[-2:] == recorded.log_for(case)
