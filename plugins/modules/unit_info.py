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
    the language modules it loaded, and its certificates, and Unit's version (from the control
    API's C(Server) header, the version of the unitd that answers).
  - Only reads, so it runs in check mode too and never reports a change.
version_added: 0.2.0
author: unitchannels maintainers (@unitchannels)
options:
  unitd:
    description:
      - The C(unitd) binary to ask for its version (C(unitd --version)) when the control API's
        C(Server) header names none. By default C(unitd) is looked up in the C(PATH) and the
        C(sbin) directories.
      - When no version is found either way, RV(version) is empty; the rest is still read.
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
  description: Unit's version, from the C(Server) header of the control API (or C(unitd --version)); empty when neither says.
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
max_open_files:
  description:
    - The open-file limit in force for Unit's router (its soft limit), which bounds the client
      connections, HTTP keep-alive and WebSockets together, that Unit holds at once. Null when it
      cannot be read (Unit runs elsewhere, or not as a process of this host).
  returned: always
  type: int
  sample: 65536
somaxconn:
  description:
    - The kernel's C(net.core.somaxconn) on this host, the longest queue of connections not yet
      accepted that any listener gets. Unit asks for 511 for each listener (its C(backlog) option
      changes that); the kernel takes the lower of the two. Null when it cannot be read.
  returned: always
  type: int
  sample: 4096
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_control import (
    UNIT_MUTUALLY_EXCLUSIVE,
    unit_argument_spec,
)
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_state import (
    listen_queue_limit,
    open_files_limit,
    read_unit,
)


def main():
    argument_spec = unit_argument_spec()
    argument_spec.update(unitd=dict(type='path'))
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=UNIT_MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    module.exit_json(changed=False, max_open_files=open_files_limit(), somaxconn=listen_queue_limit(),
                     **read_unit(module, module.params['unitd']))


if __name__ == '__main__':
    main()
