#!/usr/bin/env python3
"""Index a directory of .deb files as a flat apt repository
("deb [trusted=yes] file:/srv/unit-repo ./"): Packages, Packages.gz and
Release, without dpkg-dev or apt-utils (control fields come from dpkg-deb).

    aptrepo.py DIR
"""

import gzip
import hashlib
import os
import subprocess
import sys
import time


def control_fields(deb):
    out = subprocess.run(["dpkg-deb", "-f", deb], check=True,
                         stdout=subprocess.PIPE).stdout.decode("utf-8")
    return out.rstrip("\n")


def digests(path):
    h = {n: hashlib.new(n) for n in ("md5", "sha1", "sha256")}
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            for d in h.values():
                d.update(block)
    return {n: d.hexdigest() for n, d in h.items()}


def main(repo):
    debs = sorted(f for f in os.listdir(repo) if f.endswith(".deb"))
    if not debs:
        sys.exit("aptrepo: no .deb files in %s" % repo)
    stanzas = []
    archs = set()
    for name in debs:
        path = os.path.join(repo, name)
        ctl = control_fields(path)
        d = digests(path)
        for line in ctl.splitlines():
            if line.startswith("Architecture:"):
                archs.add(line.split(":", 1)[1].strip())
        stanzas.append("%s\nFilename: ./%s\nSize: %d\nMD5sum: %s\nSHA1: %s\nSHA256: %s\n"
                       % (ctl, name, os.path.getsize(path), d["md5"], d["sha1"],
                          d["sha256"]))
    packages = "\n".join(stanzas).encode()
    with open(os.path.join(repo, "Packages"), "wb") as f:
        f.write(packages)
    with open(os.path.join(repo, "Packages.gz"), "wb") as raw:
        # mtime=0: same input, same bytes
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(packages)
    lines = ["Origin: unitchannels.deploy tests",
             "Label: NGINX Unit packages (see Description)",
             "Date: %s" % time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime(
                 int(os.environ.get("SOURCE_DATE_EPOCH", time.time())))),
             "Architectures: %s" % " ".join(sorted(archs | {"amd64", "arm64"})),
             "Description: %s" % os.environ.get(
                 "UNIT_REPO_DESCRIPTION", "NGINX Unit packages for tests")]
    for field, algo in (("MD5Sum", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256")):
        lines.append("%s:" % field)
        for name in ("Packages", "Packages.gz"):
            path = os.path.join(repo, name)
            lines.append(" %s %d %s" % (digests(path)[algo], os.path.getsize(path), name))
    with open(os.path.join(repo, "Release"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
