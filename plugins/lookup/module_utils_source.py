# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: module_utils_source
version_added: 0.2.0
author: unitchannels maintainers (@unitchannels)
short_description: The source of one of the collection's module_utils, to install it on a host
description:
  - Returns the text of C(plugins/module_utils/NAME.py) of this collection, found through Python's
    import system wherever the collection is installed, for a program on the host (such as the
    certbot deploy hook of M(unitchannels.deploy.unit_certificate)'s bundles) that shares its code.
options:
  _terms:
    description: Names of the collection's module_utils, without C(.py).
    required: true
    type: list
    elements: str
'''

EXAMPLES = r'''
- name: Install the bundle helpers beside the renewal hook
  ansible.builtin.copy:
    content: "{{ lookup('unitchannels.deploy.module_utils_source', 'tls_bundle') }}"
    dest: /usr/local/lib/unitchannels/tls_bundle.py
    mode: "0644"
'''

RETURN = r'''
_raw:
  description: The source of each module_utils named.
  type: list
  elements: str
'''

import importlib
import re

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.lookup import LookupBase

PACKAGE = 'ansible_collections.unitchannels.deploy.plugins.module_utils'


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        sources = []
        for term in terms:
            name = to_text(term)
            if not re.match(r'^[a-z_][a-z0-9_]*$', name):
                raise AnsibleLookupError('module_utils_source: %r is not a module name' % (name,))
            try:
                module = importlib.import_module('%s.%s' % (PACKAGE, name))
                with open(module.__file__, 'rb') as handle:
                    sources.append(to_text(handle.read()))
            except (ImportError, OSError) as e:
                raise AnsibleLookupError('module_utils_source: no module_utils %s in %s: %s' % (name, PACKAGE, e))
        return sources
