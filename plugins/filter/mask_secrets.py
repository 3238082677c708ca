# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filter mask_secrets: hide secret values in text that is about to be shown."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types
from ansible_collections.unitchannels.deploy.plugins.module_utils.secret_mask import mask


def mask_secrets(text, secrets, min_length=4):
    """Return text with every secret value replaced by ******** (module_utils/secret_mask.py).

    secrets: a list of values, or a dict (its values: the app's secret environment).
    """
    if isinstance(secrets, dict):
        secrets = list(secrets.values())
    if isinstance(secrets, string_types) or not hasattr(secrets, "__iter__"):
        raise AnsibleFilterError("mask_secrets: secrets must be a list or a dict of values, got %s" % type(secrets).__name__)
    return mask(to_text(text if text is not None else ""), [to_text(s) for s in secrets if s is not None], min_length)


class FilterModule(object):
    """unitchannels.deploy filters."""

    def filters(self):
        return {"mask_secrets": mask_secrets}
