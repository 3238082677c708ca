#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: unit_info
short_description: Read what NGINX Unit runs, in one call
description:
  - Reads Unit's whole API tree (C(GET /)), that is the configuration it serves, its status with
    the language modules it loaded, and its certificates, and the version of C(unitd)
    (C(unitd --version); the control API does not report it).
  - Only reads, so it runs in check mode too and never reports a change.
version_added: 0.2.0
author: unitchannels maintainers (@unitchannels)
options:
  unitd:
    description:
      - The C(unitd) binary to ask for its version. By default C(unitd) is looked up in the
        C(PATH) and the C(sbin) directories.
      - When no C(unitd) is found, RV(version) is empty; the rest is still read.
    type: path
extends_documentation_fragment:
  - unitchannels.deploy.unit_control
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Only reads.
  diff_mode:
    support: none
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Read what Unit runs
  become: true
  unitchannels.deploy.unit_info:
  register: unit

- name: Show which release of the chat app Unit serves
  ansible.builtin.debug:
    msg: "{{ unit.config.applications.chat.working_directory | default('nothing') }}"

- name: Unit with its control API on TCP
  unitchannels.deploy.unit_info:
    control: 127.0.0.1:8443
'''

RETURN = r'''
version:
  description: Unit's version as C(unitd --version) reports it, empty when no C(unitd) was found.
  returned: always
  type: str
  sample: 1.34.2
control:
  description: The control endpoint that was read, C(unix:/PATH) or an C(http://) URL.
  returned: always
  type: str
  sample: unix:/var/run/control.unit.sock
config:
  description: The configuration Unit serves (C(/config)).
  returned: always
  type: dict
  sample: {"listeners": {}, "routes": [], "applications": {}}
status:
  description: Unit's C(/status), with its connections, requests, applications and modules.
  returned: always
  type: dict
certificates:
  description: The certificate bundles Unit holds (C(/certificates)), by name.
  returned: always
  type: dict
python_versions:
  description: The C(MAJOR.MINOR) versions of the Python language modules Unit loaded.
  returned: always
  type: list
  elements: str
  sample: ["3.11"]
'''

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_control import (
    UNIT_MUTUALLY_EXCLUSIVE,
    UnitControlError,
    client_from_module,
    unit_argument_spec,
)

SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin']


def unitd_version(module):
    """What `unitd --version` says (on stderr: "unit version: 1.34.2"), '' without unitd."""
    binary = module.params['unitd'] or module.get_bin_path('unitd', opt_dirs=SBIN_DIRS)
    if not binary:
        return ''
    rc, out, err = module.run_command([binary, '--version'])
    match = re.search(r'unit version: ([0-9][0-9A-Za-z.+~-]*)', out + err)
    if rc != 0 or not match:
        module.fail_json(msg='%s --version did not report a version (rc %s): %s'
                         % (binary, rc, (err or out).strip()[:500]))
    return match.group(1)


def python_versions(status):
    """MAJOR.MINOR of each Python module: /status/modules/python is one object, or a list of them."""
    modules = (status or {}).get('modules', {}).get('python', [])
    if isinstance(modules, dict):
        modules = [modules]
    found = []
    for module in modules:
        match = re.match(r'^(\d+\.\d+)', str(module.get('version', '')))
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return found


def main():
    argument_spec = unit_argument_spec()
    argument_spec.update(unitd=dict(type='path'))
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=UNIT_MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    try:
        client = client_from_module(module)
        resp = client.get('/')
    except UnitControlError as e:
        module.fail_json(msg=e.msg)
    if not resp.ok or not isinstance(resp.body, dict):
        module.fail_json(msg='%s answered HTTP %s to GET /: %s' % (client.endpoint, resp.status, resp.error_text()))
    tree = resp.body
    status = tree.get('status') or {}
    module.exit_json(
        changed=False,
        version=unitd_version(module),
        control=('unix:' + client.socket_path) if client.socket_path else client.base_url,
        config=tree.get('config') or {},
        status=status,
        certificates=tree.get('certificates') or {},
        python_versions=python_versions(status),
    )


if __name__ == '__main__':
    main()
