# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # The directories and files of app_files and configured_service (module_utils/app_files.py).
    DOCUMENTATION = r'''
options:
  directories:
    description: Directories to create, or whose owner, group and mode to correct.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path; missing parents are created (root's, mode 0755). A symbolic link to a directory counts as that directory.
        type: path
        required: true
      owner:
        description: Owner (user name).
        type: str
        default: root
      group:
        description: Group (name).
        type: str
        default: root
      mode:
        description: Mode, as an octal string such as V('0755').
        type: raw
        required: true
  files:
    description: Files to write.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path; its directory must exist (or be in O(directories)).
        type: path
        required: true
      content:
        description: The whole content of the file (or O(files[].secret_content)).
        type: str
      secret_content:
        description:
          - The whole content of a file that holds a secret, instead of O(files[].content). It is
            never shown, neither in the diff nor in the module's output (masked as Ansible masks
            a password), so the task needs no C(no_log) and still shows what it did.
        type: str
      owner:
        description: Owner (user name).
        type: str
        default: root
      group:
        description: Group (name).
        type: str
        default: root
      mode:
        description: Mode, as an octal string such as V('0644').
        type: raw
        required: true
      backup:
        description:
          - Before replacing the file's content, keep a copy next to it, named as
            M(ansible.builtin.copy) names its backups (C(NAME.PID.DATE@TIME~)), with the file's
            owner, group and mode; its path is in RV(backup_files).
        type: bool
        default: false
      validate:
        description:
          - A command that checks the new content before it replaces the file, with V(%s) where the
            candidate file goes (V(haproxy -c -f %s)). When it exits non-zero, the module fails with
            its output and the file in place stays as it was.
          - Run in check mode too, once its program is installed.
        type: str
'''
