#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: app_files
short_description: Put an app's directories and small files in place in one call
description:
  - Makes each of O(directories) exist with its owner, group and mode, writes each of
    O(files) with its content, owner, group and mode, points each of O(links) at its target and
    removes each of O(absent), in that order.
  - One round trip for the whole set, where M(ansible.builtin.file) and M(ansible.builtin.copy)
    cost one or two per item; meant for the handful of small files a deploy writes (a loader,
    a wrapper script, a record of the release), whose content is rendered on the controller.
  - A file is replaced atomically (written next to it, then renamed), so a reader sees the old
    or the new content, never a part; a link likewise, so its path never goes missing.
  - Reports a change only for what differs, with a diff per file.
version_added: 0.2.0
author: unitchannels maintainers (@unitchannels)
extends_documentation_fragment:
  - unitchannels.deploy.app_files
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would change, with the diff; nothing is written.
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  links:
    description: Symbolic links to make or re-point, after the directories and files.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the link; something there that is not a link is an error.
        type: path
        required: true
      target:
        description: What the link points at, written as given.
        type: path
        required: true
  absent:
    description: Files or symbolic links to remove, last; a path that does not exist is fine, a directory is an error.
    type: list
    elements: path
    default: []
notes:
  - A file that holds a secret takes O(files[].secret_content), never shown; with O(files[].content) the diff holds the content.
'''

EXAMPLES = r'''
- name: Install the loader and the manage wrapper
  become: true
  unitchannels.deploy.app_files:
    directories:
      - {path: /srv/chat/lib, mode: "0755"}
    files:
      - path: /srv/chat/lib/unitchannels_loader.py
        content: "{{ lookup('ansible.builtin.file', 'unitchannels_loader.py') }}"
        mode: "0644"
      - path: /srv/chat/bin/manage
        content: "{{ lookup('ansible.builtin.template', 'manage.j2') }}"
        mode: "0750"

- name: Point current at the new release, keep the old one as previous
  become: true
  unitchannels.deploy.app_files:
    links:
      - {path: /srv/chat/previous, target: /srv/chat/releases/0a1b2c3}
      - {path: /srv/chat/current, target: /srv/chat/releases/4d5e6f7}
    absent:
      - /srv/chat/shared/secrets.json.2291.2026-12-02@07:30:11~
'''

RETURN = r'''
changed_paths:
  description: The directories and files that were (or, in check mode, would be) created or changed.
  returned: always
  type: list
  elements: str
  sample: [/srv/chat/bin/manage]
backup_files:
  description: For each file with O(files[].backup) whose content was replaced, the path of its copy.
  returned: always
  type: dict
  sample: {/srv/chat/shared/secrets.json: /srv/chat/shared/secrets.json.2291.2026-12-02@07:30:11~}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.unitchannels.deploy.plugins.module_utils.app_files import DIRECTORY_SPEC, LINK_SPEC, files_option, put_in_place


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type='list', elements='dict', default=[], options=DIRECTORY_SPEC),
            files=files_option(),
            links=dict(type='list', elements='dict', default=[], options=LINK_SPEC),
            absent=dict(type='list', elements='path', default=[]),
        ),
        supports_check_mode=True,
        # Never the arguments in the host's log: Ansible masks a no_log suboption there only where
        # its value appears whole, and the list of files is logged as one string.
        no_log=True,
    )
    params = module.params
    work = put_in_place(module, params['directories'], params['files'], links=params['links'], absent=params['absent'])
    result = dict(changed=bool(work.changed_paths), changed_paths=work.changed_paths, backup_files=work.backup_files)
    if module._diff:
        result['diff'] = work.diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
