#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: app_release_info
short_description: Read what an app's deploy root holds, in one call
description:
  - Reads the layout the P(unitchannels.deploy.channels_app#role) role keeps under O(root)
    (C(releases/ID), C(venvs/pyX.Y-HASH), the C(current) and C(previous) links) and, optionally,
    the account the app runs as and the backups of its secrets file.
  - With O(unit), also what NGINX Unit runs, as M(unitchannels.deploy.unit_info) reads it
    (RV(unit)), so that a deploy looks at the host in one call.
  - One round trip where a deploy on a host that already has everything would otherwise spend
    one per question (a C(stat) per marker, a C(slurp) per requirements file, a C(find) per list,
    a C(getent) per database).
  - Changes nothing; works the same in check mode.
version_added: 0.2.0
author: unitchannels maintainers (@unitchannels)
options:
  root:
    description: The app's root directory (C(channels_app_root)). A root that does not exist yet holds nothing.
    type: path
    required: true
  requirement_files:
    description:
      - File names, relative to a release, whose content to return for every complete release
        (the requirements and constraints files the virtualenv's name is made from).
    type: list
    elements: str
    default: []
  user:
    description: An account to look up; empty looks up none.
    type: str
    default: ''
  paths:
    description: Further paths whose existence to report in RV(paths_exist) (a file the app may have left elsewhere, such as a renewal hook).
    type: list
    elements: path
    default: []
  workers_of:
    description:
      - An app whose background workers' template units (C(unitchannels-APP_WORKER@.service) in
        C(/etc/systemd/system), see M(unitchannels.deploy.app_workers)) to list in RV(workers);
        empty lists none.
    type: str
    default: ''
  secrets_file:
    description:
      - A file whose backups to list, as M(ansible.builtin.copy) names them
        (C(NAME.PID.DATE@TIME~) in the same directory); empty lists none.
    type: path
    default: ''
  unit:
    description:
      - Read NGINX Unit's configuration, status, certificates and version too (RV(unit)),
        through its control API (O(control), O(socket), O(url)); the module fails when Unit does
        not answer.
    type: bool
    default: false
  unitd:
    description: The C(unitd) binary to ask for Unit's version when the control API names none (see M(unitchannels.deploy.unit_info)).
    type: path
extends_documentation_fragment:
  - unitchannels.deploy.unit_control
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only.
  diff_mode:
    support: none
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Read what the app's root holds
  become: true
  unitchannels.deploy.app_release_info:
    root: /srv/chat
    requirement_files: [requirements.txt]
    user: unit
    secrets_file: /srv/chat/shared/secrets.json
    paths: [/etc/letsencrypt/renewal-hooks/deploy/unitchannels-chat]
  register: chat_host

- name: Say which release is current
  ansible.builtin.debug:
    msg: "{{ chat_host.current | basename }}"
'''

RETURN = r'''
releases:
  description:
    - Every directory under C(ROOT/releases), by name. C(complete) is true when its
      C(.release-complete) marker exists (a release an interrupted deploy left has none);
      C(requirements) holds the base64 content of each of O(requirement_files) in that order
      (V(null) for a file the release lacks), for complete releases only.
  returned: always
  type: dict
  sample: {"3f2a9c1d0b7e": {"path": "/srv/chat/releases/3f2a9c1d0b7e", "complete": true,
           "mtime": 1764662400.0, "requirements": ["Y2hhbm5lbHM9PTQuMwo=", null]}}
venvs:
  description:
    - Every directory under C(ROOT/venvs), by name. C(complete) is true when its C(.venv-complete)
      marker exists and the Python its name gives (C(pyX.Y-...)) runs from its C(bin/pythonX.Y).
      A virtualenv whose interpreter went away with a system upgrade is not complete.
  returned: always
  type: dict
  sample: {"py3.11-5e4d3c2b1a09": {"path": "/srv/chat/venvs/py3.11-5e4d3c2b1a09", "complete": true}}
current:
  description: Where C(ROOT/current) points, as the link holds it; empty when there is no such link.
  returned: always
  type: str
  sample: /srv/chat/releases/3f2a9c1d0b7e
previous:
  description: Where C(ROOT/previous) points; empty when there is no such link.
  returned: always
  type: str
  sample: /srv/chat/releases/8b7a6c5d4e3f
user:
  description:
    - The account of O(user) (C(name), C(uid), C(gid), C(home) and C(group), the name of its
      primary group, empty when that group has no entry); V(null) when it does not exist or
      none was asked for.
  returned: always
  type: dict
  sample: {"name": "unit", "uid": 999, "gid": 999, "home": "/nonexistent", "group": "unit"}
workers:
  description: The workers of O(workers_of) that have a template unit on the host, by name.
  returned: always
  type: list
  elements: str
  sample: [stats]
paths_exist:
  description: For each of O(paths), whether it exists (a link counts, even a broken one).
  returned: always
  type: dict
  sample: {/etc/letsencrypt/renewal-hooks/deploy/unitchannels-chat: false}
secrets_backups:
  description: The backups of O(secrets_file), oldest name first.
  returned: always
  type: list
  elements: str
  sample: [/srv/chat/shared/secrets.json.2291.2026-12-02@07:30:11~]
cpus:
  description:
    - The number of CPUs the host has online (what the C(processor_vcpus) fact counts), read
      here so that a role sizing its processes needs no hardware facts.
  returned: always
  type: int
  sample: 2
unit:
  description:
    - With O(unit), what M(unitchannels.deploy.unit_info) returns (C(version), C(control),
      C(config), C(status), C(certificates), C(python_versions)); otherwise empty.
  returned: always
  type: dict
  sample: {version: 1.34.2, python_versions: ["3.11"], config: {applications: {}}}
'''

import base64
import grp
import os
import pwd
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text
from ansible_collections.unitchannels.deploy.plugins.module_utils.app_layout import (
    RELEASE_MARKER,
    link_target,
    subdirectories,
)
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_control import (
    UNIT_MUTUALLY_EXCLUSIVE,
    unit_argument_spec,
)
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_state import read_unit
from ansible_collections.unitchannels.deploy.plugins.module_utils.worker_units import template_workers

VENV_NAME = re.compile(r'^py(\d+\.\d+)-')


def read_base64(path):
    try:
        with open(path, 'rb') as handle:
            return to_text(base64.b64encode(handle.read()))
    except (IOError, OSError):
        return None


def releases(root, requirement_files):
    found = {}
    for name, path in subdirectories(os.path.join(root, 'releases')):
        complete = os.path.isfile(os.path.join(path, RELEASE_MARKER))
        found[name] = dict(
            path=path,
            complete=complete,
            mtime=os.stat(path).st_mtime,
            requirements=[read_base64(os.path.join(path, f)) for f in requirement_files] if complete else [],
        )
    return found


def venvs(root):
    found = {}
    for name, path in subdirectories(os.path.join(root, 'venvs')):
        python = VENV_NAME.match(name)
        runs = bool(python) and os.access(os.path.join(path, 'bin', 'python' + python.group(1)), os.X_OK)
        found[name] = dict(path=path, complete=runs and os.path.isfile(os.path.join(path, '.venv-complete')))
    return found


def account(name):
    if not name:
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    try:
        group = grp.getgrgid(entry.pw_gid).gr_name
    except KeyError:
        group = ''
    return dict(name=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid, home=entry.pw_dir, group=group)


def backups(secrets_file):
    if not secrets_file:
        return []
    directory, base = os.path.split(secrets_file)
    pattern = re.compile(r'^%s\.\d+\..+~$' % re.escape(base))
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [os.path.join(directory, n) for n in names if pattern.match(n)]


def main():
    argument_spec = unit_argument_spec()
    argument_spec.update(
        root=dict(type='path', required=True),
        workers_of=dict(type='str', default=''),
        requirement_files=dict(type='list', elements='str', default=[]),
        user=dict(type='str', default=''),
        secrets_file=dict(type='path', default=''),
        paths=dict(type='list', elements='path', default=[]),
        unit=dict(type='bool', default=False),
        unitd=dict(type='path'),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=UNIT_MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    root = module.params['root']
    if not os.path.isabs(root):
        module.fail_json(msg='root %s is not an absolute path' % root)
    module.exit_json(
        changed=False,
        releases=releases(root, module.params['requirement_files']),
        venvs=venvs(root),
        current=link_target(os.path.join(root, 'current')),
        previous=link_target(os.path.join(root, 'previous')),
        user=account(module.params['user']),
        secrets_backups=backups(module.params['secrets_file']),
        paths_exist=dict((path, os.path.lexists(path)) for path in module.params['paths']),
        workers=template_workers(module.params['workers_of']),
        cpus=os.cpu_count() or 1,
        unit=read_unit(module, module.params['unitd']) if module.params['unit'] else {},
    )


if __name__ == '__main__':
    main()
