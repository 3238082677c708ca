# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Test local_address: whether an address is reached only from the host itself."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.text.converters import to_text
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_address import is_local


def local_address(value):
    return is_local(to_text(value or ''))


class TestModule(object):
    def tests(self):
        return {'local_address': local_address}
