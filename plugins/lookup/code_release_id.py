# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: code_release_id
version_added: 0.2.0
author: unitchannels maintainers (@unitchannels)
short_description: Name a release after the code in a directory or an archive on the controller
description:
  - Returns, for each directory, the name the P(unitchannels.deploy.release_id#filter) filter gives
    the files M(ansible.builtin.find) lists there (C(recurse), C(hidden), C(get_checksum) and
    O(excludes) matched against each file's name), that is 12 hex digits, the SHA-1 of the sorted
    C(relative/path:sha1) lines of its regular files.
  - For a file (an archive of the code), the first 12 hex digits of its SHA-1, as
    M(ansible.builtin.stat) gives it with C(checksum_algorithm=sha1).
  - Read in the controller's own process, where the find module is a module run (a process, a
    second of a run) for the same answer.
options:
  _terms:
    description: Directories or archives on the controller.
    type: list
    elements: path
    required: true
  excludes:
    description: Shell patterns; a file whose name matches one is left out (its directory is still read).
    type: list
    elements: str
    default: []
'''

EXAMPLES = r'''
- name: Name the release after the code
  ansible.builtin.set_fact:
    release: "{{ lookup('unitchannels.deploy.code_release_id', '/srv/src/mysite', excludes=['__pycache__', '*.pyc', '.git']) }}"

- name: Name the release after an archive of the code
  ansible.builtin.set_fact:
    release: "{{ lookup('unitchannels.deploy.code_release_id', '/srv/dist/mysite-1.4.tar.gz') }}"
'''

RETURN = r'''
_raw:
  description: One name (12 hex digits) per directory or archive.
  type: list
  elements: str
'''

import fnmatch
import hashlib
import os
import stat

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.unitchannels.deploy.plugins.filter.release_ids import release_id


def sha1_of(path):
    digest = hashlib.sha1()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(65536), b''):
            digest.update(block)
    return digest.hexdigest()


def code_files(root, excludes):
    """The regular files under root that a release ships (path and sha1, as ansible.builtin.find
    lists them): an excluded directory is left out with all it holds, as code_upload packs it, so
    that what git keeps in .git (a fetch, a status) does not make a new release."""
    files = []
    for top, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if not any(fnmatch.fnmatch(d, pattern) for pattern in excludes)]
        for name in names + dirs:
            path = os.path.normpath(os.path.join(top, name))
            if any(fnmatch.fnmatch(name, pattern) for pattern in excludes):
                continue
            if stat.S_ISREG(os.lstat(path).st_mode):
                files.append({'path': path, 'checksum': sha1_of(path)})
    return files


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        excludes = self.get_option('excludes')
        names = []
        for term in terms:
            root = os.path.expanduser(os.path.expandvars(term))
            if not os.path.isdir(root) and not os.path.isfile(root):
                raise AnsibleLookupError('code_release_id: %s is neither a directory nor a file on the controller' % term)
            try:
                names.append(release_id(code_files(root, excludes), root) if os.path.isdir(root) else sha1_of(root)[:12])
            except OSError as e:
                raise AnsibleLookupError('code_release_id: cannot read the code in %s: %s' % (term, e))
        return names
