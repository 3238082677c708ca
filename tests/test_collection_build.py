"""The published tarball holds what a user of the collection needs, and nothing else.

Builds the collection with the ansible-galaxy of this virtualenv (the way a release is built:
galaxy.yml's `build_ignore`) and checks every member against ALLOWED below. A file that is not
matched fails the test: either build_ignore lets too much in, or a new kind of file belongs to
the collection and is added here on purpose.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# What may be in the tarball ("*" stays within a directory, "**" crosses directories).
ALLOWED = [
    # written by ansible-galaxy
    "MANIFEST.json",
    "FILES.json",
    # documentation and legal
    "README.md",
    # the README's topic pages (its links resolve in the installed collection) and its picture
    "docs/*.md",
    "docs/*.png",
    "LICENSE",
    "CHANGELOG.md",
    "changelogs/changelog.yaml",
    "changelogs/config.yaml",
    "meta/runtime.yml",
    # playbooks runnable by name (ansible-playbook unitchannels.deploy.deploy)
    "playbooks/*.yml",
    # plugins
    "plugins/modules/*.py",
    "plugins/action/*.py",
    "plugins/module_utils/*.py",
    "plugins/doc_fragments/*.py",
    "plugins/filter/*.py",
    "plugins/filter/*.yml",
    "plugins/lookup/*.py",
    "plugins/plugin_utils/*.py",
    "plugins/test/*.py",
    "plugins/test/*.yml",
    # roles
    "roles/*/README.md",
    "roles/*/defaults/main.yml",
    "roles/*/handlers/main.yml",
    "roles/*/meta/main.yml",
    "roles/*/meta/argument_specs.yml",
    "roles/*/tasks/*.yml",
    "roles/*/vars/*.yml",
    "roles/*/templates/*.j2",
    "roles/channels_app/files/unitchannels_loader.py",
    # the deploy's pre-flight of a release, run beside the loader
    "roles/channels_app/files/unitchannels_preflight.py",
    "roles/channels_app/files/unitchannels_runworker.py",
    # certbot's deploy hook (HTTPS with ACME)
    "roles/channels_app/files/unit_cert_hook.py",
    # the restart of the apps after each start of unitd (ExecStartPost)
    "roles/unit/files/unitchannels_fresh_apps.py",
    # the demo app that channels_app deploys by default
    "roles/channels_app/files/demo_project/**.py",
    "roles/channels_app/files/demo_project/*.txt",
    "roles/channels_app/files/demo_project/**/templates/**.html",
    "roles/channels_app/files/demo_project/**/static/**.css",
]

# What must be in it.
REQUIRED = [
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    # a topic page the README links to
    "docs/https.md",
    "LICENSE",
    "CHANGELOG.md",
    "changelogs/changelog.yaml",
    "meta/runtime.yml",
    "plugins/modules/unit_config.py",
    "plugins/modules/unit_app_restart.py",
    "plugins/modules/unit_certificate.py",
    "plugins/modules/asgi_probe.py",
    "plugins/modules/unit_info.py",
    "plugins/modules/unit_release.py",
    "plugins/module_utils/unit_control.py",
    "plugins/module_utils/asgi_probe.py",
    "plugins/doc_fragments/unit_control.py",
    "plugins/filter/mask_secrets.py",
    "plugins/filter/release_ids.py",
    "plugins/plugin_utils/code_tree.py",
    "plugins/test/unit_listener.py",
    "roles/unit/tasks/main.yml",
    "roles/unit/meta/argument_specs.yml",
    "roles/channels_app/tasks/main.yml",
    "roles/channels_app/meta/argument_specs.yml",
    "roles/channels_app/files/unitchannels_loader.py",
    "roles/channels_app/files/unit_cert_hook.py",
    "roles/channels_app/files/demo_project/manage.py",
    "roles/redis/tasks/main.yml",
    "playbooks/deploy.yml",
]


def _pattern(glob: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*)", glob)
    rx = "".join(".*" if p == "**" else "[^/]*" if p == "*" else re.escape(p) for p in parts)
    return re.compile(rx + r"\Z")


ALLOWED_RX = [_pattern(g) for g in ALLOWED]


def _ansible_galaxy() -> str:
    beside = Path(sys.executable).parent / "ansible-galaxy"
    if beside.exists():
        return str(beside)
    found = shutil.which("ansible-galaxy")
    if not found:
        pytest.fail("ansible-galaxy is neither next to %s nor on PATH (run `make venv`)" % sys.executable)
    return found


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("collection")
    proc = subprocess.run(
        [_ansible_galaxy(), "collection", "build", "--output-path", str(out), str(REPO)],
        cwd=out, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, "ansible-galaxy collection build failed:\n%s%s" % (proc.stdout, proc.stderr)
    built = sorted(out.glob("unitchannels-deploy-*.tar.gz"))
    assert len(built) == 1, proc.stdout
    return built[0]


@pytest.fixture(scope="module")
def members(tarball: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(tarball) as tar:
        return {m.name.removeprefix("./"): m for m in tar.getmembers()}


def test_only_allowed_files(members: dict[str, tarfile.TarInfo]) -> None:
    files = [name for name, m in members.items() if not m.isdir()]
    unexpected = [f for f in files if not any(rx.match(f) for rx in ALLOWED_RX)]
    assert not unexpected, (
        "files in the tarball that tests/test_collection_build.py does not allow "
        "(add it to galaxy.yml's build_ignore, or a pattern to ALLOWED): %s" % unexpected
    )


def test_no_bytecode(members: dict[str, tarfile.TarInfo]) -> None:
    bad = [n for n in members if "__pycache__" in n.split("/") or n.endswith((".pyc", ".pyo"))]
    assert not bad, "bytecode in the tarball: %s" % bad


def test_required_files(members: dict[str, tarfile.TarInfo]) -> None:
    missing = [f for f in REQUIRED if f not in members or not members[f].isfile()]
    assert not missing, "missing from the tarball: %s" % missing


def test_manifest_metadata(tarball: Path) -> None:
    with tarfile.open(tarball) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        license_text = tar.extractfile("LICENSE").read().decode()
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"]) == ("unitchannels", "deploy")
    assert tarball.name == "unitchannels-deploy-%s.tar.gz" % info["version"]
    assert info["license"] == ["Apache-2.0"]
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
