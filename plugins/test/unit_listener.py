# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Test unit_listener: whether a string is a listener address Unit accepts (ADDR:PORT)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_address import listener_address


def unit_listener(value):
    try:
        listener_address(value if isinstance(value, str) else '')
    except ValueError:
        return False
    return True


class TestModule(object):
    def tests(self):
        return {'unit_listener': unit_listener}
