# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""certbot's deploy hook (roles/channels_app/files/unit_cert_hook.py), installed as the role installs
it (beside module_utils/tls_bundle.py), against the fake Unit."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.unitchannels.deploy.plugins.modules import unit_certificate
from ansible_collections.unitchannels.deploy.tests.unit import host_scripts, testcerts

LISTENER = "*:443"


@pytest.fixture
def hook(workdir):
    return host_scripts.load_installed(workdir, "channels_app", "unit_cert_hook", ["tls_bundle", "unit_http", "unit_address"])


def lineage(workdir, bundle):
    """certbot's live directory: fullchain.pem and privkey.pem."""
    live = os.path.join(workdir, "live", "chat")
    os.makedirs(live, exist_ok=True)
    chain, key = bundle.split("-----BEGIN PRIVATE KEY-----")
    for name, text in (("fullchain.pem", chain), ("privkey.pem", "-----BEGIN PRIVATE KEY-----" + key)):
        with open(os.path.join(live, name), "w") as f:
            f.write(text)
    return live


def serve_with(fake, bundle_text):
    name = unit_certificate.bundle_name("chat", bundle_text)
    fake.certificates[name] = {"key": "EC", "chain": []}
    fake.config = {"listeners": {LISTENER: {"pass": "routes/chat", "tls": {"certificate": name}}},
                   "routes": {"chat": [{"action": {"return": 204}}]}, "applications": {}}
    return name


def run(hook, fake, live, renewed=None):
    argv = ["--control", "unix:" + fake.socket_path, "--name", "chat", "--listener", LISTENER, "--lineage", live]
    return hook.main(argv, environ={"RENEWED_LINEAGE": renewed or live})


def test_a_renewal_is_stored_switched_to_and_the_old_bundle_deleted(hook, fake, workdir, capsys):
    old = serve_with(fake, testcerts.chain().bundle("chat.example.com"))
    renewed = testcerts.chain().bundle("chat.example.com")
    live = lineage(workdir, renewed)
    assert run(hook, fake, live) == 0
    new = unit_certificate.bundle_name("chat", renewed)  # the name Ansible's next run computes too
    assert fake.config["listeners"][LISTENER]["tls"]["certificate"] == new
    assert list(fake.certificates) == [new] and old != new
    assert "listener *:443 now serves it" in capsys.readouterr().out
    # the switch was one change of the listener's certificate, not a new /config
    assert ("PUT", "/config/listeners/*:443/tls/certificate") in [(r.method, r.raw_path) for r in fake.writes]
    assert run(hook, fake, live) == 0 and "nothing to do" in capsys.readouterr().out


def test_other_lineages_are_left_alone(hook, fake, workdir):
    serve_with(fake, testcerts.chain().bundle("chat.example.com"))
    live = lineage(workdir, testcerts.chain().bundle("chat.example.com"))
    assert run(hook, fake, live, renewed=os.path.join(workdir, "live", "other")) == 0
    assert fake.writes == []


def test_a_broken_renewal_keeps_the_current_certificate(hook, fake, workdir, capsys):
    old = serve_with(fake, testcerts.chain().bundle("chat.example.com"))
    live = lineage(workdir, testcerts.chain().bundle("chat.example.com", key=testcerts.new_key()))
    assert run(hook, fake, live) == 1
    err = capsys.readouterr().err
    assert "the private key does not belong to the certificate" in err and "keeps serving" in err
    assert fake.writes == [] and fake.config["listeners"][LISTENER]["tls"]["certificate"] == old


def test_unit_unreachable_is_said(hook, fake, workdir, capsys):
    live = lineage(workdir, testcerts.chain().bundle("chat.example.com"))
    argv = ["--control", "unix:" + os.path.join(workdir, "nope.sock"), "--name", "chat",
            "--listener", LISTENER, "--lineage", live]
    assert hook.main(argv, environ={"RENEWED_LINEAGE": live}) == 1
    assert "did not reach Unit" in capsys.readouterr().err
