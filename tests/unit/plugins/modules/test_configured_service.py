# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""configured_service: a service's files, lines, boot start and state in one call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import socket
import threading
import time

import pytest

from ansible.module_utils import basic
from ansible_collections.unitchannels.deploy.plugins.module_utils import systemd_service
from ansible_collections.unitchannels.deploy.plugins.modules import configured_service

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


class FakeSystemd(object):
    """systemctl as the module calls it: `show` answers from the state, the rest changes it."""

    def __init__(self, load='loaded', active='active', unit_file='enabled'):
        self.state = dict(LoadState=load, ActiveState=active, UnitFileState=unit_file)
        self.calls = []
        self.fail = None
        self.journal_lines = 'unitd[81]: [alert] bind(\"unix:/run/x.sock\") failed\n'
        self.journal_argv = None

    def run_command(self, argv, **kwargs):
        verb = argv[1] if argv[0].endswith('systemctl') else argv[0]
        self.calls.append(verb)
        if verb.endswith('journalctl'):
            self.journal_argv = argv
            return 0, self.journal_lines, ''
        if self.fail == verb:
            return 1, '', 'Job for redis-server.service failed.\n'
        if verb == 'show':
            return 0, ''.join('%s=%s\n' % item for item in self.state.items()), ''
        if verb in ('start', 'restart'):
            self.state['ActiveState'] = 'active'
        elif verb == 'stop':
            self.state['ActiveState'] = 'inactive'
        elif verb in ('enable', 'disable'):
            self.state['UnitFileState'] = verb + 'd'
        return 0, '', ''

    @property
    def acts(self):
        return [verb for verb in self.calls if verb != 'show']


@pytest.fixture
def systemd(commands):
    return commands(FakeSystemd())


@pytest.fixture
def run(run_module, tmp_path):
    def run(check_mode=False, **args):
        args.setdefault('name', 'redis-server')
        for entry in args.get('files', []):
            entry['path'] = str(tmp_path / entry['path'])
            entry.setdefault('owner', ME)
            entry.setdefault('group', MY_GROUP)
            entry.setdefault('mode', '0644')
        for entry in args.get('lines', []):
            entry['path'] = str(tmp_path / entry['path'])
        return run_module(configured_service, args, check_mode=check_mode, diff=True)
    return run


def settings(content='maxmemory 64mb\n'):
    return [{'path': 'local.conf', 'content': content}]


def test_a_converged_service_is_only_looked_at(run, systemd, tmp_path):
    (tmp_path / 'main.conf').write_text('port 6379\ninclude local.conf\n')
    run(files=settings(), lines=[{'path': 'main.conf', 'line': 'include local.conf'}], enabled=True)
    systemd.calls[:] = []
    result = run(files=settings(), lines=[{'path': 'main.conf', 'line': 'include local.conf'}], enabled=True)
    assert result['changed'] is False and result['action'] is None and result['changed_paths'] == []
    assert systemd.calls == ['show']


def test_new_settings_restart_the_running_service_after_writing_them(run, systemd, tmp_path):
    result = run(files=settings('maxmemory 128mb\n'))
    assert result['changed'] is True and result['action'] == 'restarted'
    assert systemd.acts == ['restart']
    assert (tmp_path / 'local.conf').read_text() == 'maxmemory 128mb\n'
    assert result['diff'][0]['after'] == 'maxmemory 128mb\n'


def test_the_host_log_never_gets_a_secret_setting(run, systemd, monkeypatch):
    logged = []
    monkeypatch.setattr(basic.AnsibleModule, 'log', lambda self, msg, log_args=None: logged.append(msg))
    result = run(files=[{'path': 'local.conf', 'secret_content': 'requirepass s3cr3t-value\nmaxmemory 64mb\n'}])
    assert result['changed'] is True and not any('s3cr3t' in msg for msg in logged), logged


def test_a_stopped_service_is_started_not_restarted(run, systemd):
    systemd.state['ActiveState'] = 'failed'
    result = run(files=settings())
    assert result['action'] == 'started' and systemd.acts == ['start']


def test_restart_asked_for_restarts_with_no_file_changed(run, systemd):
    result = run(restart=True)
    assert result['changed'] is True and result['action'] == 'restarted' and systemd.acts == ['restart']


def test_a_line_is_appended_once_and_the_file_keeps_its_mode(run, systemd, tmp_path):
    main = tmp_path / 'main.conf'
    main.write_text('port 6379')  # no newline at the end
    os.chmod(str(main), 0o640)
    result = run(lines=[{'path': 'main.conf', 'line': 'include local.conf'}])
    assert main.read_text() == 'port 6379\ninclude local.conf\n'
    assert oct(os.stat(str(main)).st_mode & 0o7777) == oct(0o640)
    assert result['changed_paths'] == [str(main)] and result['action'] == 'restarted'
    again = run(lines=[{'path': 'main.conf', 'line': 'include local.conf'}])
    assert again['changed'] is False and main.read_text() == 'port 6379\ninclude local.conf\n'


def test_a_missing_file_for_a_line_fails_with_its_path(run, systemd):
    result = run(lines=[{'path': 'main.conf', 'line': 'include local.conf'}])
    assert result['failed'] and 'main.conf does not exist' in result['msg']
    assert systemd.acts == []


def test_a_drop_in_makes_systemd_reload_before_the_restart(run, systemd, monkeypatch, tmp_path):
    monkeypatch.setattr(configured_service, 'SYSTEMD_PATHS', (str(tmp_path) + '/',))
    result = run(files=settings('[Service]\nPrivateUsers=false\n'))
    assert result['daemon_reloaded'] is True and systemd.acts == ['daemon-reload', 'restart']


def test_daemon_reload_asked_for(run, systemd):
    result = run(daemon_reload=True)
    assert result['changed'] is True and systemd.acts == ['daemon-reload']


def test_boot_start_is_corrected_both_ways(run, systemd):
    systemd.state['UnitFileState'] = 'disabled'
    assert run(enabled=True)['enabled_changed'] is True and systemd.acts == ['enable']
    systemd.calls[:] = []
    assert run(enabled=False)['enabled_changed'] is True and systemd.acts == ['disable']
    systemd.calls[:] = []
    assert run()['changed'] is False  # enabled left as it is


def test_stopped_stops_a_running_service_without_restarting_it_for_new_files(run, systemd):
    result = run(state='stopped', files=settings())
    assert result['action'] == 'stopped' and systemd.acts == ['stop']
    systemd.calls[:] = []
    result = run(state='stopped', files=settings('other\n'), restart=True)
    assert result['action'] is None and systemd.acts == []


def test_check_mode_writes_and_runs_nothing_but_says_what_it_would_do(run, systemd, tmp_path):
    systemd.state.update(ActiveState='inactive', UnitFileState='disabled')
    result = run(check_mode=True, enabled=True, files=settings(),
                 lines=[{'path': 'main.conf', 'line': 'include local.conf'}])
    assert result['changed'] is True and result['action'] == 'started' and result['enabled_changed'] is True
    assert result['changed_paths'] == [str(tmp_path / 'local.conf'), str(tmp_path / 'main.conf')]
    assert not (tmp_path / 'local.conf').exists() and not (tmp_path / 'main.conf').exists()
    assert systemd.acts == []


def test_a_service_that_does_not_exist_fails_and_names_it(run, systemd):
    systemd.state.update(LoadState='not-found', ActiveState='inactive', UnitFileState='')
    result = run(files=settings())
    assert result['failed'] and 'redis-server is not-found' in result['msg'] and 'install its package' in result['msg']
    assert systemd.acts == []


def test_in_check_mode_a_service_not_installed_yet_is_a_change(run, systemd):
    systemd.state.update(LoadState='not-found', ActiveState='inactive', UnitFileState='')
    result = run(check_mode=True, enabled=True)
    assert not result.get('failed') and result['action'] == 'started' and systemd.acts == []


def test_a_failing_systemctl_fails_with_its_message(run, systemd, monkeypatch):
    monkeypatch.setattr(systemd_service, 'JOURNAL_SETTLE_SECONDS', 0)
    systemd.fail = 'restart'
    result = run(files=settings())
    assert result['failed'] and 'systemctl restart -- redis-server failed' in result['msg']
    assert 'Job for redis-server.service failed.' in result['msg']


def test_a_service_that_would_not_start_says_why_from_its_journal_of_this_start(run, systemd, monkeypatch):
    """systemctl only points at the journal: the module brings the lines of this attempt."""
    monkeypatch.setattr(systemd_service, 'JOURNAL_SETTLE_SECONDS', 0)
    systemd.fail = 'restart'
    systemd.journal_lines = 'haproxy[3203]: [ALERT] Cannot raise FD limit to 40042, limit is 20000.\n'
    result = run(files=settings())
    assert result['failed']
    assert result['msg'].endswith('The end of its journal:\nhaproxy[3203]: [ALERT] Cannot raise FD limit to 40042, limit is 20000.')
    assert systemd.journal_argv[-4:-2] == ['-u', 'redis-server'] and systemd.journal_argv[-2] == '--since'


def test_a_failure_to_enable_brings_no_journal(run, systemd):
    systemd.state['UnitFileState'] = 'disabled'
    systemd.fail = 'enable'
    result = run(enabled=True)
    assert result['failed'] and 'systemctl enable -- redis-server failed' in result['msg']
    assert 'journal' not in result['msg'] and systemd.journal_argv is None


def test_active_since_takes_systemds_monotonic_time_to_the_wall_clock():
    ten_seconds_ago = int((time.monotonic() - 10) * 1e6)
    since = configured_service.active_since({'ActiveEnterTimestampMonotonic': str(ten_seconds_ago)})
    assert abs(since - (time.time() - 10)) < 0.5
    assert configured_service.active_since({'ActiveEnterTimestampMonotonic': '0'}) is None  # never active
    assert configured_service.active_since({}) is None


@pytest.fixture
def modules(tmp_path):
    path = tmp_path / 'modules'
    path.mkdir()
    (path / 'python3.11.unit.so').write_text('module')
    return path


def started_at(monkeypatch, when):
    monkeypatch.setattr(configured_service, 'active_since', lambda status: when)


def test_a_module_installed_after_the_start_restarts_the_service(run, systemd, modules, monkeypatch):
    started_at(monkeypatch, time.time() - 60)
    result = run(restart_for_paths=[str(modules)])
    assert result['action'] == 'restarted' and systemd.acts == ['restart']
    assert 'modules changed after the service started' in result['restart_reason']


def test_a_service_started_after_its_program_changed_is_left_running(run, systemd, modules, monkeypatch):
    """The package's own scripts restarted it after the upgrade: no second restart."""
    started_at(monkeypatch, time.time() + 60)
    result = run(restart_for_paths=[str(modules)])
    assert result['changed'] is False and result['action'] is None and systemd.acts == []


def test_a_removed_module_counts_through_its_directory(run, systemd, modules, monkeypatch):
    time.sleep(0.05)
    started_at(monkeypatch, time.time())  # after the module was installed, before it was removed
    time.sleep(0.05)
    (modules / 'python3.11.unit.so').unlink()
    result = run(restart_for_paths=[str(modules)])
    assert result['restart_reason'] == '%s changed after the service started' % modules


def test_an_unreadable_start_restarts_nothing(run, systemd, modules, monkeypatch):
    started_at(monkeypatch, None)
    assert run(restart_for_paths=[str(modules)])['action'] is None


def test_systemds_own_answer_decides(run, systemd, modules):
    """No stand-in for the clock: what `systemctl show` says, against the module file just written."""
    systemd.state['ActiveEnterTimestampMonotonic'] = str(int((time.monotonic() - 60) * 1e6))
    assert run(restart_for_paths=[str(modules)])['action'] == 'restarted'
    systemd.calls[:] = []
    systemd.state['ActiveEnterTimestampMonotonic'] = str(int((time.monotonic() + 1) * 1e6))
    assert run(restart_for_paths=[str(modules)])['action'] is None and systemd.acts == []


def test_boot_start_of_a_static_service_is_left_alone(run, systemd):
    systemd.state['UnitFileState'] = 'static'
    assert run(enabled=False)['changed'] is False and systemd.acts == []
    assert run(enabled=True)['changed'] is False and systemd.acts == []


def test_a_masked_service_fails_saying_so(run, systemd):
    systemd.state.update(LoadState='masked', ActiveState='inactive', UnitFileState='masked')
    result = run()
    assert result['failed'] and 'redis-server is masked: unmask it first' in result['msg']


def test_a_line_goes_through_a_link_to_its_target(run, systemd, tmp_path):
    (tmp_path / 'real.conf').write_text('port 6379\n')
    os.symlink('real.conf', str(tmp_path / 'main.conf'))
    run(lines=[{'path': 'main.conf', 'line': 'include local.conf'}])
    assert os.path.islink(str(tmp_path / 'main.conf'))
    assert (tmp_path / 'real.conf').read_text() == 'port 6379\ninclude local.conf\n'


@pytest.fixture
def listening(workdir):
    """A unix socket that accepts connections, and its wait_for address."""
    path = os.path.join(workdir, 'control.sock')
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(5)
    yield 'unix:' + path
    server.close()


def test_wait_for_returns_once_the_socket_accepts(run, systemd, listening):
    systemd.state['ActiveState'] = 'inactive'
    result = run(wait_for=listening)
    assert not result['failed'] and result['action'] == 'started' and result['waited'] < 1


def test_wait_for_a_socket_that_comes_up_late(run, systemd, workdir):
    path = os.path.join(workdir, 'late.sock')
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    timer = threading.Timer(0.5, lambda: (server.bind(path), server.listen(5)))
    timer.start()
    try:
        result = run(wait_for='unix:' + path)
    finally:
        timer.join()
        server.close()
    assert not result['failed'] and 0.4 < result['waited'] < 5


def test_wait_for_gives_up_with_the_services_journal(run, systemd, workdir):
    result = run(wait_for='unix:' + os.path.join(workdir, 'never.sock'), wait_timeout=1)
    assert result['failed'] and 'nothing accepted a connection on unix:' in result['msg']
    assert result['msg'].endswith('The end of its journal:\nunitd[81]: [alert] bind("unix:/run/x.sock") failed')


def test_wait_for_a_tcp_port(run, systemd):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(('127.0.0.1', 0))
    server.listen(5)
    try:
        result = run(wait_for='127.0.0.1:%d' % server.getsockname()[1])
    finally:
        server.close()
    assert not result['failed'] and 'waited' in result


def test_wait_for_is_not_waited_for_in_check_mode_or_when_stopping(run, systemd, workdir):
    never = 'unix:' + os.path.join(workdir, 'never.sock')
    assert 'waited' not in run(check_mode=True, wait_for=never, wait_timeout=1)
    assert 'waited' not in run(state='stopped', wait_for=never, wait_timeout=1)


@pytest.mark.parametrize('address', ['/run/x.sock', 'unix:relative.sock', 'localhost', '127.0.0.1:http'])
def test_wait_for_that_is_no_address_fails_before_acting(run, systemd, address):
    result = run(wait_for=address)
    assert result['failed'] and 'is neither unix:/PATH nor HOST:PORT' in result['msg'] and systemd.acts == []


def test_a_change_to_reload_paths_alone_reloads_and_another_restarts(run, systemd, tmp_path):
    hba = str(tmp_path / 'pg_hba.conf')
    result = run(files=[{'path': 'pg_hba.conf', 'content': 'local all postgres peer\n'}], reload_for_paths=[hba])
    assert result['changed'] is True and result['action'] == 'reloaded' and result['restart_reason'] is None
    assert systemd.acts == ['reload']
    systemd.calls[:] = []
    result = run(files=[{'path': 'pg_hba.conf', 'content': 'local all postgres peer\nhost all all 10.0.0.0/8 scram-sha-256\n'},
                        {'path': 'local.conf', 'content': 'port 5433\n'}], reload_for_paths=[hba])
    assert result['action'] == 'restarted' and result['restart_reason'] == '%s changed' % (tmp_path / 'local.conf')
    assert systemd.acts == ['restart']


def test_a_stopped_service_is_started_whatever_path_changed(run, systemd, tmp_path):
    systemd.state['ActiveState'] = 'inactive'
    result = run(files=[{'path': 'pg_hba.conf', 'content': 'x\n'}], reload_for_paths=[str(tmp_path / 'pg_hba.conf')])
    assert result['action'] == 'started' and systemd.acts == ['start']
