# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""code_release_id: a directory's release is named after everything code_upload ships from it
(contents, executable bits, link targets, empty directories) and nothing it leaves out; an
archive after its SHA-1, as stat gives it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import os
import shutil
import subprocess
import tarfile

import pytest

from ansible.errors import AnsibleLookupError
from ansible.modules import stat
from ansible_collections.unitchannels.deploy.plugins.action import code_upload
from ansible_collections.unitchannels.deploy.plugins.lookup import code_release_id
from ansible_collections.unitchannels.deploy.plugins.plugin_utils import code_tree

EXCLUDES = ['__pycache__', '*.pyc', '.git']


@pytest.fixture
def code(app_code):
    return app_code  # a hidden file, an executable, a link, an empty directory, .git and caches


def lookup(*terms, **options):
    plugin = code_release_id.LookupModule()
    plugin.get_option = options.get  # what set_options would hand out
    plugin.set_options = lambda **kwargs: None
    return plugin.run(list(terms), variables={})


def name(code):
    return lookup(str(code), excludes=EXCLUDES)[0]


def test_a_name_of_12_hex_digits_that_does_not_change_by_itself(code):
    first = name(code)
    assert len(first) == 12 and int(first, 16) >= 0
    assert name(code) == first


def test_what_git_keeps_in_dot_git_and_caches_do_not_change_the_name(code):
    before = name(code)
    (code / '.git' / 'FETCH_HEAD').write_text('0123abcd\n')
    (code / '.git' / 'HEAD').write_text('ref: refs/heads/other\n')
    (code / 'chat' / '__pycache__' / 'views.cpython-311.pyc').write_bytes(b'\0other')
    assert name(code) == before


def test_a_change_of_content_gives_another_name(code):
    before = name(code)
    (code / 'chat' / 'views.py').write_text('def index(request): return 1\n')
    assert name(code) != before


def test_a_change_of_a_links_target_alone_gives_another_name(code):
    before = name(code)
    os.remove(str(code / 'link.py'))
    os.symlink('chat/views.py', str(code / 'link.py'))
    assert name(code) != before


def test_the_executable_bit_alone_gives_another_name_and_other_mode_bits_do_not(code):
    before = name(code)
    os.chmod(str(code / 'manage.py'), 0o700)  # still executable: the upload ships it as 0755
    assert name(code) == before
    os.chmod(str(code / 'manage.py'), 0o644)
    assert name(code) != before


def test_an_empty_directory_alone_gives_another_name(code):
    before = name(code)
    (code / 'media').mkdir()
    assert name(code) != before
    (code / 'media').rmdir()
    assert name(code) == before


def test_the_name_covers_exactly_what_the_upload_ships(code):
    """Every entry of code_upload's archive changes the name when removed; nothing else does."""
    buffer = io.BytesIO()
    code_upload.pack(str(code), EXCLUDES, buffer)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer, mode='r:gz') as archive:
        shipped = sorted(m.name for m in archive.getmembers())
    assert shipped == ['.env.example', 'chat', 'chat/views.py', 'link.py', 'manage.py', 'static']
    before = name(code)
    os.remove(str(code / '.env.example'))
    assert name(code) != before


def test_a_directory_without_files_is_refused(tmp_path):
    (tmp_path / 'empty' / 'sub').mkdir(parents=True)
    with pytest.raises(AnsibleLookupError, match='empty holds no files, so there is no code to deploy'):
        lookup(str(tmp_path / 'empty'), excludes=EXCLUDES)


def test_an_archive_is_named_after_its_sha1_as_stat_gives_it(tmp_path, run_module):
    archive = tmp_path / 'mysite-1.4.tar.gz'
    archive.write_bytes(b'\x1f\x8b' + os.urandom(4096))
    stated = run_module(stat, dict(path=str(archive), checksum_algorithm='sha1'))
    assert lookup(str(archive), excludes=EXCLUDES) == [stated['stat']['checksum'][:12]]


def test_a_missing_directory_is_named(tmp_path):
    with pytest.raises(AnsibleLookupError, match='no-such-dir is neither a directory nor a file on the controller'):
        lookup(str(tmp_path / 'no-such-dir'), excludes=EXCLUDES)


def test_names_that_look_like_the_name_format_do_not_collide(tmp_path):
    one, other = tmp_path / 'one', tmp_path / 'other'
    for root in (one, other):
        root.mkdir()
        (root / 'app.py').write_text('x = 1\n')
    os.symlink('b -> c', str(one / 'a'))
    os.symlink('c', str(other / 'a -> b'))
    assert lookup(str(one), excludes=EXCLUDES) != lookup(str(other), excludes=EXCLUDES)


def shipped(code, excludes=None, tracked=None):
    buffer = io.BytesIO()
    code_upload.pack(str(code), EXCLUDES if excludes is None else excludes, buffer, tracked)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer, mode='r:gz') as archive:
        return sorted(m.name for m in archive.getmembers())


def test_an_exclude_matches_a_name_anywhere_or_a_path_from_the_top(code):
    (code / 'db.sqlite3').write_bytes(b'SQLite format 3\0')
    (code / 'chat' / 'db.sqlite3').write_bytes(b'SQLite format 3\0')
    assert 'db.sqlite3' in shipped(code) and 'chat/db.sqlite3' in shipped(code)
    left_out = shipped(code, EXCLUDES + ['db.sqlite3', 'chat/views.py'])
    assert left_out == ['.env.example', 'chat', 'link.py', 'manage.py', 'static']
    assert lookup(str(code), excludes=EXCLUDES + ['db.sqlite3', 'chat/views.py'])[0] != name(code)
    # The name follows what is shipped: the excluded file's content does not count.
    before = lookup(str(code), excludes=EXCLUDES + ['db.sqlite3'])[0]
    (code / 'db.sqlite3').write_bytes(b'SQLite format 3\0more rows')
    assert lookup(str(code), excludes=EXCLUDES + ['db.sqlite3'])[0] == before


def test_git_tracked_ships_and_names_only_what_git_tracks(code):
    subprocess.run(['git', 'init', '-q', str(code)], check=True)
    (code / 'notes.txt').write_text('not for the server\n')  # untracked
    subprocess.run(['git', '-C', str(code), 'add', 'manage.py', 'chat/views.py', 'link.py'], check=True)
    tracked = code_tree.git_tracked(str(code))
    assert shipped(code, tracked=tracked) == ['chat', 'chat/views.py', 'link.py', 'manage.py']
    before = lookup(str(code), excludes=EXCLUDES, git_tracked=True)[0]
    (code / 'notes.txt').write_text('changed, still untracked\n')
    assert lookup(str(code), excludes=EXCLUDES, git_tracked=True)[0] == before
    (code / 'manage.py').write_text('#!/usr/bin/env python\n# changed\n')
    assert lookup(str(code), excludes=EXCLUDES, git_tracked=True)[0] != before


def test_git_tracked_outside_a_work_tree_is_refused(code, monkeypatch):
    monkeypatch.setenv('GIT_CEILING_DIRECTORIES', str(code.parent))
    shutil.rmtree(str(code / '.git'))
    with pytest.raises(AnsibleLookupError, match='is not in a git work tree'):
        lookup(str(code), excludes=EXCLUDES, git_tracked=True)
