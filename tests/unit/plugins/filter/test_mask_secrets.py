# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.unitchannels.deploy.plugins.filter.mask_secrets import FilterModule, mask_secrets


def test_masks_every_occurrence_of_each_value():
    text = "connect postgres://app:s3cretpw@db/app failed; key=abcdef123 again s3cretpw"
    out = mask_secrets(text, {"DATABASE_URL": "s3cretpw", "DJANGO_SECRET_KEY": "abcdef123"})
    assert "s3cretpw" not in out and "abcdef123" not in out
    assert out.count("********") == 3


def test_longer_secret_masked_whole_before_a_shorter_one_inside_it():
    out = mask_secrets("url=redis://:pw-12345@host", ["pw-12345", "redis://:pw-12345@host"])
    assert out == "url=********"


def test_short_and_empty_values_are_left_alone():
    assert mask_secrets("debug is 0, 1 process", ["0", "", None, "1"]) == "debug is 0, 1 process"


def test_min_length_can_be_lowered():
    assert mask_secrets("pin 123", ["123"], min_length=3) == "pin ********"


def test_none_text_gives_empty_string():
    assert mask_secrets(None, ["whatever"]) == ""


def test_a_string_as_secrets_is_refused():
    with pytest.raises(AnsibleFilterError, match="list or a dict"):
        mask_secrets("text", "not-a-list")


def test_registered_under_its_name():
    assert FilterModule().filters()["mask_secrets"] is mask_secrets


def test_the_password_of_a_url_is_masked_on_its_own_too():
    url = "postgres://app:p%40ss-w0rd@db.example.com/app"
    text = "connect failed for user app, password 'p@ss-w0rd', url %s" % url
    out = mask_secrets(text, {"DATABASE_URL": url})
    assert "p@ss-w0rd" not in out and "p%40ss-w0rd" not in out and url not in out
    assert "user app" in out and out.count("********") == 2


def test_a_value_that_is_no_url_is_masked_whole_only():
    assert mask_secrets("key: plain-secret-value", ["plain-secret-value"]) == "key: ********"
