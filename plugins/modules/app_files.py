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
  - Makes each of O(directories) exist with its owner, group and mode, then writes each of
    O(files) with its content, owner, group and mode, in that order.
  - One round trip for the whole set, where M(ansible.builtin.file) and M(ansible.builtin.copy)
    cost one or two per item; meant for the handful of small files a deploy writes (a loader,
    a wrapper script, a record of the release), whose content is rendered on the controller.
  - A file is replaced atomically (written next to it, then renamed), so a reader sees the old
    or the new content, never a part.
  - Reports a change only for what differs, with a diff per file.
version_added: 0.2.0
author: unitchannels maintainers (@unitchannels)
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
        description: The whole content of the file.
        type: str
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
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would change, with the diff; nothing is written.
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - For a secret, set C(no_log) on the task, since the diff holds the content.
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

import grp
import os
import pwd
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text


class AppFiles(object):

    def __init__(self, module):
        self.module = module
        self.changed_paths = []
        self.diffs = []
        self.backup_files = {}

    def ids(self, entry):
        try:
            uid = pwd.getpwnam(entry['owner']).pw_uid
        except KeyError:
            self.module.fail_json(msg='%s: the owner %s does not exist on this host' % (entry['path'], entry['owner']))
        try:
            gid = grp.getgrnam(entry['group']).gr_gid
        except KeyError:
            self.module.fail_json(msg='%s: the group %s does not exist on this host' % (entry['path'], entry['group']))
        mode = entry['mode']
        try:
            # YAML reads 0644 unquoted as the number 420: that is the mode already.
            mode = mode if isinstance(mode, int) else int(str(mode), 8)
        except ValueError:
            mode = -1
        if not 0 <= mode <= 0o7777:
            self.module.fail_json(msg='%s: mode %r is not an octal mode such as "0644"' % (entry['path'], entry['mode']))
        return uid, gid, mode

    @staticmethod
    def attributes(st):
        return (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))

    def note(self, path, before, after):
        self.changed_paths.append(path)
        self.diffs.append(dict(before_header=path, after_header=path, before=before, after=after))

    def directory(self, entry):
        path = entry['path']
        wanted = self.ids(entry)
        try:
            st = os.stat(path)  # a link to a directory (data on another volume) is that directory
        except OSError:
            st = None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            self.module.fail_json(msg='%s exists and is not a directory' % path)
        if st is not None and self.attributes(st) == wanted:
            return
        self.note(path, 'absent\n' if st is None else 'directory %s\n' % self.describe(st),
                  'directory %s\n' % self.describe_ids(wanted))
        if self.module.check_mode:
            return
        try:
            if st is None:
                parent = os.path.dirname(path)
                if not os.path.isdir(parent):
                    os.makedirs(parent, 0o755)  # missing parents: root's, as mkdir -p makes them
                os.mkdir(path, wanted[2])
            os.chown(path, wanted[0], wanted[1])
            os.chmod(path, wanted[2])
        except OSError as e:
            self.module.fail_json(msg='cannot make %s a directory %s: %s' % (path, self.describe_ids(wanted), e),
                                  changed_paths=self.changed_paths)

    def file(self, entry):
        path = entry['path']
        wanted = self.ids(entry)
        content = to_bytes(entry['content'], errors='surrogate_or_strict')
        try:
            st = os.lstat(path)
        except OSError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            self.module.fail_json(msg='%s exists and is not a regular file' % path)
        current = None
        if st is not None:
            with open(path, 'rb') as handle:
                current = handle.read()
        if current == content and self.attributes(st) == wanted:
            return
        before = '' if current is None else to_text(current, errors='surrogate_or_replace')
        after = to_text(content, errors='surrogate_or_replace')
        if current == content:
            before, after = 'file %s\n' % self.describe(st), 'file %s\n' % self.describe_ids(wanted)
        self.note(path, before, after)
        if self.module.check_mode:
            return
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            self.module.fail_json(msg='%s: the directory %s does not exist' % (path, directory))
        if entry['backup'] and current is not None and current != content:
            try:
                self.backup_files[path] = self.module.backup_local(path)
            except Exception as e:  # backup_local raises a bare Exception
                self.module.fail_json(msg='cannot keep a copy of %s: %s' % (path, e), changed_paths=self.changed_paths)
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(content)
            os.chown(tmp, wanted[0], wanted[1])
            os.chmod(tmp, wanted[2])
            os.rename(tmp, path)
        except OSError as e:
            if os.path.exists(tmp):
                os.unlink(tmp)
            self.module.fail_json(msg='cannot write %s: %s' % (path, e), changed_paths=self.changed_paths)

    @staticmethod
    def describe(st):
        return AppFiles.describe_ids(AppFiles.attributes(st))

    @staticmethod
    def describe_ids(ids):
        uid, gid, mode = ids
        try:
            owner = pwd.getpwuid(uid).pw_name
        except KeyError:
            owner = str(uid)
        try:
            group = grp.getgrgid(gid).gr_name
        except KeyError:
            group = str(gid)
        return '%s:%s %04o' % (owner, group, mode)


def main():
    entry = dict(path=dict(type='path', required=True), owner=dict(type='str', default='root'),
                 group=dict(type='str', default='root'), mode=dict(type='raw', required=True))
    file_entry = dict(entry, content=dict(type='str', required=True), backup=dict(type='bool', default=False))
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type='list', elements='dict', default=[], options=entry),
            files=dict(type='list', elements='dict', default=[], options=file_entry),
        ),
        supports_check_mode=True,
    )
    for item in module.params['directories'] + module.params['files']:
        if not os.path.isabs(item['path']):
            module.fail_json(msg='%s is not an absolute path' % item['path'])
    work = AppFiles(module)
    for directory in module.params['directories']:
        work.directory(directory)
    for item in module.params['files']:
        work.file(item)
    result = dict(changed=bool(work.changed_paths), changed_paths=work.changed_paths, backup_files=work.backup_files)
    if module._diff:
        result['diff'] = work.diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
