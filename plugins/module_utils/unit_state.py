# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""What NGINX Unit runs, read in one request (unit_info, app_release_info).

``GET /`` gives the configuration, the status with the loaded language modules and the
certificates; the version comes from the control API's ``Server: Unit/X.Y.Z`` header (the version
of the unitd that answers, which after an upgrade without a restart is not the binary's), and only
when that names none from ``unitd --version``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_control import (
    UnitControlError,
    client_from_module,
)

SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin']


def unitd_version(module, binary=None):
    """What `unitd --version` says (on stderr: "unit version: 1.34.2"), '' without unitd."""
    binary = binary or module.get_bin_path('unitd', opt_dirs=SBIN_DIRS)
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


def read_unit(module, unitd=None):
    """version, control, config, status, certificates and python_versions; fails the module when Unit does not answer."""
    try:
        client = client_from_module(module)
        resp = client.get('/')
    except UnitControlError as e:
        module.fail_json(msg=e.msg)
    if not resp.ok or not isinstance(resp.body, dict):
        module.fail_json(msg='%s answered HTTP %s to GET /: %s' % (client.endpoint, resp.status, resp.error_text()))
    tree = resp.body
    status = tree.get('status') or {}
    return dict(
        version=resp.server_version or unitd_version(module, unitd),
        control=('unix:' + client.socket_path) if client.socket_path else client.base_url,
        config=tree.get('config') or {},
        status=status,
        certificates=tree.get('certificates') or {},
        python_versions=python_versions(status),
    )
