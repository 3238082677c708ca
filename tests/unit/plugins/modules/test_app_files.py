# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""app_files: directories and small files in one call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import stat

import pytest

from ansible_collections.unitchannels.deploy.plugins.modules import app_files

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def run(run_module, tmp_path):
    def run(check_mode=False, diff=True, **args):
        for kind in ('directories', 'files'):
            for entry in args.get(kind, []):
                entry['path'] = str(tmp_path / entry['path'])
                entry.setdefault('owner', ME)
                entry.setdefault('group', MY_GROUP)
        return run_module(app_files, args, check_mode=check_mode, diff=diff)
    return run


def test_creates_directories_then_files_and_reports_each(run, tmp_path):
    result = run(directories=[{'path': 'lib', 'mode': '0750'}],
                 files=[{'path': 'lib/loader.py', 'content': 'print(1)\n', 'mode': '0644'}])
    assert not result['failed'] and result['changed'] is True
    assert result['changed_paths'] == [str(tmp_path / 'lib'), str(tmp_path / 'lib/loader.py')]
    assert (tmp_path / 'lib/loader.py').read_text() == 'print(1)\n'
    assert mode_of(tmp_path / 'lib') == 0o750 and mode_of(tmp_path / 'lib/loader.py') == 0o644
    assert result['diff'][1]['after'] == 'print(1)\n' and result['diff'][1]['before'] == ''


def test_the_same_again_changes_nothing(run):
    args = dict(directories=[{'path': 'lib', 'mode': '0755'}],
                files=[{'path': 'lib/a', 'content': 'a', 'mode': '0644'}])
    run(**args)
    result = run(directories=[{'path': 'lib', 'mode': '0755'}], files=[{'path': 'lib/a', 'content': 'a', 'mode': '0644'}])
    assert result['changed'] is False and result['changed_paths'] == [] and result['diff'] == []


def test_new_content_replaces_the_file_with_a_diff(run, tmp_path):
    (tmp_path / 'a').write_text('old\n')
    os.chmod(tmp_path / 'a', 0o644)
    result = run(files=[{'path': 'a', 'content': 'new\n', 'mode': '0644'}])
    assert result['changed'] and (tmp_path / 'a').read_text() == 'new\n'
    assert (result['diff'][0]['before'], result['diff'][0]['after']) == ('old\n', 'new\n')
    assert sorted(os.listdir(tmp_path)) == ['a']  # no temporary file left


def test_a_mode_change_alone_is_a_change(run, tmp_path):
    (tmp_path / 'a').write_text('same')
    os.chmod(tmp_path / 'a', 0o600)
    result = run(files=[{'path': 'a', 'content': 'same', 'mode': '0644'}])
    assert result['changed'] and mode_of(tmp_path / 'a') == 0o644
    assert result['diff'][0]['before'].endswith('0600\n') and result['diff'][0]['after'].endswith('0644\n')


def test_a_mode_read_by_yaml_as_a_number_is_the_mode(run, tmp_path):
    run(files=[{'path': 'a', 'content': 'x', 'mode': 0o640}])
    assert mode_of(tmp_path / 'a') == 0o640


def test_check_mode_reports_and_writes_nothing(run, tmp_path):
    result = run(check_mode=True, directories=[{'path': 'lib', 'mode': '0755'}],
                 files=[{'path': 'a', 'content': 'x', 'mode': '0644'}])
    assert result['changed'] is True and len(result['changed_paths']) == 2
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('field,value,message', [
    ('owner', 'no-such-user-unitchannels', 'the owner no-such-user-unitchannels does not exist'),
    ('group', 'no-such-group-unitchannels', 'the group no-such-group-unitchannels does not exist'),
    ('mode', 'rw-r--r--', 'is not an octal mode'),
])
def test_bad_input_names_the_file_and_the_cause(run, tmp_path, field, value, message):
    entry = {'path': 'a', 'content': 'x', 'mode': '0644', field: value}
    result = run(files=[entry])
    assert result['failed'] and message in result['msg'] and str(tmp_path / 'a') in result['msg']
    assert not (tmp_path / 'a').exists()


def test_a_file_where_a_directory_should_be(run, tmp_path):
    (tmp_path / 'lib').write_text('')
    result = run(directories=[{'path': 'lib', 'mode': '0755'}])
    assert result['failed'] and 'is not a directory' in result['msg']


def test_a_missing_directory_is_named(run, tmp_path):
    result = run(files=[{'path': 'nowhere/a', 'content': 'x', 'mode': '0644'}])
    assert result['failed'] and 'the directory %s does not exist' % (tmp_path / 'nowhere') in result['msg']


def test_relative_paths_are_refused(run_module):
    result = run_module(app_files, {'files': [{'path': 'relative', 'content': 'x', 'mode': '0644'}]})
    assert result['failed'] and 'not an absolute path' in result['msg']


def test_missing_parents_are_created(run, tmp_path):
    result = run(directories=[{'path': 'srv/www/chat', 'mode': '0750'}])
    assert not result['failed'] and mode_of(tmp_path / 'srv/www/chat') == 0o750


def test_a_link_to_a_directory_is_that_directory(run, tmp_path):
    (tmp_path / 'volume').mkdir(mode=0o755)
    os.chmod(tmp_path / 'volume', 0o755)
    (tmp_path / 'chat').symlink_to(tmp_path / 'volume')
    result = run(directories=[{'path': 'chat', 'mode': '0755'}])
    assert not result['failed'] and result['changed'] is False
    assert (tmp_path / 'chat').is_symlink()


def test_backup_keeps_the_replaced_content_next_to_the_file(run, tmp_path):
    (tmp_path / 'secrets.json').write_text('{"old": 1}\n')
    os.chmod(tmp_path / 'secrets.json', 0o400)
    result = run(files=[{'path': 'secrets.json', 'content': '{"new": 2}\n', 'mode': '0400', 'backup': True}])
    copy = result['backup_files'][str(tmp_path / 'secrets.json')]
    # Named as ansible.builtin.copy names backups: NAME.PID.DATE@TIME~, with the file's mode.
    assert os.path.basename(copy).startswith('secrets.json.') and copy.endswith('~')
    assert open(copy).read() == '{"old": 1}\n' and mode_of(copy) == 0o400
    assert (tmp_path / 'secrets.json').read_text() == '{"new": 2}\n'


def test_backup_only_when_the_content_is_replaced(run, tmp_path):
    entry = {'path': 'secrets.json', 'content': 'same\n', 'mode': '0400', 'backup': True}
    first = run(files=[dict(entry)])  # a new file: nothing to keep
    again = run(files=[dict(entry)])
    checked = run(check_mode=True, files=[dict(entry, content='other\n')])
    assert first['backup_files'] == {} and again['backup_files'] == {} and checked['backup_files'] == {}
    assert sorted(os.listdir(str(tmp_path))) == ['secrets.json']


def test_secret_content_is_written_but_never_shown(run, tmp_path):
    secret = 'requirepass s3cr3t-value-0123456789\n'
    result = run(files=[{'path': 'local.conf', 'secret_content': secret, 'mode': '0640'}])
    assert not result['failed'] and (tmp_path / 'local.conf').read_text() == secret
    assert result['diff'][0]['after'] == '(new secret content, not shown)\n'
    assert 's3cr3t' not in repr(result)
    result = run(files=[{'path': 'local.conf', 'secret_content': 'requirepass other\n', 'mode': '0640'}])
    assert result['diff'][0]['before'] == '(secret content, not shown)\n' and 'other' not in repr(result['diff'])


def test_the_host_log_never_gets_the_arguments(run, monkeypatch):
    logged = []
    monkeypatch.setattr(app_files.AnsibleModule, 'log', lambda self, msg, log_args=None: logged.append(msg))
    run(files=[{'path': 'local.conf', 'secret_content': 'requirepass s3cr3t-value\nmaxmemory 1gb\n', 'mode': '0640'}])
    assert not any('s3cr3t' in msg for msg in logged), logged


def test_a_file_takes_content_or_secret_content(run):
    both = run(files=[{'path': 'a', 'content': 'a', 'secret_content': 'b', 'mode': '0644'}])
    assert both['failed'] and 'mutually exclusive' in both['msg']
    neither = run(files=[{'path': 'a', 'mode': '0644'}])
    assert neither['failed'] and 'one of the following is required' in neither['msg']


def test_links_are_made_and_repointed_with_a_diff(run, tmp_path):
    (tmp_path / 'r1').mkdir()
    (tmp_path / 'r2').mkdir()
    os.symlink(str(tmp_path / 'r1'), str(tmp_path / 'current'))
    result = run(links=[{'path': str(tmp_path / 'previous'), 'target': str(tmp_path / 'r1')},
                        {'path': str(tmp_path / 'current'), 'target': str(tmp_path / 'r2')}])
    assert result['changed'] and result['changed_paths'] == [str(tmp_path / 'previous'), str(tmp_path / 'current')]
    assert os.readlink(str(tmp_path / 'previous')) == str(tmp_path / 'r1')
    assert os.readlink(str(tmp_path / 'current')) == str(tmp_path / 'r2')
    assert result['diff'][1]['before'] == 'link to %s\n' % (tmp_path / 'r1')
    assert result['diff'][1]['after'] == 'link to %s\n' % (tmp_path / 'r2')
    assert sorted(os.listdir(tmp_path)) == ['current', 'previous', 'r1', 'r2']  # no temporary link left
    again = run(links=[{'path': str(tmp_path / 'current'), 'target': str(tmp_path / 'r2')}])
    assert again['changed'] is False


def test_a_link_is_never_made_over_something_else(run, tmp_path):
    (tmp_path / 'current').mkdir()
    result = run(links=[{'path': str(tmp_path / 'current'), 'target': '/srv/x'}])
    assert result['failed'] and result['msg'] == '%s exists and is not a symbolic link' % (tmp_path / 'current')
    assert (tmp_path / 'current').is_dir()


def test_absent_removes_files_and_links_not_directories(run, tmp_path):
    (tmp_path / 'backup~').write_text('old secrets')
    os.symlink('/nowhere', str(tmp_path / 'dangling'))
    (tmp_path / 'dir').mkdir()
    result = run(absent=[str(tmp_path / 'backup~'), str(tmp_path / 'dangling'), str(tmp_path / 'never-there')])
    assert result['changed'] and result['changed_paths'] == [str(tmp_path / 'backup~'), str(tmp_path / 'dangling')]
    assert sorted(os.listdir(tmp_path)) == ['dir']
    result = run(absent=[str(tmp_path / 'dir')])
    assert result['failed'] and result['msg'] == '%s is a directory: not removed' % (tmp_path / 'dir')


def test_links_and_removals_in_check_mode_touch_nothing(run, tmp_path):
    (tmp_path / 'gone~').write_text('x')
    result = run(check_mode=True, links=[{'path': str(tmp_path / 'current'), 'target': '/srv/r'}],
                 absent=[str(tmp_path / 'gone~')])
    assert result['changed'] and len(result['diff']) == 2
    assert sorted(os.listdir(tmp_path)) == ['gone~']


def write_checker(tmp_path, refuse):
    """A validate command: a script that refuses candidates holding `refuse`, naming its own argument."""
    checker = tmp_path / 'checker'
    checker.write_text('#!/bin/sh\nif grep -q %s "$2"; then echo "[ALERT] parsing [$2:1]: unknown keyword" >&2; exit 1; fi\n' % refuse)
    os.chmod(checker, 0o755)
    return '%s -c %%s' % checker


def test_validate_refuses_bad_content_and_keeps_the_file(run, tmp_path):
    (tmp_path / 'haproxy.cfg').write_text('good\n')
    command = write_checker(tmp_path, 'bogus')
    result = run(files=[{'path': 'haproxy.cfg', 'content': 'bogus\n', 'mode': '0644', 'validate': command}])
    assert result['failed']
    assert 'haproxy.cfg was not written' in result['msg'] and 'refused it (rc 1)' in result['msg']
    # The checker's own words, with the candidate's temporary name replaced by the file's.
    assert '[ALERT] parsing [%s:1]: unknown keyword' % (tmp_path / 'haproxy.cfg') in result['msg']
    assert (tmp_path / 'haproxy.cfg').read_text() == 'good\n'
    assert sorted(os.listdir(tmp_path)) == ['checker', 'haproxy.cfg']


def test_validate_accepts_good_content(run, tmp_path):
    command = write_checker(tmp_path, 'bogus')
    result = run(files=[{'path': 'haproxy.cfg', 'content': 'fine\n', 'mode': '0644', 'validate': command}])
    assert result['changed'] and (tmp_path / 'haproxy.cfg').read_text() == 'fine\n'


def test_validate_runs_in_check_mode_and_writes_nothing(run, tmp_path):
    command = write_checker(tmp_path, 'bogus')
    result = run(check_mode=True, files=[{'path': 'haproxy.cfg', 'content': 'bogus\n', 'mode': '0644', 'validate': command}])
    assert result['failed'] and 'refused it' in result['msg']
    assert not (tmp_path / 'haproxy.cfg').exists()


def test_validate_needs_the_candidate_placeholder(run, tmp_path):
    result = run(files=[{'path': 'a', 'content': 'x', 'mode': '0644', 'validate': 'true'}])
    assert result['failed'] and 'validate must hold %s' in result['msg']
