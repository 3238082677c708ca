# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filter unit_packages: the package names of NGINX Unit and its Python modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text


def unit_packages(python_versions, pkg_format='deb', version=''):
    """['unit', 'unit-python3.11'] (deb) or ['unit', 'unit-python311'] (rpm), pinned when version is set."""
    if pkg_format not in ('deb', 'rpm'):
        raise AnsibleFilterError("unit_packages: the package format is 'deb' or 'rpm', not %r" % (pkg_format,))
    names = ['unit']
    for python in python_versions:
        python = to_text(python)
        if not re.match(r'^[0-9]+\.[0-9]+$', python):
            raise AnsibleFilterError('unit_packages: %r is not a Python version like 3.11' % (python,))
        names.append('unit-python' + (python if pkg_format == 'deb' else python.replace('.', '')))
    version = to_text(version or '')
    if version:
        names = [name + ('=' if pkg_format == 'deb' else '-') + version for name in names]
    return names


class FilterModule(object):
    def filters(self):
        return {'unit_packages': unit_packages}
