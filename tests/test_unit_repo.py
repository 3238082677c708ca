"""scripts/unit_repo.py (make unit-repo): repositories shaped like the official one, from a flat
folder or a <codename>/<version>/ tree of packages, or from the stand-in; bad input stops it
before anything is written."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from script_module import load_script

ROOT = Path(__file__).resolve().parent.parent
unit_repo = load_script(ROOT / "scripts" / "unit_repo.py")

pytestmark = pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="needs dpkg-deb")


def make_deb(folder, package, version, arch="amd64"):
    """A minimal package with the control fields unit_repo.py reads."""
    stage = folder / (".stage-%s-%s" % (package, version))
    (stage / "DEBIAN").mkdir(parents=True)
    (stage / "DEBIAN" / "control").write_text(
        "Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: t <t@example.com>\n"
        "Description: test\n" % (package, version, arch))
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(stage),
                    str(folder / ("%s_%s_%s.deb" % (package, version, arch)))],
                   check=True, capture_output=True)
    shutil.rmtree(stage)


def real_set(folder, version, codename, python, tree=True):
    where = folder / codename / version if tree else folder
    make_deb(where, "unit", "%s-1~%s" % (version, codename))
    make_deb(where, "unit-python%s" % python, "%s-1~%s" % (version, codename))


@pytest.fixture
def packages(tmp_path):
    """A tree like ../shared/unit-packages."""
    root = tmp_path / "unit-packages"
    real_set(root, "1.34.2", "bookworm", "3.11")
    real_set(root, "1.35.0", "bookworm", "3.11")
    real_set(root, "1.35.0", "trixie", "3.13")
    return root


def run(cache, monkeypatch, packages_dir=None, distros=None):
    monkeypatch.delenv("UNIT_PACKAGES_DIR", raising=False)
    monkeypatch.delenv("MOLECULE_DISTROS", raising=False)
    if packages_dir is not None:
        monkeypatch.setenv("UNIT_PACKAGES_DIR", str(packages_dir))
    if distros:
        monkeypatch.setenv("MOLECULE_DISTROS", distros)
    unit_repo.main(cache)


def index(repo, codename, arch="amd64"):
    return (repo / "dists" / codename / "unit" / ("binary-%s" % arch) / "Packages").read_text()


def test_tree_gives_one_suite_per_release(packages, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    run(cache, monkeypatch, packages)
    assert sorted(p.name for p in (cache / "unit-repo" / "dists").iterdir()) == ["bookworm"]
    assert sorted(p.name for p in (cache / "unit-repo-next" / "dists").iterdir()) == ["bookworm", "trixie"]
    bookworm = index(cache / "unit-repo-next", "bookworm")
    trixie = index(cache / "unit-repo-next", "trixie")
    assert "Version: 1.35.0-1~bookworm" in bookworm and "~trixie" not in bookworm
    assert "Package: unit-python3.13\nVersion: 1.35.0-1~trixie" in trixie and "~bookworm" not in trixie
    assert "Filename: pool/trixie/unit_1.35.0-1~trixie_amd64.deb" in trixie
    assert (cache / "unit-repo-next" / "pool" / "trixie" / "unit_1.35.0-1~trixie_amd64.deb").is_file()
    assert index(cache / "unit-repo-next", "trixie", "arm64") == ""  # amd64 builds only
    release = (cache / "unit-repo-next" / "dists" / "trixie" / "Release").read_text()
    assert "Codename: trixie\n" in release and "Components: unit\n" in release
    source = (cache / "unit-repo-next" / "SOURCE").read_text()
    assert source.startswith("NGINX Unit 1.35.0, real packages from UNIT_PACKAGES_DIR=%s" % packages)
    assert "Debian 12 1.35.0-1~bookworm, Debian 13 1.35.0-1~trixie" in source
    assert "TEST STAND-IN" in (cache / "unit-repo-standin" / "SOURCE").read_text()
    out = capsys.readouterr().out
    assert out.count("==> unit-repo") == 3


def test_flat_folder_is_split_by_the_versions_release(tmp_path, monkeypatch):
    flat = tmp_path / "debs"
    real_set(flat, "1.34.2", "bookworm", "3.11", tree=False)
    real_set(flat, "1.35.0", "bookworm", "3.11", tree=False)
    real_set(flat, "1.35.0", "trixie", "3.13", tree=False)
    cache = tmp_path / "cache"
    run(cache, monkeypatch, flat)
    assert "Version: 1.34.2-1~bookworm" in index(cache / "unit-repo", "bookworm")
    assert "~bookworm" not in index(cache / "unit-repo-next", "trixie")


def test_a_missing_release_stops_before_anything_is_written(packages, tmp_path, monkeypatch):
    shutil.rmtree(packages / "trixie")
    cache = tmp_path / "cache"
    with pytest.raises(unit_repo.RepoError) as err:
        run(cache, monkeypatch, packages)
    assert str(err.value) == ("UNIT_PACKAGES_DIR=%s lacks unit and unit-python3.13 1.35.0 for "
                              "Debian 13 (trixie)" % packages)
    assert not cache.exists()
    # Narrowed to Debian 12, the same folder is enough.
    run(cache, monkeypatch, packages, distros="debian12")
    assert sorted(p.name for p in (cache / "unit-repo-next" / "dists").iterdir()) == ["bookworm"]


def test_debian_12_is_needed_whatever_molecule_distros_names(packages, tmp_path, monkeypatch):
    """The upgrade scenario (and the others with platforms of their own) run on Debian 12."""
    shutil.rmtree(packages / "bookworm" / "1.35.0")
    with pytest.raises(unit_repo.RepoError, match=r"lacks unit and unit-python3\.11 1\.35\.0 for Debian 12"):
        run(tmp_path / "cache", monkeypatch, packages, distros="debian13")


def test_a_module_without_unit_or_no_unit_at_all(packages, tmp_path, monkeypatch):
    for deb in (packages / "bookworm" / "1.34.2").glob("unit_*.deb"):
        deb.unlink()
    with pytest.raises(unit_repo.RepoError, match=r"lacks unit 1\.34\.2 for Debian 12 \(bookworm\)$"):
        run(tmp_path / "cache", monkeypatch, packages)
    empty = tmp_path / "empty"
    make_deb(empty, "unit-python3.11", "1.34.2-1~bookworm")
    with pytest.raises(unit_repo.RepoError, match=r"=%s holds no `unit` package \(\.deb files found: 1\)"
                       % empty):
        run(tmp_path / "cache", monkeypatch, empty)
    with pytest.raises(unit_repo.RepoError, match="is not a directory"):
        run(tmp_path / "cache", monkeypatch, tmp_path / "nowhere")


def test_the_wrong_python_module_or_a_package_twice(packages, tmp_path, monkeypatch):
    """Debian 13's roles install unit-python3.13: a 3.11 module there is no module at all."""
    for deb in (packages / "trixie" / "1.35.0").glob("unit-python*.deb"):
        deb.unlink()
    make_deb(packages / "trixie" / "1.35.0", "unit-python3.11", "1.35.0-1~trixie")
    with pytest.raises(unit_repo.RepoError, match=r"lacks unit-python3\.13 1\.35\.0 for Debian 13 \(trixie\)$"):
        run(tmp_path / "cache", monkeypatch, packages)
    shutil.rmtree(packages / "trixie")
    flat_copy = packages / "bookworm" / "unit_1.34.2-1~bookworm_amd64.deb"
    shutil.copy(packages / "bookworm" / "1.34.2" / flat_copy.name, flat_copy)
    with pytest.raises(unit_repo.RepoError, match=r"holds unit_1\.34\.2-1~bookworm_amd64\.deb more than once"):
        run(tmp_path / "cache", monkeypatch, packages, distros="debian12")


def test_a_rebuild_keeps_the_folder_containers_mount(packages, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    run(cache, monkeypatch, packages)
    inode = (cache / "unit-repo").stat().st_ino
    run(cache, monkeypatch, packages)
    assert (cache / "unit-repo").stat().st_ino == inode
    assert (cache / "unit-repo" / "dists" / "bookworm" / "Release").is_file()
    assert not (cache / "unit-repo.new").exists()


def test_every_suite_is_signed_by_the_key_beside_it(packages, tmp_path, monkeypatch):
    """gpgv (what apt verifies with) accepts each suite's InRelease and Release.gpg with key.asc
    alone; the key is made once: a rebuild signs with the same fingerprint."""
    cache = tmp_path / "cache"
    run(cache, monkeypatch, packages)
    fingerprint = (cache / "unit-repo-key" / "fingerprint").read_text().strip()
    assert re.fullmatch("[0-9A-F]{40}", fingerprint)
    for name, codename in (("unit-repo", "bookworm"), ("unit-repo-next", "trixie"),
                           ("unit-repo-standin", "trixie")):
        keyring = tmp_path / ("%s.gpg" % name)
        keyring.write_bytes(subprocess.run(["gpg", "--dearmor"], input=(cache / name / "key.asc").read_bytes(),
                                           capture_output=True, check=True).stdout)
        suite = cache / name / "dists" / codename
        for argv in (["InRelease"], ["Release.gpg", "Release"]):
            checked = subprocess.run(["gpgv", "--keyring", str(keyring), *[str(suite / a) for a in argv]],
                                     capture_output=True, text=True, check=False)
            assert checked.returncode == 0 and "Good signature" in checked.stderr, checked.stderr
    (cache / "unit-repo" / "dists" / "bookworm" / "Release").write_text("tampered\n")
    tampered = subprocess.run(["gpgv", "--keyring", str(tmp_path / "unit-repo.gpg"),
                               str(cache / "unit-repo" / "dists" / "bookworm" / "Release.gpg"),
                               str(cache / "unit-repo" / "dists" / "bookworm" / "Release")],
                              capture_output=True, check=False)
    assert tampered.returncode != 0
    run(cache, monkeypatch, packages)
    assert (cache / "unit-repo-key" / "fingerprint").read_text().strip() == fingerprint


def test_the_stand_in_without_real_packages(tmp_path, monkeypatch):
    monkeypatch.setattr(unit_repo, "SHARED_PACKAGES", tmp_path / "no-shared")
    cache = tmp_path / "cache"
    run(cache, monkeypatch)
    for name in ("unit-repo", "unit-repo-next"):
        assert "TEST STAND-IN (no UNIT_PACKAGES_DIR and no ../shared/unit-packages)" in \
            (cache / name / "SOURCE").read_text()
    # Architecture: all: the same packages in both suites, listed for every architecture.
    assert "Version: 1.35.0-1~standin" in index(cache / "unit-repo-next", "trixie", "arm64")
    assert "Version: 1.34.2-1~standin" in index(cache / "unit-repo", "bookworm")


@pytest.mark.skipif(not shutil.which("apt-get") or os.geteuid() != 0, reason="needs apt-get (root)")
def test_apt_reads_the_repository(packages, tmp_path, monkeypatch):
    """apt itself, as the hosts use it: the bookworm suite offers the bookworm build only."""
    cache = tmp_path / "cache"
    run(cache, monkeypatch, packages)
    state = tmp_path / "apt"
    for d in ("lists/partial", "cache/archives/partial", "etc/preferences.d"):
        (state / d).mkdir(parents=True)
    (state / "etc" / "unit.sources").write_text(
        "Types: deb\nURIs: file:%s\nSuites: bookworm\nComponents: unit\nSigned-By: %s\n"
        % (cache / "unit-repo-next", cache / "unit-repo-next" / "key.asc"))
    opts = ["-o", "Dir::Etc::SourceList=/dev/null", "-o", "Dir::Etc::SourceParts=%s/etc" % state,
            "-o", "Dir::State::Lists=%s/lists" % state, "-o", "Dir::Cache=%s/cache" % state,
            "-o", "Dir::Etc::PreferencesParts=%s/etc/preferences.d" % state,
            "-o", "APT::Architecture=amd64"]
    subprocess.run(["apt-get", *opts, "update", "-q"], check=True, capture_output=True)
    out = subprocess.run(["apt-cache", *opts, "madison", "unit"], check=True, capture_output=True,
                         text=True).stdout
    assert "1.35.0-1~bookworm" in out and "trixie" not in out
