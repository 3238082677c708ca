#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: app_venv
short_description: Build an app's virtualenv with pip, give it to the app's user and mark it complete
description:
  - Does nothing when O(path) holds a complete virtualenv, one with its O(marker) file whose C(bin/python) runs
    (a virtualenv whose Python was removed from the host is rebuilt).
  - Otherwise removes what an interrupted build left at O(path), creates the virtualenv with
    C(PYTHON -m venv), installs O(requirements) (with O(constraints)) and O(packages) into it with
    its own pip, gives the whole tree to O(owner) and O(group), and writes O(marker) last, so a
    virtualenv without it is never taken for a complete one.
  - One module run where M(ansible.builtin.pip), a recursive M(ansible.builtin.file) and a marker
    file cost three; and no C(pip freeze) before and after, since a new virtualenv is always a change.
  - A build that fails is removed, and the error names the step and ends with pip's own words.
version_added: 0.2.0
author: unitchannels maintainers (@unitchannels)
options:
  path:
    description: The virtualenv's directory. Missing parents are created (mode 0755, as C(python -m venv) would).
    type: path
    required: true
  python:
    description: The interpreter that creates the virtualenv (and that the virtualenv then runs).
    type: path
    required: true
  requirements:
    description: Requirements files on the host (C(pip install -r)).
    type: list
    elements: path
    default: []
  constraints:
    description: Constraints files on the host (C(pip install -c)).
    type: list
    elements: path
    default: []
  packages:
    description: More requirement specifiers, installed in the same pip run.
    type: list
    elements: str
    default: []
  index_url:
    description:
      - The package index pip uses instead of PyPI. Not shown in the output (an index URL may
        carry a token).
    type: str
  find_links:
    description: A directory of wheels on the host; pip then installs from it only (C(--no-index)).
    type: path
  extra_args:
    description: Further arguments of C(pip install), one per item, such as C(--only-binary) and C(uvloop).
    type: list
    elements: str
    default: []
  ca_bundle:
    description:
      - The PEM content of the CA bundle pip must trust (a TLS-inspecting proxy, an internal
        index). Written to a temporary file for pip's C(--cert) and removed after the run.
    type: str
  owner:
    description: The user that gets the whole virtualenv once it is built; by default it stays with the user that built it.
    type: str
  group:
    description: The group that gets the whole virtualenv once it is built.
    type: str
  marker:
    description: The file, relative to O(path), whose presence says the virtualenv is complete.
    type: str
    default: .venv-complete
  marker_content:
    description: What O(marker) holds (for people reading the host, such as the release that built it).
    type: str
    default: ''
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports whether the virtualenv would be built; nothing is removed, created or installed.
  diff_mode:
    support: full
    details: The state of O(path) before and after, and what pip installs.
  platform:
    platforms: posix
requirements:
  - The C(venv) module of O(python) with C(ensurepip) (Debian and Ubuntu package it as C(python3.X-venv)).
'''

EXAMPLES = r'''
- name: Build the app's virtualenv, as Unit's user's
  become: true
  unitchannels.deploy.app_venv:
    path: /srv/chat/venvs/py3.11-0123456789ab
    python: /usr/bin/python3.11
    requirements: [/srv/chat/releases/0123456789ab/requirements.txt]
    constraints: [/srv/chat/releases/0123456789ab/constraints.txt]
    packages: [uvloop]
    extra_args: [--only-binary, uvloop]
    owner: unit
    group: unit
'''

RETURN = r'''
path:
  description: The virtualenv's directory.
  returned: always
  type: str
  sample: /srv/chat/venvs/py3.11-0123456789ab
built:
  description: Whether the virtualenv was (in check mode, would be) built by this run.
  returned: always
  type: bool
cmd:
  description: The pip command that ran, without the index URL.
  returned: when pip ran
  type: list
  elements: str
stdout:
  description: What pip printed.
  returned: when pip ran
  type: str
'''

import os
import re
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.unitchannels.deploy.plugins.module_utils.app_files import owner_ids

# What a failure message keeps of a command's output: its end, where pip says what went wrong.
OUTPUT_TAIL = 3000


def pip_command(params, venv, cert):
    argv = [os.path.join(venv, 'bin', 'python'), '-m', 'pip', 'install', '--disable-pip-version-check', '--no-cache-dir']
    if cert:
        argv += ['--cert', cert]
    if params['index_url']:
        argv += ['--index-url', params['index_url']]
    if params['find_links']:
        argv += ['--no-index', '--find-links', params['find_links']]
    for path in params['requirements']:
        argv += ['-r', path]
    for path in params['constraints']:
        argv += ['-c', path]
    return argv + params['extra_args'] + params['packages']


def give(path, uid, gid):
    """The whole tree to uid:gid; links themselves, never what they point to."""
    os.lchown(path, uid, gid)
    for parent, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(parent, name), uid, gid)


def python_mismatch(output, python_version):
    """What pip said when a requirement has no release for this Python: '' when it said nothing of it.

    pip lists the versions it ignored ("Ignored the following versions that require a different
    python version: 6.0 Requires-Python >=3.12; ...") before "No matching distribution found for X".
    """
    ignored = re.search(r'require a different python version: (.*)', output)
    wanted = re.search(r'No matching distribution found for (\S+)', output)
    if not ignored or not wanted:
        return ''
    needs = sorted(set(re.findall(r'Requires-Python (\S+?)[;\s]', ignored.group(1) + ' ')))
    return ('%s needs a newer Python (Requires-Python %s) than %s, the Python of this virtualenv (the one '
            'NGINX Unit\'s module runs). Pin a release of it that supports Python %s, or build with a newer '
            'Python: a Unit module of that Python (unit_python_versions, where its repository has one) and '
            'channels_app_python_version. ' % (wanted.group(1), ' or '.join(needs) or '?', python_version,
                                               python_version))


def fail_build(module, path, step, rc, out, err, **result):
    shutil.rmtree(path, ignore_errors=True)
    said = (err or out or '').strip()[-OUTPUT_TAIL:]
    version = re.search(r'python([0-9]+\.[0-9]+)$', module.params['python'])
    why = python_mismatch((out or '') + '\n' + (err or ''), version.group(1) if version else module.params['python'])
    module.fail_json(msg='%s%s failed (rc %s); the incomplete virtualenv %s was removed. %s' % (why, step, rc, path, said),
                     rc=rc, stdout=out, stderr=err, path=path, **result)


def is_complete(path, marker):
    """Marked complete, and its Python still runs: a python3.X removed from the host leaves a
    virtualenv whose bin/python points nowhere, rebuilt like an interrupted one."""
    return os.path.isfile(os.path.join(path, marker)) and os.access(os.path.join(path, 'bin', 'python'), os.X_OK)


def build(module, path, uid, gid):
    params = module.params
    if os.path.lexists(path):  # what an interrupted build left
        shutil.rmtree(path)
    if not os.path.isdir(os.path.dirname(path)):  # a fresh host's virtualenvs directory
        os.makedirs(os.path.dirname(path), 0o755)
    rc, out, err = module.run_command([params['python'], '-m', 'venv', path])
    if rc != 0:
        fail_build(module, path, 'Creating the virtualenv with %s -m venv' % params['python'], rc, out, err)
    cert = None
    try:
        if params['ca_bundle']:
            handle, cert = tempfile.mkstemp(prefix='pip-ca-', suffix='.pem', dir=module.tmpdir)
            with os.fdopen(handle, 'w') as out_file:
                out_file.write(params['ca_bundle'])
        argv = pip_command(params, path, cert)
        rc, out, err = module.run_command(argv)
    finally:
        if cert:
            os.unlink(cert)
    shown = [arg for arg in argv if arg != params['index_url']] if params['index_url'] else argv
    if rc != 0:
        fail_build(module, path, 'pip install', rc, out, err, cmd=shown)
    if uid != -1 or gid != -1:
        give(path, uid, gid)
    marker = os.path.join(path, params['marker'])
    with open(marker + '.tmp', 'w') as out_file:
        out_file.write(params['marker_content'])
    os.rename(marker + '.tmp', marker)
    return dict(cmd=shown, stdout=out)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            python=dict(type='path', required=True),
            requirements=dict(type='list', elements='path', default=[]),
            constraints=dict(type='list', elements='path', default=[]),
            packages=dict(type='list', elements='str', default=[]),
            index_url=dict(type='str', no_log=True),
            find_links=dict(type='path'),
            extra_args=dict(type='list', elements='str', default=[]),
            ca_bundle=dict(type='str'),
            owner=dict(type='str'),
            group=dict(type='str'),
            marker=dict(type='str', default='.venv-complete'),
            marker_content=dict(type='str', default=''),
        ),
        supports_check_mode=True,
    )
    path = module.params['path'].rstrip('/')
    result = dict(changed=False, path=path, built=False)
    if is_complete(path, module.params['marker']):
        module.exit_json(**result)
    if not os.access(module.params['python'], os.X_OK):
        module.fail_json(msg='%s, the Python the virtualenv is made with, is not on this host' % module.params['python'], **result)
    uid, gid = owner_ids(module, module.params['owner'], module.params['group'])
    result.update(changed=True, built=True)
    if module._diff:
        wanted = ['-r ' + p for p in module.params['requirements']] + module.params['packages']
        result['diff'] = dict(before_header=path, after_header=path,
                              before='incomplete virtualenv\n' if os.path.lexists(path) else '',
                              after='virtualenv of %s with %s\n' % (module.params['python'], ' '.join(wanted)))
    if not module.check_mode:
        result.update(build(module, path, uid, gid))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
