# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""code_unpack: a tar archive unpacked into a new directory, owned and moded as asked.

The archives are made as the code_upload action makes them: a gzipped tar of a directory's
content, names relative to it, links kept. (Module tests cannot import the controller's action.)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import io
import os
import pwd
import stat
import tarfile

import pytest

from ansible_collections.unitchannels.deploy.plugins.modules import code_unpack

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


@pytest.fixture
def archive(tmp_path):
    src = tmp_path / 'code'
    (src / 'chat').mkdir(parents=True)
    (src / 'chat' / 'views.py').write_text('def index(request): pass\n')
    (src / 'manage.py').write_text('#!/usr/bin/env python\n')
    os.chmod(str(src / 'manage.py'), 0o700)
    os.chmod(str(src / 'chat' / 'views.py'), 0o600)
    os.symlink('chat/views.py', str(src / 'views-link.py'))
    path = tmp_path / 'code.tar.gz'
    with tarfile.open(str(path), 'w:gz') as out:
        for name in ['chat', 'chat/views.py', 'manage.py', 'views-link.py']:
            out.add(str(src / name), arcname=name, recursive=False)
    return str(path)


def crafted(tmp_path, *members):
    """An archive with the given (TarInfo, content) members."""
    path = tmp_path / 'crafted.tar'
    with tarfile.open(str(path), 'w') as out:
        for info, content in members:
            out.addfile(info, io.BytesIO(content) if content is not None else None)
    return str(path)


def test_unpacks_into_a_new_directory_with_owner_and_symbolic_mode(run_module, archive, tmp_path):
    dest = tmp_path / 'app' / 'releases' / 'abc'
    result = run_module(code_unpack, dict(src=archive, dest=str(dest), owner=ME, group=MY_GROUP, mode='u=rwX,g=rX,o=rX'))
    assert not result['failed'] and result['changed'] is True and result['files'] == 3
    assert (dest / 'chat' / 'views.py').read_text() == 'def index(request): pass\n'
    assert mode_of(dest) == 0o755 and mode_of(dest / 'chat') == 0o755
    assert mode_of(dest / 'chat' / 'views.py') == 0o644  # readable by all, X gives no x to a plain file
    assert mode_of(dest / 'manage.py') == 0o755  # an executable stays one
    assert os.readlink(str(dest / 'views-link.py')) == 'chat/views.py'
    assert mode_of(tmp_path / 'app' / 'releases') == 0o755


def test_without_a_mode_each_entry_keeps_its_own(run_module, archive, tmp_path):
    dest = tmp_path / 'rel'
    run_module(code_unpack, dict(src=archive, dest=str(dest)))
    assert mode_of(dest / 'manage.py') == 0o700 and mode_of(dest / 'chat' / 'views.py') == 0o600


def test_an_octal_mode_goes_to_everything_but_links(run_module, archive, tmp_path):
    dest = tmp_path / 'rel'
    run_module(code_unpack, dict(src=archive, dest=str(dest), mode='0640'))
    assert mode_of(dest / 'manage.py') == 0o640 and os.path.islink(str(dest / 'views-link.py'))


def test_everything_goes_to_the_owner_links_themselves(run_module, archive, tmp_path, monkeypatch):
    given = {}
    monkeypatch.setattr(code_unpack.os, 'lchown', lambda path, uid, gid: given.__setitem__(path, (uid, gid)))
    dest = tmp_path / 'rel'
    run_module(code_unpack, dict(src=archive, dest=str(dest), owner=ME, group=MY_GROUP))
    ids = (os.getuid(), os.getgid())
    assert given[str(dest)] == ids and given[str(dest / 'views-link.py')] == ids and given[str(dest / 'chat' / 'views.py')] == ids


def test_check_mode_counts_and_writes_nothing(run_module, archive, tmp_path):
    dest = tmp_path / 'rel'
    result = run_module(code_unpack, dict(src=archive, dest=str(dest)), check_mode=True)
    assert result['changed'] is True and result['files'] == 3 and not dest.exists()


@pytest.mark.parametrize('name, linkname, kind, reason', [
    ('../evil.py', '', tarfile.REGTYPE, 'the name ../evil.py leads out of the directory'),
    ('/etc/cron.d/evil', '', tarfile.REGTYPE, 'the name /etc/cron.d/evil leads out of the directory'),
    ('hard', '../../etc/passwd', tarfile.LNKTYPE, 'the name ../../etc/passwd leads out of the directory'),
    ('dev', '', tarfile.CHRTYPE, 'dev is neither a file, a directory nor a link'),
])
def test_an_entry_that_leads_out_fails_before_anything_is_written(run_module, tmp_path, name, linkname, kind, reason):
    good = tarfile.TarInfo('ok.py')
    good.size = 3
    bad = tarfile.TarInfo(name)
    bad.type, bad.linkname = kind, linkname
    dest = tmp_path / 'rel'
    result = run_module(code_unpack, dict(src=crafted(tmp_path, (good, b'ok\n'), (bad, None)), dest=str(dest)))
    assert result['failed'] and result['msg'].endswith('nothing was unpacked, since ' + reason)
    assert not dest.exists()


def test_what_is_no_archive_or_no_user_is_named(run_module, tmp_path, archive):
    (tmp_path / 'notes.txt').write_text('not an archive\n')
    result = run_module(code_unpack, dict(src=str(tmp_path / 'notes.txt'), dest=str(tmp_path / 'rel')))
    assert result['failed'] and 'is not a tar archive this host can read' in result['msg']
    result = run_module(code_unpack, dict(src=archive, dest=str(tmp_path / 'rel'), owner='no-such-user-here'))
    assert result['failed'] and result['msg'] == 'The owner no-such-user-here does not exist on this host'
    assert not (tmp_path / 'rel').exists()


def test_a_bad_mode_is_named(run_module, archive, tmp_path):
    result = run_module(code_unpack, dict(src=archive, dest=str(tmp_path / 'rel'), mode='u=rwZ'))
    assert result['failed'] and "mode 'u=rwZ' is neither octal nor symbolic" in result['msg']
    assert not (tmp_path / 'rel').exists()
