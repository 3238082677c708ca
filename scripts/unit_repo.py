"""Build the local apt repositories of NGINX Unit the tests, the demo and the bench install from.

    python3 scripts/unit_repo.py CACHE_DIR   (make unit-repo)
    python3 scripts/unit_repo.py --summary CACHE_DIR

Each repository is shaped like packages.nginx.org/unit/debian: one suite per Debian release
("deb [signed-by=/srv/unit-repo/key.asc] file:/srv/unit-repo bookworm unit"), because Unit's packages are built per
release (1.35.0-1~bookworm and 1.35.0-1~trixie): a flat repository holding both would hand the
higher of the two to every host.

  CACHE_DIR/unit-repo          Unit 1.34.2 (Debian 12)
  CACHE_DIR/unit-repo-next     Unit 1.35.0 (Debian 12 for the upgrade, Debian 13)
  CACHE_DIR/unit-repo-standin  the stand-in as 1.34.2 (Debian 12 and 13), always: the user
                               scenario runs on it, so that it does not rot

Where the packages come from: UNIT_PACKAGES_DIR when it is set, else ../shared/unit-packages
beside the checkout when that folder exists, else the offline stand-in (tests/standin). The
folder may be flat (*.deb; the release is read from the version, "1.34.2-1~bookworm") or a tree
<codename>/<version>/*.deb. A release a scenario needs (narrowed by MOLECULE_DISTROS) without a
`unit` and the `unit-python3.X` package the roles install there (of this machine's architecture) stops the build, naming the folder and what
is missing. Each repository's SOURCE file says in one line what it holds; --summary prints them.

Every suite is signed (InRelease, Release.gpg) with a test key made on the first build and kept in
CACHE_DIR/unit-repo-key; its public half is key.asc in each repository and its fingerprint
CACHE_DIR/unit-repo-key/fingerprint, so the roles check and trust it as a user's repository.
"""

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STANDIN_BUILD = ROOT / "tests" / "standin" / "build-repo.sh"
SHARED_PACKAGES = ROOT.parent / "shared" / "unit-packages"
COMPONENT = "unit"
ARCHITECTURES = ("amd64", "arm64")
# The containers run on this machine's architecture: its packages, or Architecture: all, count.
ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                      check=False).stdout.strip() or "amd64"
CODENAMES = {"debian12": "bookworm", "debian13": "trixie"}
DEBIAN = {"bookworm": "12", "trixie": "13"}
# The Python module the roles install on each release (its python3 version).
PYTHONS = {"bookworm": "3.11", "trixie": "3.13"}
# The repositories and what the scenarios install from them: version -> Debian platforms.
REPOSITORIES = (
    ("unit-repo", "1.34.2", ("debian12",)),
    ("unit-repo-next", "1.35.0", ("debian12", "debian13")),
)
STANDIN_REPOSITORY = ("unit-repo-standin", "1.34.2", ("debian12", "debian13"))


KEY_DIR = "unit-repo-key"
KEY_UID = "unitchannels.deploy test repository <unit-repo@example.invalid>"


class RepoError(Exception):
    """Bad input: the message names the folder and what is missing."""


class SigningKey:
    """The repositories' test key: made once in CACHE_DIR/unit-repo-key, used from a GnuPG home of
    its own in /tmp (a short path: gpg-agent's socket lives there), removed afterwards."""

    def __init__(self, cache):
        self.folder = cache / KEY_DIR
        self.home = None

    def gpg(self, *args, data=None):
        try:
            return subprocess.run(["gpg", "--batch", "--quiet", "--homedir", self.home, *args],
                                  input=data, capture_output=True, check=True).stdout
        except FileNotFoundError:
            raise RepoError("gpg is missing (it signs the test repositories): apt-get install gpg")
        except subprocess.CalledProcessError as e:
            raise RepoError("gpg %s failed: %s" % (args[0], e.stderr.decode(errors="replace").strip()))

    def __enter__(self):
        self.home = tempfile.mkdtemp(prefix="unit-repo-gpg.")
        secret = self.folder / "secret.asc"
        if not secret.exists():
            self.gpg("--passphrase", "", "--quick-gen-key", KEY_UID, "ed25519", "sign", "never")
            self.folder.mkdir(parents=True, exist_ok=True)
            secret.write_bytes(self.gpg("--armor", "--export-secret-keys"))
            secret.chmod(0o600)
            print("==> Made the test repositories' signing key (%s)" % self.folder.name)
        else:
            self.gpg("--import", str(secret))
        listing = self.gpg("--with-colons", "--list-keys").decode()
        self.fingerprint = next(line.split(":")[9] for line in listing.splitlines()
                                if line.startswith("fpr:"))
        self.public = self.gpg("--armor", "--export")
        (self.folder / "fingerprint").write_text(self.fingerprint + "\n")
        return self

    def __exit__(self, *exc):
        subprocess.run(["gpgconf", "--homedir", self.home, "--kill", "gpg-agent"],
                       capture_output=True, check=False)
        shutil.rmtree(self.home, ignore_errors=True)

    def sign(self, suite):
        release = str(suite / "Release")
        self.gpg("--yes", "--clearsign", "--output", str(suite / "InRelease"), release)
        self.gpg("--yes", "--detach-sign", "--output", str(suite / "Release.gpg"), release)


def control(deb):
    out = subprocess.run(["dpkg-deb", "-f", str(deb)], check=True, capture_output=True,
                         text=True).stdout
    fields = {}
    for line in out.splitlines():
        if line[:1] not in (" ", "\t") and ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return out.rstrip("\n"), fields


def package_releases(source, deb, version):
    """The Debian releases a package is for: its tree folder, its version's ~codename, or all."""
    parts = deb.relative_to(source).parts
    if len(parts) > 1 and parts[0] in CODENAMES.values():
        return {parts[0]}
    m = re.search(r"~([a-z]+)\d*$", version)
    if m and m.group(1) in CODENAMES.values():
        return {m.group(1)}
    return set(CODENAMES.values())


def collect(source, label):
    """Every .deb under source: [(path, control text, fields, releases)]."""
    if not source.is_dir():
        raise RepoError("%s is not a directory" % label)
    found = []
    for deb in sorted(source.rglob("*.deb")):
        text, fields = control(deb)
        found.append((deb, text, fields, package_releases(source, deb, fields.get("Version", ""))))
    if not any(fields.get("Package") == "unit" for dummy, dummy, fields, dummy in found):
        raise RepoError("%s holds no `unit` package (.deb files found: %d)" % (label, len(found)))
    return found


def select(found, label, version, codenames):
    """The packages of one Unit version for each release, or an error naming what is missing."""
    chosen = {}
    missing = []
    for codename in codenames:
        debs = [(p, t, f) for p, t, f, rel in found if codename in rel
                and f.get("Version", "").split("-")[0] == version
                and f.get("Architecture") in (ARCH, "all")]
        names = {fields["Package"] for dummy, dummy, fields in debs}
        lacks = [n for n in ("unit", "unit-python" + PYTHONS[codename]) if n not in names]
        files = [p.name for p, dummy, dummy in debs]
        twice = sorted({f for f in files if files.count(f) > 1})
        if twice:
            raise RepoError("%s holds %s more than once" % (label, ", ".join(twice)))
        if lacks:
            missing.append("%s %s for Debian %s (%s)" % (
                " and ".join(lacks), version, DEBIAN[codename], codename))
        chosen[codename] = debs
    if missing:
        raise RepoError("%s lacks %s" % (label, "; ".join(missing)))
    return chosen


def digests(data):
    return {n: hashlib.new(n, data).hexdigest() for n in ("md5", "sha1", "sha256")}


def write_suite(repo, codename, debs, description, key):
    pool = repo / "pool" / codename
    pool.mkdir(parents=True)
    stanzas = []
    for path, text, fields in debs:
        data = path.read_bytes()
        (pool / path.name).write_bytes(data)
        d = digests(data)
        stanzas.append(("%s\nFilename: pool/%s/%s\nSize: %d\nMD5sum: %s\nSHA1: %s\nSHA256: %s\n"
                        % (text, codename, path.name, len(data), d["md5"], d["sha1"], d["sha256"]),
                        fields.get("Architecture", "all")))
    index = {}
    for arch in ARCHITECTURES:
        packages = "\n".join(text for text, a in stanzas if a in (arch, "all")).encode()
        rel = "%s/binary-%s" % (COMPONENT, arch)
        (repo / "dists" / codename / rel).mkdir(parents=True)
        for name, data in (("Packages", packages), ("Packages.gz", gzip.compress(packages, mtime=0))):
            (repo / "dists" / codename / rel / name).write_bytes(data)
            index["%s/%s" % (rel, name)] = data
    lines = ["Origin: unitchannels.deploy tests", "Label: NGINX Unit",
             "Suite: %s" % codename, "Codename: %s" % codename,
             "Date: Wed, 01 Jan 2025 00:00:00 UTC",
             "Architectures: %s" % " ".join(ARCHITECTURES), "Components: %s" % COMPONENT,
             "Description: %s" % description]
    sums = {name: (digests(data), len(data)) for name, data in sorted(index.items())}
    for field, algo in (("MD5Sum", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256")):
        lines.append("%s:" % field)
        lines.extend(" %s %d %s" % (d[algo], size, name) for name, (d, size) in sums.items())
    (repo / "dists" / codename / "Release").write_text("\n".join(lines) + "\n")
    key.sign(repo / "dists" / codename)


def build(repo, chosen, summary, key):
    """Write the repository anew in a folder beside it, then move its content into place: the
    folder itself stays, so that containers that mount it (make demo, BENCH_KEEP) keep seeing it."""
    tmp = repo.with_name(repo.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for codename, debs in chosen.items():
        write_suite(tmp, codename, debs, summary, key)
    (tmp / "SOURCE").write_text(summary + "\n")
    (tmp / "key.asc").write_bytes(key.public)
    repo.mkdir(parents=True, exist_ok=True)
    for old in repo.iterdir():
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()
    for new in tmp.iterdir():
        new.rename(repo / new.name)
    tmp.rmdir()
    print("==> %s: %s" % (repo.name, summary))


def describe(version, chosen, origin):
    per_release = ", ".join(
        "Debian %s %s" % (DEBIAN[c], next(fields["Version"] for dummy, dummy, fields in debs
                                          if fields["Package"] == "unit"))
        for c, debs in chosen.items())
    return "NGINX Unit %s, %s (%s)" % (version, origin, per_release)


def standin_plan(cache, version, codenames, why):
    """(chosen packages, description) of the stand-in as one Unit version, its .debs built by
    tests/standin/build-repo.sh (which rebuilds only when its sources change)."""
    out = cache / ("standin-debs-%s" % version)
    subprocess.run(["bash", str(STANDIN_BUILD), str(out), version], check=True,
                   stdout=subprocess.DEVNULL)
    chosen = select(collect(out, out), out, version, codenames)
    return chosen, describe(version, chosen, "TEST STAND-IN (%s)" % why)


def wanted_platforms():
    distros = os.environ.get("MOLECULE_DISTROS", "debian12 debian13").split()
    unknown = [d for d in distros if d not in CODENAMES]
    if unknown:
        raise RepoError("MOLECULE_DISTROS names %s; known: %s"
                        % (" ".join(unknown), " ".join(CODENAMES)))
    return distros


def packages_source():
    """(folder, how it was chosen) of real packages, or (None, why the stand-in)."""
    given = os.environ.get("UNIT_PACKAGES_DIR", "")
    if given:
        return Path(given), "UNIT_PACKAGES_DIR=%s" % given
    if SHARED_PACKAGES.is_dir():
        return SHARED_PACKAGES, "../shared/unit-packages"
    return None, "no UNIT_PACKAGES_DIR and no ../shared/unit-packages"


def main(cache):
    """Check every repository's packages first, then write them: bad input changes nothing."""
    distros = wanted_platforms()
    source, origin = packages_source()
    found = collect(source, origin) if source else None
    plans = []
    for name, version, platforms in REPOSITORIES:
        # Debian 12 always: the scenarios with platforms of their own (upgrade, user, multihost,
        # reliability, tls) run on it whatever MOLECULE_DISTROS names.
        codenames = [CODENAMES[p] for p in platforms if p in distros or p == "debian12"]
        if found is not None:
            chosen = select(found, origin, version, codenames)
            plans.append((name, chosen, describe(version, chosen, "real packages from " + origin)))
        else:
            plans.append((name, *standin_plan(cache, version, codenames, origin)))
    name, version, platforms = STANDIN_REPOSITORY
    plans.append((name, *standin_plan(cache, version, [CODENAMES[p] for p in platforms],
                                      "kept for the user scenario")))
    with SigningKey(cache) as key:
        for name, chosen, text in plans:
            build(cache / name, chosen, text, key)


def summary(cache):
    """One line per repository: what make test installs where."""
    for name, dummy, dummy in REPOSITORIES + (STANDIN_REPOSITORY,):
        source = cache / name / "SOURCE"
        text = source.read_text().strip() if source.exists() else "not built (make unit-repo)"
        print("    %-18s %s" % (name, text))


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--summary"] and len(args) == 2:
        summary(Path(args[1]))
    elif len(args) == 1 and not args[0].startswith("-"):
        try:
            main(Path(args[0]).resolve())
        except RepoError as e:
            sys.exit("make unit-repo: %s" % e)
    else:
        sys.exit(__doc__)
