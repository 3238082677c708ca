# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filter own_bundles: the certificate bundles in Unit that are an app's own (NAME-<12 hex>)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.text.converters import to_text
from ansible_collections.unitchannels.deploy.plugins.module_utils.tls_bundle import is_own_bundle


def own_bundles(bundles, name):
    """The names among bundles (a list, or the mapping Unit's /certificates holds) that are name's."""
    return sorted(to_text(b) for b in (bundles or []) if is_own_bundle(to_text(name), to_text(b)))


class FilterModule(object):
    def filters(self):
        return {'own_bundles': own_bundles}
