"""Certificates for the files source of the tls scenario, written to DIR: a good chain for
tls-app and three that must be refused (key of another certificate, expired, chain reversed).

    make_test_certs.py DIR      (run with the project's virtualenv: it has cryptography)
"""

import datetime
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests", "unit"))
import testcerts  # noqa: E402  pylint: disable=import-error,wrong-import-position


def split(bundle):
    chain, key = bundle.split("-----BEGIN PRIVATE KEY-----")
    return chain, "-----BEGIN PRIVATE KEY-----" + key


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    ca = testcerts.Chain()
    now = datetime.datetime.now(datetime.timezone.utc)
    cases = {
        "good": ca.bundle("tls-app"),
        "mismatch": ca.bundle("tls-app", key=testcerts.new_key()),
        "expired": ca.bundle("tls-app", not_before=now - 60 * testcerts.DAY, not_after=now - testcerts.DAY),
        "reversed": ca.bundle("tls-app", order="reversed"),
    }
    for name, bundle in cases.items():
        chain, key = split(bundle)
        for suffix, text in ((".crt", chain), (".key", key)):
            with open(os.path.join(outdir, name + suffix), "w") as f:
                f.write(text)
    with open(os.path.join(outdir, "root.pem"), "w") as f:
        f.write(testcerts.cert_pem(ca.root))


if __name__ == "__main__":
    main(sys.argv[1])
