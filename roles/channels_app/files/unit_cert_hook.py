#!/usr/bin/python3
# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""certbot deploy hook: give NGINX Unit the certificate certbot just renewed.

Installed by the channels_app role (with tls_bundle.py, unit_http.py and unit_address.py beside it) and called by the per-app hook
in /etc/letsencrypt/renewal-hooks/deploy/. certbot sets RENEWED_LINEAGE; other lineages are
ignored. Steps, each of which leaves the current certificate serving when it fails:
  1. check the renewed chain and key (tls_bundle: key matches, chain order, validity);
  2. store them in Unit as NAME-<hash> (the name unit_certificate gives the same content, so the
     next Ansible run finds it and changes nothing);
  3. switch the TLS listener to it in one configuration change: Unit applies it to new
     connections, the open ones (WebSockets included) go on with the certificate they have;
  4. delete the app's bundles no listener uses any more.
What it did or why it stopped goes to stdout/stderr, which certbot logs (and journald with it).
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import sys
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tls_bundle import bundle_name, bundle_problems, canonical_bundle, is_own_bundle  # noqa: E402  pylint: disable=import-error,wrong-import-position
from unit_http import Unit  # noqa: E402  pylint: disable=import-error,wrong-import-position


def install(unit, name, listener, pem):
    """Store pem, switch the listener to it, delete unused bundles; returns what it did."""
    bundle = bundle_name(name, pem)
    done = []
    if bundle not in (unit.request('GET', '/certificates') or {}):
        unit.request('PUT', '/certificates/' + bundle, pem.encode('utf-8'))
        done.append('stored %s' % bundle)
    # As Unit's docs write it: /config/listeners/*:443 (RFC 3986 pchar left as is).
    path = '/config/listeners/%s/tls/certificate' % quote(listener, safe="!$&'()*+,;=:@-._~")
    if unit.request('GET', path) != bundle:
        unit.request('PUT', path, json.dumps(bundle).encode('utf-8'))
        done.append('listener %s now serves it' % listener)
    used = set()
    for conf in (unit.request('GET', '/config/listeners') or {}).values():
        cert = (conf.get('tls') or {}).get('certificate') if isinstance(conf, dict) else None
        used.update([cert] if isinstance(cert, str) else (cert or []))
    for other in sorted(unit.request('GET', '/certificates') or {}):
        if is_own_bundle(name, other) and other not in used and other != bundle:
            unit.request('DELETE', '/certificates/' + other)
            done.append('deleted %s' % other)
    return bundle, done


def main(argv=None, environ=None):
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--control', required=True, help="unitd's --control address")
    parser.add_argument('--name', required=True, help='base name of the bundles (the app)')
    parser.add_argument('--listener', required=True, help='the TLS listener, ADDR:PORT')
    parser.add_argument('--lineage', required=True, help="certbot's live directory of the app")
    args = parser.parse_args(argv)
    renewed = environ.get('RENEWED_LINEAGE', '')
    if os.path.realpath(renewed) != os.path.realpath(args.lineage):
        return 0  # another certificate's renewal
    tag = 'unitchannels %s:' % args.name
    try:
        with open(os.path.join(renewed, 'fullchain.pem')) as f:
            chain = f.read()
        with open(os.path.join(renewed, 'privkey.pem')) as f:
            key = f.read()
    except OSError as e:
        print('%s cannot read the renewed certificate (%s); Unit keeps serving the one it has' % (tag, e),
              file=sys.stderr)
        return 1
    pem = canonical_bundle(chain + '\n' + key)
    problems = bundle_problems(pem)
    if problems:
        print('%s the renewed certificate in %s cannot be served: %s; Unit keeps serving the one it has'
              % (tag, renewed, '; '.join(problems)), file=sys.stderr)
        return 1
    try:
        bundle, done = install(Unit(args.control), args.name, args.listener, pem)
    except (OSError, RuntimeError, ValueError) as e:
        print('%s the renewed certificate did not reach Unit (%s); Unit keeps serving the one it has'
              % (tag, e), file=sys.stderr)
        return 1
    print('%s %s' % (tag, '; '.join(done) if done else '%s already served, nothing to do' % bundle))
    return 0


if __name__ == '__main__':
    sys.exit(main())
