# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""module_utils_source: the text of the collection's module_utils, for programs on the host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from pathlib import Path

import pytest

from ansible.errors import AnsibleLookupError
from ansible_collections.unitchannels.deploy.plugins.lookup.module_utils_source import LookupModule
from ansible_collections.unitchannels.deploy.plugins.module_utils import tls_bundle


def test_the_source_is_the_file_python_imports():
    source = LookupModule().run(['tls_bundle'])
    assert source == [Path(tls_bundle.__file__).read_text()]
    assert 'def is_own_bundle(' in source[0]


@pytest.mark.parametrize('name', ['no_such_module', '../filter/own_bundles', 'tls_bundle.py'])
def test_what_is_no_module_utils_is_named(name):
    with pytest.raises(AnsibleLookupError, match='module_utils_source'):
        LookupModule().run([name])
