# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""code_release_id: the release name of a directory, the same as find + the release_id filter gave;
of an archive, the SHA-1 stat gave (the name a release from an archive had before)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible.errors import AnsibleLookupError
from ansible.modules import find, stat
from ansible_collections.unitchannels.deploy.plugins.filter.release_ids import release_id
from ansible_collections.unitchannels.deploy.plugins.lookup import code_release_id

EXCLUDES = ['__pycache__', '*.pyc', '.git']


@pytest.fixture
def code(app_code):
    return app_code  # hidden files count; find culls names, not directories; the link is no regular file


def lookup(*terms, **options):
    plugin = code_release_id.LookupModule()
    plugin.get_option = options.get  # what set_options would hand out
    plugin.set_options = lambda **kwargs: None
    return plugin.run(list(terms), variables={})


def shipped(files, root):
    """find's files without those under an excluded directory (code_upload leaves those out)."""
    return [f for f in files if '.git' not in os.path.relpath(f['path'], root).split(os.sep)[:-1]]


def test_the_same_name_as_find_and_the_release_id_filter_give_the_shipped_files(code, run_module):
    found = run_module(find, dict(paths=[str(code)], recurse=True, hidden=True, get_checksum=True, excludes=EXCLUDES))
    assert not found['failed'] and found['matched'] == 4  # .git/HEAD among them
    files = shipped(found['files'], str(code))
    assert len(files) == 3
    assert lookup(str(code), excludes=EXCLUDES) == [release_id(files, str(code))]


def test_what_git_keeps_in_dot_git_does_not_change_the_name(code):
    before = lookup(str(code), excludes=EXCLUDES)
    (code / '.git' / 'FETCH_HEAD').write_text('0123abcd\n')
    (code / '.git' / 'HEAD').write_text('ref: refs/heads/other\n')
    assert lookup(str(code), excludes=EXCLUDES) == before


def test_a_change_of_content_gives_another_name(code):
    before = lookup(str(code), excludes=EXCLUDES)
    (code / 'chat' / '__pycache__' / 'views.cpython-311.pyc').write_bytes(b'\0other')  # excluded
    assert lookup(str(code), excludes=EXCLUDES) == before
    (code / 'chat' / 'views.py').write_text('def index(request): return 1\n')
    assert lookup(str(code), excludes=EXCLUDES) != before


def test_an_archive_is_named_after_its_sha1_as_stat_gives_it(tmp_path, run_module):
    archive = tmp_path / 'mysite-1.4.tar.gz'
    archive.write_bytes(b'\x1f\x8b' + os.urandom(4096))
    stated = run_module(stat, dict(path=str(archive), checksum_algorithm='sha1'))
    assert lookup(str(archive), excludes=EXCLUDES) == [stated['stat']['checksum'][:12]]


def test_a_missing_directory_is_named(tmp_path):
    with pytest.raises(AnsibleLookupError, match='no-such-dir is neither a directory nor a file on the controller'):
        lookup(str(tmp_path / 'no-such-dir'), excludes=EXCLUDES)
