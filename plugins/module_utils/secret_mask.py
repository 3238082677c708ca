# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Secret values hidden in text about to be shown (the mask_secrets filter, the app_workers
module's journal lines)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.six.moves.urllib.parse import unquote, urlsplit

MASK = "********"


def url_passwords(value):
    """The password of a URL value, as written and percent-decoded ([] when it has none)."""
    try:
        password = urlsplit(value).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []


def mask(text, secrets, min_length=4):
    """text with every secret value (a list of texts) replaced by ********.

    A value that is a URL with a password (DATABASE_URL, REDIS_URL) also has its password masked
    on its own, as written and percent-decoded: drivers print the parts of a URL, not the URL.
    Values shorter than min_length are left alone: masking "0" or "" would garble the text and
    hide nothing worth hiding. Longer values are masked first, so a secret that contains
    another secret is masked whole.
    """
    values = set()
    for value in secrets:
        values.update(form for form in [value] + url_passwords(value) if len(form) >= int(min_length))
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text
