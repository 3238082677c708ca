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
  - Returns, for each directory, 12 hex digits naming everything a release ships from it, as
    M(unitchannels.deploy.code_upload) packs it (the two share one walk of the directory), the
    SHA-1 of one line per directory (empty ones too), regular file (its content and whether it is
    executable) and symbolic link (its target). A change to any of these is a new release.
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
    description:
      - Shell patterns; an entry whose name or path from the top matches one is left out, a
        directory with all it holds (V(db.sqlite3), V(*.log), V(docs/build)).
    type: list
    elements: str
    default: []
  git_tracked:
    description:
      - Name only what git tracks in the directory (C(git ls-files), run on the controller), as
        M(unitchannels.deploy.code_upload) ships it with O(unitchannels.deploy.code_upload#module:git_tracked).
    type: bool
    default: false
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

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.unitchannels.deploy.plugins.plugin_utils.code_tree import git_tracked, release_name, sha1_of


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
                if os.path.isdir(root):
                    tracked = git_tracked(root) if self.get_option('git_tracked') else None
                    names.append(release_name(root, excludes, tracked))
                else:
                    names.append(sha1_of(root)[:12])
            except ValueError as e:
                raise AnsibleLookupError('code_release_id: %s' % e)
            except OSError as e:
                raise AnsibleLookupError('code_release_id: cannot read the code in %s: %s' % (term, e))
        return names
