# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""unit_info against the recorded-replies fake."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.unitchannels.deploy.plugins.module_utils import unit_state
from ansible_collections.unitchannels.deploy.plugins.modules import unit_info
from ansible_collections.unitchannels.deploy.tests.unit import fakeunit

# What a real unitd 1.34.2 prints (tests/fixtures, 09-install-layout), on stderr.
UNITD_VERSION = ('unit version: 1.34.2\nconfigured as ./configure --prefix=/usr --statedir=/var/lib/unit '
                 '--control=unix:/var/run/control.unit.sock\n')


def script(path, body):
    with open(path, 'w') as f:
        f.write('#!/bin/sh\n' + body)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def unitd(workdir):
    return script(os.path.join(workdir, 'unitd'), "printf '%s' '" + UNITD_VERSION + "' >&2\n")


def test_reads_version_config_status_and_python_modules(run_module, fake, unit_args, unitd, recorded):
    fake.config = recorded.djangochannels_config
    result = run_module(unit_info, dict(unit_args, unitd=unitd))
    assert not result['failed'] and result['changed'] is False
    assert result['version'] == '1.34.2'
    assert result['config'] == recorded.djangochannels_config
    assert result['python_versions'] == ['3.11']
    assert result['status']['modules']['python']['lib'].endswith('python3.11.unit.so')
    assert result['control'] == 'unix:' + fake.socket_path
    assert [r.method + ' ' + r.raw_path for r in fake.requests] == ['GET /']


def test_runs_in_check_mode(run_module, fake, unit_args, unitd):
    result = run_module(unit_info, dict(unit_args, unitd=unitd), check_mode=True)
    assert not result['failed'] and result['version'] == '1.34.2'


def test_several_python_modules(run_module, fake, unit_args, unitd, monkeypatch):
    status = fake._status()
    status['modules']['python'] = [{'version': '3.11.2', 'lib': 'a'}, {'version': '3.13.1', 'lib': 'b'}]
    monkeypatch.setattr(fake, '_status', lambda: status)
    assert run_module(unit_info, dict(unit_args, unitd=unitd))['python_versions'] == ['3.11', '3.13']


def test_the_version_is_the_answering_unitds_not_the_binarys(run_module, fake, unit_args, workdir):
    """Real Unit's control API names its version in every answer (Server: Unit/1.34.2)."""
    upgraded = script(os.path.join(workdir, 'unitd'), "echo 'unit version: 1.35.0' >&2\n")
    result = run_module(unit_info, dict(unit_args, unitd=upgraded))
    assert not result['failed'] and result['version'] == '1.34.2'


@pytest.fixture
def no_version_header(monkeypatch):
    """A control API behind something that answers in Unit's place (Server: nginx)."""
    monkeypatch.setattr(fakeunit._Handler, 'server_version', 'nginx')


def test_without_the_header_unitd_names_the_version(run_module, fake, unit_args, unitd, no_version_header):
    result = run_module(unit_info, dict(unit_args, unitd=unitd))
    assert not result['failed'] and result['version'] == '1.34.2'


def test_no_unitd_gives_an_empty_version(run_module, fake, unit_args, monkeypatch, no_version_header):
    monkeypatch.setenv('PATH', '/nonexistent')
    monkeypatch.setattr(unit_state, 'SBIN_DIRS', ['/nonexistent'])
    result = run_module(unit_info, unit_args)
    assert not result['failed'] and result['version'] == ''


def test_a_unitd_that_reports_no_version_fails_with_its_output(run_module, fake, unit_args, workdir, no_version_header):
    broken = script(os.path.join(workdir, 'unitd'), 'echo "cannot load libssl.so.3" >&2; exit 127\n')
    result = run_module(unit_info, dict(unit_args, unitd=broken))
    assert result['failed'] and 'did not report a version' in result['msg'] and 'libssl' in result['msg']


def test_tcp_control_address(run_module, fake, unitd):
    url = fake.serve_tcp()
    result = run_module(unit_info, dict(control=url[len('http://'):], unitd=unitd))
    assert not result['failed'] and result['control'] == url


def test_no_unit_says_where_it_looked(run_module, workdir, unitd):
    missing = os.path.join(workdir, 'missing.sock')
    result = run_module(unit_info, dict(control='unix:' + missing, unitd=unitd))
    assert result['failed'] and missing in result['msg'] and 'does not exist' in result['msg']


def test_a_control_address_unitd_would_not_accept(run_module, unitd):
    result = run_module(unit_info, dict(control='localhost', unitd=unitd))
    assert result['failed'] and 'unix:/PATH or ADDR:PORT' in result['msg']


LIMITS = ('Limit                     Soft Limit           Hard Limit           Units     \n'
          'Max cpu time              unlimited            unlimited            seconds   \n'
          'Max open files            %s                 20000                files     \n')


def fake_proc(root, processes):
    """A /proc with one directory per (pid, cmdline, soft open-file limit)."""
    for pid, cmdline, soft in processes:
        os.makedirs(os.path.join(root, pid))
        with open(os.path.join(root, pid, 'cmdline'), 'wb') as f:
            f.write(cmdline.replace(' ', '\0').encode())
        with open(os.path.join(root, pid, 'limits'), 'w') as f:
            f.write(LIMITS % soft)
    os.makedirs(os.path.join(root, 'self'))
    return root


def test_open_files_limit_is_the_routers(workdir):
    proc = fake_proc(os.path.join(workdir, 'proc'), [
        ('1', '/lib/systemd/systemd', '1048576'),
        ('721', 'unit: main v1.34.2 [/usr/sbin/unitd --control unix:/var/run/control.unit.sock]', '4096'),
        ('724', 'unit: router', '20000'),
        ('890', 'unit: "chat" application', '1024'),
    ])
    assert unit_state.open_files_limit(proc) == 20000


def test_open_files_limit_of_a_unitd_without_process_titles(workdir):
    proc = fake_proc(os.path.join(workdir, 'proc'), [('90', 'python3 /usr/sbin/unitd --control unix:/x.sock', '1024')])
    assert unit_state.open_files_limit(proc) == 1024


def test_open_files_limit_without_unitd_is_none(workdir):
    proc = fake_proc(os.path.join(workdir, 'proc'), [('1', '/lib/systemd/systemd', '1024')])
    assert unit_state.open_files_limit(proc) is None


def test_unit_info_returns_the_limit(run_module, fake, unit_args, unitd, monkeypatch):
    monkeypatch.setattr(unit_info, 'open_files_limit', lambda: 65536)
    assert run_module(unit_info, dict(unit_args, unitd=unitd))['max_open_files'] == 65536


def test_listen_queue_limit_is_the_kernels_somaxconn(workdir):
    proc = os.path.join(workdir, 'proc')
    os.makedirs(os.path.join(proc, 'sys', 'net', 'core'))
    assert unit_state.listen_queue_limit(proc) is None
    with open(os.path.join(proc, 'sys', 'net', 'core', 'somaxconn'), 'w') as f:
        f.write('4096\n')
    assert unit_state.listen_queue_limit(proc) == 4096


def test_unit_info_returns_somaxconn(run_module, fake, unit_args, unitd, monkeypatch):
    monkeypatch.setattr(unit_info, 'listen_queue_limit', lambda: 4096)
    assert run_module(unit_info, dict(unit_args, unitd=unitd))['somaxconn'] == 4096
