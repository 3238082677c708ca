# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filter unit_control_address: unitd's --control value, the packages' socket when none is given."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_address import (
    ControlAddressError,
    control_address,
)


def unit_control_address(control, os_family='Debian'):
    try:
        return control_address(to_text(control or ''), to_text(os_family))
    except ControlAddressError as e:
        raise AnsibleFilterError('unit_control: %s' % e)


class FilterModule(object):
    def filters(self):
        return {'unit_control_address': unit_control_address}
