# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""unit_release against the recorded-replies fake, with an app server that serves what the fake holds."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import time

import pytest

from ansible_collections.unitchannels.deploy.plugins.module_utils import asgi_probe as probe_utils
from ansible_collections.unitchannels.deploy.plugins.modules import unit_release
from ansible_collections.unitchannels.deploy.tests.unit import testcerts
from ansible_collections.unitchannels.deploy.tests.unit.local_server import LocalServer


class AppServer(LocalServer):
    """Stands for Unit's listener: answers 200 when the fake serves a release whose name is in
    `good`, 404 when the app is not configured, else `bad_status` (a release that fails)."""

    def __init__(self, fake, tls=None):
        self.fake = fake
        self.good, self.bad_status, self.hits, self.bad_log = {'r1', 'r2'}, 500, 0, []
        super(AppServer, self).__init__(tls=tls)

    def on_get(self, request):
        self.hits += 1
        app = self.fake.config.get('applications', {}).get('chat')
        if app is None:
            status = 404
        elif app['working_directory'].rsplit('/', 1)[-1] in self.good:
            status = 200
        else:
            status = self.bad_status
            self.fake.log(self.bad_log)
        self.answer(request, status)


@pytest.fixture
def app(fake, monkeypatch):
    monkeypatch.setattr(probe_utils, 'RETRY_INTERVAL', 0)
    server = AppServer(fake)
    yield server
    server.stop()


def release(name):
    root = '/srv/chat/releases/' + name
    return dict(
        routes=[{'match': {'uri': '/static/*'}, 'action': {'share': root + '/public$uri'}},
                {'action': {'pass': 'applications/chat'}}],
        application={'type': 'python 3.11', 'path': root, 'home': '/srv/chat/venvs/py3.11-0',
                     'module': 'mysite.asgi', 'working_directory': root},
    )


@pytest.fixture
def run(run_module, unit_args, app, fake):
    def run(name, check_mode=False, diff=False, **args):
        for key, value in release(name).items():
            args.setdefault(key, value)
        args.setdefault('name', 'chat')
        args.setdefault('listen', '127.0.0.1:%d' % app.port)
        args.setdefault('probe', {'timeout': 1})
        args.setdefault('log_file', fake.log_path)
        for key, value in unit_args.items():
            args.setdefault(key, value)
        return run_module(unit_release, args, check_mode=check_mode, diff=diff)
    return run


def serving(fake):
    app = fake.config.get('applications', {}).get('chat')
    return app['working_directory'].rsplit('/', 1)[-1] if app else None


def test_first_release_goes_live_in_one_put(run, fake, app):
    result = run('r1')
    assert not result['failed'] and result['changed'] is True
    assert [(r.method, r.raw_path) for r in fake.writes] == [('PUT', '/config')]
    assert fake.config['listeners'] == {'127.0.0.1:%d' % app.port: {'pass': 'routes/chat'}}
    assert serving(fake) == 'r1' and result['http_status'] == 200 and not result['restored']


def test_same_release_again_changes_nothing_and_still_probes(run, fake, app):
    run('r1')
    writes, hits = len(fake.writes), app.hits
    result = run('r1')
    assert not result['failed'] and result['changed'] is False and not result['restarted']
    assert len(fake.writes) == writes and app.hits == hits + 1


def test_other_apps_listeners_and_settings_stay(run, fake):
    other = {'type': 'python 3.11', 'path': '/srv/other', 'module': 'wsgi'}
    fake.config = {'listeners': {'*:8080': {'pass': 'routes/other'}},
                   'routes': {'other': [{'action': {'pass': 'applications/other'}}]},
                   'applications': {'other': other}, 'settings': {'http': {'max_body_size': 1024}}}
    result = run('r1')
    assert not result['failed'], result['msg']
    assert fake.config['applications']['other'] == other and fake.config['settings']['http']['max_body_size'] == 1024
    assert fake.config['listeners']['*:8080'] == {'pass': 'routes/other'}
    assert sorted(fake.config['routes']) == ['chat', 'other']


def test_unchanged_config_with_restart_restarts_the_processes(run, fake):
    run('r1')
    result = run('r1', restart=True)
    assert not result['failed'] and result['changed'] is True and result['restarted'] is True
    assert fake.writes[-1].raw_path == '/control/applications/chat/restart'


def test_restart_is_not_sent_when_the_config_changes_anyway(run, fake):
    run('r1')
    result = run('r2', restart=True)
    assert result['changed'] is True and result['restarted'] is False
    assert not any(r.raw_path.startswith('/control/') for r in fake.writes)


def test_a_release_that_fails_its_probe_is_taken_back(run, fake):
    run('r1')
    result = run('r3')
    assert result['failed'] and result['restored'] is True and result['changed'] is False
    assert result['failed_check'] == 'http' and result['http_status'] == 500
    assert 'previous configuration is back in force' in result['msg']
    assert serving(fake) == 'r1'
    assert [r.method for r in fake.writes[-2:]] == ['PUT', 'PUT']


def test_a_404_is_not_waited_for(run, fake, app):
    app.bad_status = 404
    run('r1')
    result = run('r3', probe={'timeout': 30})
    assert result['failed'] and 'not retried' in result['msg'] and serving(fake) == 'r1'


def test_a_failed_first_release_leaves_unit_as_it_was(run, fake, recorded):
    result = run('r3')
    assert result['failed'] and result['restored'] is True
    assert fake.config == recorded.fresh_config


def test_the_failure_shows_what_unit_logged(run, fake, app):
    run('r1')
    app.bad_log = ['2026/11/25 17:22:35 [alert] 1078#1078 Python failed to import module "mysite.asgi"',
                   "ModuleNotFoundError: No module named 'mysite'"]
    result = run('r3', probe={'timeout': 0})
    assert result['failed'] and result['restored'] is True
    assert result['unit_log'][-1] == "ModuleNotFoundError: No module named 'mysite'"
    assert "No module named 'mysite'" in result['msg']


def test_unit_refusing_the_release_changes_nothing(run, fake):
    run('r1')
    args = release('r2')
    args['application']['type'] = 'python 9.9'
    result = run('r2', application=args['application'])
    assert result['failed'] and result['changed'] is False and result['restored'] is False
    assert 'Unit rejected PUT /config (HTTP 400)' in result['msg'] and 'python 9.9' in result['msg']
    assert serving(fake) == 'r1'


def test_routes_held_as_an_array_are_not_overwritten(run, fake, recorded):
    fake.config = copy.deepcopy(recorded.djangochannels_config)
    fake.config['routes'] = [{'action': {'pass': 'applications/djangochannels'}}]
    held = copy.deepcopy(fake.config)
    result = run('r1')
    assert result['failed'] and 'named route sets' in result['msg']
    assert fake.config == held and not fake.writes


def test_check_mode_reports_the_change_with_its_diff_and_sends_nothing(run, fake, app):
    run('r1')
    writes, hits = len(fake.writes), app.hits
    result = run('r2', check_mode=True, diff=True)
    assert not result['failed'] and result['changed'] is True
    assert '/srv/chat/releases/r2' in result['diff']['after'] and '/srv/chat/releases/r1' in result['diff']['before']
    assert len(fake.writes) == writes and app.hits == hits and serving(fake) == 'r1'


def test_check_mode_of_the_serving_release_reports_no_change(run, fake):
    run('r1')
    assert run('r1', check_mode=True)['changed'] is False


def test_probe_can_be_turned_off(run, fake, app):
    hits = app.hits
    result = run('r3', probe={'enabled': False})
    assert not result['failed'] and serving(fake) == 'r3' and app.hits == hits


def test_a_listener_that_is_not_addr_port_is_refused_before_anything_is_sent(run, fake):
    result = run('r1', listen='localhost')
    assert result['failed'] and 'not a listener address' in result['msg'] and not fake.requests


def test_a_tcp_control_address(run_module, fake, app):
    url = fake.serve_tcp()
    args = release('r1')
    args.update(name='chat', listen='127.0.0.1:%d' % app.port, control=url.replace('http://', ''),
                probe={'timeout': 1}, log_file=fake.log_path)
    result = run_module(unit_release, args)
    assert not result['failed'], result['msg']
    assert serving(fake) == 'r1'


def test_new_secrets_with_a_new_listener_still_restart_the_processes(run, fake, app):
    # Unit restarts the app only when its own entry changes; a route or listener change does not.
    run('r1')
    routes = release('r1')['routes']
    routes[0]['action']['types'] = ['text/css']
    result = run('r1', routes=routes, restart=True)
    assert not result['failed'] and result['restarted'] is True
    assert [r.raw_path for r in fake.writes[-2:]] == ['/config', '/control/applications/chat/restart']


def test_the_restore_keeps_what_others_changed_meanwhile(run, fake, app):
    run('r1')
    other = {'type': 'python 3.11', 'path': '/srv/other', 'module': 'wsgi'}

    def someone_else_adds_an_app():
        fake.config['applications']['other'] = other  # while the probe runs
    app.bad_log = []
    original = app.bad_status
    app.bad_status = 500
    fake_log = fake.log

    def log_and_add(lines):
        someone_else_adds_an_app()
        fake_log(lines)
    fake.log = log_and_add
    result = run('r3')
    fake.log = fake_log
    assert original == 500 and result['failed'] and result['restored'] is True
    assert serving(fake) == 'r1' and fake.config['applications']['other'] == other


def test_a_put_whose_answer_times_out_is_checked_against_what_unit_holds(run, fake, app, monkeypatch):
    run('r1')
    real_handle = fake.handle

    def applied_then_slow(method, raw_path, body):
        answer = real_handle(method, raw_path, body)
        if method == 'PUT':
            time.sleep(3)  # Unit applied it, but answers after the client gave up
        return answer

    monkeypatch.setattr(fake, 'handle', applied_then_slow)
    result = run('r2', timeout=1)
    assert not result['failed'], result['msg']
    assert result['changed'] is True and serving(fake) == 'r2' and result['http_status'] == 200


def test_a_put_that_unit_never_answers_is_not_called_nothing_changed(run, fake, app, monkeypatch):
    run('r1')
    real_handle = fake.handle

    def no_answers_after_a_put(method, raw_path, body):
        if method == 'PUT' or fake.delay:
            fake.delay = 3
        return real_handle(method, raw_path, body)

    monkeypatch.setattr(fake, 'handle', no_answers_after_a_put)
    result = run('r2', timeout=1)
    assert result['failed'] and 'unknown' in result['msg'] and result['changed'] is True, (result['failed'], result.get('msg'))


# --- HTTPS: a TLS listener, the plain one redirecting, ACME challenges, HSTS -----------------------

@pytest.fixture
def tls_app(fake, monkeypatch):
    monkeypatch.setattr(probe_utils, 'RETRY_INTERVAL', 0)
    server = AppServer(fake, tls=testcerts.chain().bundle('chat.example.com'))
    fake.certificates['chat-0123456789ab'] = {'key': 'EC', 'chain': []}  # the bundle the listener names
    yield server
    server.stop()


def tls_args(tls_app, **tls):
    tls.setdefault('listen', '127.0.0.1:%d' % tls_app.port)
    tls.setdefault('certificate', ['chat-0123456789ab'])
    return dict(listen='127.0.0.1:8080', tls=tls)


def test_tls_listener_serves_the_app_and_plain_http_redirects(run, fake, tls_app):
    result = run('r1', **tls_args(tls_app))
    assert not result['failed'], result['msg']
    tls_listen = '127.0.0.1:%d' % tls_app.port
    assert fake.config['listeners'] == {
        tls_listen: {'pass': 'routes/chat', 'tls': {'certificate': 'chat-0123456789ab'}},
        '127.0.0.1:8080': {'pass': 'routes/chat-http'},
    }
    assert fake.config['routes']['chat-http'] == [
        {'action': {'return': 301, 'location': 'https://$host:%d$request_uri' % tls_app.port}}]
    # the probe went over https to the TLS listener
    assert result['http_status'] == 200 and tls_app.hits == 1
    assert run('r1', **tls_args(tls_app))['changed'] is False


def test_redirect_to_port_443_names_no_port():
    assert unit_release.redirect_location('*:443') == 'https://$host$request_uri'
    assert unit_release.redirect_location('[::]:8443') == 'https://$host:8443$request_uri'


def test_hsts_header_on_every_answer_of_the_app(run, fake, tls_app):
    args = tls_args(tls_app, hsts_max_age=31536000)
    result = run('r1', **args)
    assert not result['failed'], result['msg']
    for step in fake.config['routes']['chat']:
        assert step['action']['response_headers'] == {'Strict-Transport-Security': 'max-age=31536000'}


def test_acme_challenges_come_before_the_redirect(run, fake, tls_app):
    result = run('r1', acme_webroot='/var/lib/unitchannels/acme/', **tls_args(tls_app))
    assert not result['failed'], result['msg']
    assert fake.config['routes']['chat-http'][0] == {
        'match': {'uri': '/.well-known/acme-challenge/*'},
        'action': {'share': '/var/lib/unitchannels/acme$uri'}}
    assert fake.config['routes']['chat-http'][1]['action']['return'] == 301


def test_acme_challenges_without_tls_yet_then_the_app(run, fake, app):
    result = run('r1', acme_webroot='/var/lib/unitchannels/acme')
    assert not result['failed'], result['msg']
    assert fake.config['listeners'] == {'127.0.0.1:%d' % app.port: {'pass': 'routes/chat-http'}}
    assert fake.config['routes']['chat-http'][-1] == {'action': {'pass': 'routes/chat'}}


def test_both_plain_and_tls_serve_the_app_when_asked(run, fake, tls_app):
    result = run('r1', **tls_args(tls_app, redirect=False))
    assert not result['failed'], result['msg']
    assert fake.config['listeners']['127.0.0.1:8080'] == {'pass': 'routes/chat'}
    assert 'chat-http' not in fake.config['routes']


def test_turning_tls_off_removes_the_tls_listener_and_the_redirect(run, fake, tls_app, app):
    run('r1', acme_webroot='/srv/acme', **tls_args(tls_app))
    fake.config['listeners']['*:9000'] = {'pass': 'routes/other'}  # not the app's: stays
    fake.config['listeners']['*:9001'] = {'pass': 'routes/chat'}  # a user's extra plain listener: stays
    fake.config['listeners']['*:9002'] = {'pass': 'routes/chat-http'}  # a user's dual-stack copy: repointed
    fake.config['routes']['other'] = [{'action': {'return': 204}}]
    result = run('r1')
    assert not result['failed'], result['msg']
    assert fake.config['listeners'] == {'127.0.0.1:%d' % app.port: {'pass': 'routes/chat'},
                                        '*:9000': {'pass': 'routes/other'}, '*:9001': {'pass': 'routes/chat'},
                                        '*:9002': {'pass': 'routes/chat'},
                                        # the old plain address (this call moved it) is kept, now without the redirect
                                        '127.0.0.1:8080': {'pass': 'routes/chat'}}
    assert sorted(fake.config['routes']) == ['chat', 'other']


def test_a_failed_tls_release_puts_back_the_plain_one(run, fake, tls_app, app):
    run('r1')
    before = copy.deepcopy(fake.config)
    result = run('r3', **tls_args(tls_app))
    assert result['failed'] and result['restored'] is True
    assert fake.config == before


def test_the_same_address_for_both_listeners_is_refused(run, fake, tls_app):
    address = '127.0.0.1:%d' % tls_app.port
    result = run('r1', listen=address, tls={'listen': address, 'certificate': ['chat-0123456789ab']})
    assert result['failed'] and 'different addresses' in result['msg'] and not fake.requests


def test_a_users_second_tls_listener_stays_while_tls_is_on(run, fake, tls_app):
    run('r1', **tls_args(tls_app))
    fake.certificates['mine'] = {'key': 'EC', 'chain': []}
    fake.config['listeners']['*:9443'] = {'pass': 'routes/chat', 'tls': {'certificate': 'chat-0123456789ab'}}
    fake.config['listeners']['*:9444'] = {'pass': 'routes/chat', 'tls': {'certificate': 'mine'}}
    assert not run('r1', **tls_args(tls_app))['failed']
    assert {'*:9443', '*:9444'} <= set(fake.config['listeners'])
    # TLS turned off: the listener with the app's own bundle goes, the one with the user's stays
    assert not run('r1', listen='127.0.0.1:8080', probe={'enabled': False})['failed']
    assert '*:9443' not in fake.config['listeners'] and '*:9444' in fake.config['listeners']


def test_proxies_make_the_listener_believe_forwarded_headers_from_them_only(run, fake, app):
    result = run('r1', proxies=['10.0.0.5', '10.0.1.0/24'])
    assert not result['failed'] and result['changed']
    assert fake.config['listeners']['127.0.0.1:%d' % app.port] == {
        'pass': 'routes/chat',
        'forwarded': {'client_ip': 'X-Forwarded-For', 'protocol': 'X-Forwarded-Proto', 'source': ['10.0.0.5', '10.0.1.0/24']}}
    # Without them again, the listener takes clients directly.
    result = run('r1')
    assert result['changed'] and fake.config['listeners']['127.0.0.1:%d' % app.port] == {'pass': 'routes/chat'}
