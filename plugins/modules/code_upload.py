#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

# The documentation of the action plugin of the same name (plugins/action/code_upload.py), which
# does the work: it packs on the controller and runs unitchannels.deploy.code_unpack on the host.

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: code_upload
short_description: Put a directory of the controller into a directory on the host, as one archive
description:
  - Packs O(src) on the controller into one gzipped tar archive (in the controller's own process),
    sends it to the host and unpacks it into O(dest), which it creates, with
    M(unitchannels.deploy.code_unpack), whose result this returns. The archive is removed on both sides in any case.
  - A copy of a directory (M(ansible.builtin.copy)) costs a round trip per file; packing with
    M(community.general.archive) costs module runs on the controller and a temporary file to
    clean up. This is one task and one module run on the host.
version_added: 0.2.0
author: unitchannels maintainers (@unitchannels)
options:
  src:
    description: The directory on the controller whose content is put into O(dest).
    type: path
    required: true
  dest:
    description: The directory on the host (an absolute path), created with its missing parents when it does not exist.
    type: str
    required: true
  excludes:
    description:
      - Shell patterns matched against the name and the path (from O(src)) of each file and
        directory under O(src); what matches is left out, a directory with everything under it.
    type: list
    elements: str
    default: []
  git_tracked:
    description:
      - Ship only what git tracks under O(src) (C(git ls-files), run on the controller); fails when
        O(src) is not in a git work tree.
    type: bool
    default: false
  owner:
    description: The owner of O(dest) and of everything unpacked.
    type: str
  group:
    description: The group of everything unpacked.
    type: str
  mode:
    description: The mode of O(dest) and of everything unpacked, octal or symbolic (V(u=rwX,g=rX,o=rX)), as M(unitchannels.deploy.code_unpack) takes it.
    type: raw
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.files
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: partial
    details: Reports a change and sends nothing (what the archive would change is not worked out).
  diff_mode:
    support: none
  platform:
    platforms: posix
  safe_file_operations:
    support: none
    description: Unpacks in place, as M(ansible.builtin.unarchive) does (meant for a new directory).
  vault:
    support: none
    description: The directory is packed as it is on the controller.
seealso:
  - module: unitchannels.deploy.code_unpack
'''

EXAMPLES = r'''
- name: Put the code of the release in place
  unitchannels.deploy.code_upload:
    src: /home/me/src/mysite
    dest: /srv/mysite/releases/3f2a9c1d0b7e
    excludes: [__pycache__, "*.pyc", .git]
    owner: root
    group: root
    mode: u=rwX,g=rX,o=rX
'''

RETURN = r'''
files_sent:
  description: How many files the archive held.
  returned: success
  type: int
  sample: 42
dest:
  description: O(dest), as M(unitchannels.deploy.code_unpack) returns it (with the rest of its result).
  returned: success
  type: str
  sample: /srv/mysite/releases/3f2a9c1d0b7e
'''
