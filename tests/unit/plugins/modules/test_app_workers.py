# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""app_workers: an app's background workers as systemd instances of one release."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.unitchannels.deploy.plugins.modules import app_workers


class FakeSystemd(object):
    """systemctl and journalctl as the module calls them; `running` is what list-units shows."""

    def __init__(self):
        self.running = set()
        self.calls = []
        self.down = set()  # units that do not stay up once started
        self.journal = 'CommandError: Error: the following arguments are required: channels\n'

    def run_command(self, argv, **kwargs):
        tool, args = os.path.basename(argv[0]), argv[1:]
        self.calls.append([tool] + args)
        if tool == 'journalctl':
            return 0, self.journal, ''
        verb, unit = args[0], args[-1]
        if verb == 'list-units':
            return 0, ''.join('%s loaded active running worker\n' % name for name in sorted(self.running)), ''
        if verb == 'show':
            if unit in self.down:
                return 0, 'ActiveState=activating\nSubState=auto-restart\nNRestarts=2\nResult=exit-code\nExecMainStatus=2\n', ''
            state = 'active' if unit in self.running else 'inactive'
            return 0, 'ActiveState=%s\nSubState=running\nNRestarts=0\nResult=success\nExecMainStatus=0\n' % state, ''
        if verb == 'restart':
            self.running.add(unit)
        elif verb == 'disable':
            self.running.discard(unit)
        return 0, '', ''

    def verbs(self, verb):
        return [call[-1] for call in self.calls if call[0] == 'systemctl' and call[1] == verb]


@pytest.fixture
def systemd(commands):
    return commands(FakeSystemd())


@pytest.fixture
def run(run_module, tmp_path):
    (tmp_path / 'multi-user.target.wants').mkdir()
    for release in ('r1', 'r2'):
        (tmp_path / 'root' / 'releases' / release).mkdir(parents=True)

    def run(check_mode=False, **args):
        params = dict(app='chat', root=str(tmp_path / 'root'), release='r2', user='unit', group='unit', settle=0,
                      writable_paths=['/srv/chat/shared'], after=['redis-server.service'], unit_dir=str(tmp_path),
                      workers=[dict(name='stats', command=['manage', 'runworker', 'chat-stats'])])
        params.update(args)
        return run_module(app_workers, params, check_mode=check_mode, diff=True)
    return run


def template(tmp_path, name='stats'):
    return (tmp_path / ('unitchannels-chat_%s@.service' % name)).read_text()


def test_started_writes_the_template_and_runs_the_release_beside_the_serving_one(run, systemd, tmp_path):
    systemd.running = {'unitchannels-chat_stats@r1.1.service'}
    result = run(state='started', workers=[dict(name='stats', command=['manage', 'runworker', 'chat-stats'], processes=2)])
    assert not result['failed'] and result['changed']
    assert result['started'] == ['unitchannels-chat_stats@r2.1.service', 'unitchannels-chat_stats@r2.2.service']
    assert result['stopped'] == []
    assert 'unitchannels-chat_stats@r1.1.service' in result['running']
    unit = template(tmp_path)
    assert 'ExecStart="%s/root/bin/manage" "--worker" %%i "stats"\n' % tmp_path in unit
    # The command is the release's own record: a rollback runs what that release ran.
    record = tmp_path / 'root' / 'releases' / 'r2' / '.unit-workers.json'
    assert json.loads(record.read_text()) == {'stats': ['manage', 'runworker', 'chat-stats']}
    for line in ('User=unit', 'StartLimitIntervalSec=0', 'Group=unit', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes',
                 'ReadWritePaths=/srv/chat/shared', 'KillSignal=SIGTERM', 'TimeoutStopSec=30',
                 'After=network-online.target redis-server.service', 'WantedBy=multi-user.target'):
        assert line + '\n' in unit
    assert systemd.verbs('daemon-reload')
    assert systemd.verbs('enable') == result['started']


def test_exclusive_stops_the_other_releases_and_removes_undeclared_workers(run, systemd, tmp_path):
    (tmp_path / 'unitchannels-chat_old@.service').write_text('[Service]\n')
    (tmp_path / 'multi-user.target.wants' / 'unitchannels-chat_old@r1.1.service').symlink_to('/dev/null')
    systemd.running = {'unitchannels-chat_stats@r1.1.service', 'unitchannels-chat_stats@r2.1.service',
                       'unitchannels-other_stats@r1.1.service'}
    run(state='started')
    result = run(state='exclusive')
    assert result['started'] == []
    assert result['stopped'] == ['unitchannels-chat_old@r1.1.service', 'unitchannels-chat_stats@r1.1.service']
    assert result['running'] == ['unitchannels-chat_stats@r2.1.service']  # another app's are not its to stop
    assert not (tmp_path / 'unitchannels-chat_old@.service').exists()
    assert set(systemd.verbs('disable')) == set(result['stopped'])


def test_nothing_to_do_changes_nothing(run, systemd):
    systemd.running = {'unitchannels-chat_stats@r2.1.service'}
    run(state='exclusive')
    systemd.calls = []
    result = run(state='exclusive')
    assert not result['changed']
    assert [call[1] for call in systemd.calls] == ['list-units']


def test_a_worker_that_does_not_stay_up_fails_and_leaves_what_ran(run, systemd, tmp_path):
    systemd.running = {'unitchannels-chat_stats@r1.1.service'}
    run(state='exclusive', release='r1')
    before = template(tmp_path)
    systemd.down = {'unitchannels-chat_stats@r2.1.service'}
    result = run(state='started', workers=[dict(name='stats', command=['manage', 'runworker'])])
    assert result['failed']
    assert result['msg'].startswith('Worker stats of chat did not stay up on release r2: '
                                    'unitchannels-chat_stats@r2.1.service is activating (exit-code, restarted 2 times')
    assert 'the following arguments are required: channels' in result['msg']
    assert systemd.running == {'unitchannels-chat_stats@r1.1.service'}
    assert template(tmp_path) == before  # the serving release's instances keep their definition


def test_the_journal_lines_shown_have_the_secrets_masked(run, systemd):
    systemd.down = {'unitchannels-chat_stats@r2.1.service'}
    systemd.journal = ('redis.exceptions.AuthenticationError: invalid password s3cr3t-redis-pw\n'
                       'settings refused key django-key-0123456789\n')
    result = run(state='started', secrets=['redis://:s3cr3t-redis-pw@127.0.0.1:6379/0', 'django-key-0123456789'])
    assert result['failed']
    assert 'invalid password ********' in result['msg'] and 'refused key ********' in result['msg']
    assert 's3cr3t' not in result['msg'] and 'django-key' not in result['msg']


def test_a_changed_command_that_fails_brings_the_running_instances_back(run, systemd, tmp_path):
    systemd.running = {'unitchannels-chat_stats@r2.1.service'}
    run(state='exclusive')
    record = tmp_path / 'root' / 'releases' / 'r2' / '.unit-workers.json'
    before = record.read_text()
    systemd.calls = []
    systemd.down = {'unitchannels-chat_stats@r2.1.service'}
    result = run(state='exclusive', workers=[dict(name='stats', command=['manage', 'runworker'])])
    assert result['failed'] and 'Worker stats of chat did not stay up on release r2' in result['msg']
    assert record.read_text() == before
    # restarted with the record it ran with, not disabled
    assert systemd.verbs('restart') == ['unitchannels-chat_stats@r2.1.service'] * 2
    assert 'unitchannels-chat_stats@r2.1.service' not in systemd.verbs('disable')


def test_restart_restarts_the_running_instances_of_the_release(run, systemd):
    systemd.running = {'unitchannels-chat_stats@r2.1.service'}
    run(state='exclusive')
    result = run(state='exclusive', restart=True)
    assert result['changed'] and result['started'] == ['unitchannels-chat_stats@r2.1.service']


def test_stopped_stops_the_release_that_did_not_go_live(run, systemd):
    systemd.running = {'unitchannels-chat_stats@r1.1.service', 'unitchannels-chat_stats@r2.1.service'}
    result = run(state='stopped')
    assert result['stopped'] == ['unitchannels-chat_stats@r2.1.service']
    assert systemd.running == {'unitchannels-chat_stats@r1.1.service'}


def test_check_mode_reports_and_runs_nothing(run, systemd, tmp_path):
    result = run(check_mode=True, state='exclusive')
    assert result['changed'] and result['started'] == ['unitchannels-chat_stats@r2.1.service']
    assert 'unitchannels-chat_stats@r2.1.service' in result['diff']['after']
    assert [call[1] for call in systemd.calls] == ['list-units']
    assert not (tmp_path / 'unitchannels-chat_stats@.service').exists()


def test_a_worker_of_other_hosts_is_not_declared_here(run, systemd):
    result = run(state='exclusive', host='app2',
                 workers=[dict(name='stats', command=['manage', 'runworker', 'chat-stats']),
                          dict(name='beat', command=['celery', '-A', 'mysite', 'beat'], hosts=['app1'])])
    assert result['started'] == ['unitchannels-chat_stats@r2.1.service']


@pytest.mark.parametrize('worker, message', [
    (dict(name='Stats', command=['manage']), "worker name 'Stats'"),
    (dict(name='stats', command=[]), 'worker stats: command is empty'),
    (dict(name='stats', command=['x'], processes=0), 'processes is 0'),
    (dict(name='stats', command=['x'], stop_signal='TERM'), 'stop_signal TERM is not a signal name'),
    (dict(name='stats', command=['x'], stop_timeout=0), 'stop_timeout is 0'),
])
def test_bad_workers_are_refused_with_the_cause(run, systemd, worker, message):
    result = run(workers=[worker])
    assert result['failed'] and message in result['msg']
    assert systemd.calls == []


def test_systemd_quoting_keeps_specifiers_and_variables_literal():
    assert app_workers.systemd_quote('50% "$HOME"\\') == '"50%% \\"$$HOME\\"\\\\"'


def test_the_apps_worker_templates_only_are_listed(tmp_path):
    from ansible_collections.unitchannels.deploy.plugins.module_utils.worker_units import template_workers
    for name in ('unitchannels-chat_stats@.service', 'unitchannels-chat_beat@.service',
                 'unitchannels-chat_x_stats@.service', 'unitchannels-chat_stats@r1.1.service', 'unit.service'):
        (tmp_path / name).write_text('')
    assert template_workers('chat', str(tmp_path)) == ['beat', 'stats']
    assert template_workers('chat_x', str(tmp_path)) == ['stats']
    assert template_workers('', str(tmp_path)) == []


def test_restarted_restarts_every_running_instance_of_the_app(run, systemd):
    systemd.running = {'unitchannels-chat_stats@r2.1.service', 'unitchannels-chat_beat@r2.1.service',
                       'unitchannels-other_stats@r1.1.service'}
    result = run(state='restarted', release=None, root=None, user=None, group=None, workers=[])
    assert result['changed'] and result['started'] == ['unitchannels-chat_beat@r2.1.service', 'unitchannels-chat_stats@r2.1.service']
    assert systemd.verbs('restart') == result['started']
