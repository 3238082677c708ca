#!/usr/bin/env bash
# ansible-test sanity (every test that applies) and units on this checkout, laid out as the installed
# collection .cache/ansible-test/ansible_collections/unitchannels/deploy, with nothing but PyPI:
#   - its own virtualenv .cache/ansible-test/venv (scripts/ansible-test-requirements.txt, pinned);
#   - ansible-test's sanity virtualenvs (~/.ansible/test/venv, one per test, from ansible-test's own
#     pinned sanity.*.txt) are bootstrapped with the pip wheel from PyPI instead of the get-pip script
#     that ansible-test would download from its CI file server (which cannot be reached offline).
# Everything is installed once and reused while the pins are unchanged.
# Usage: scripts/ansible-test.sh [sanity|units]...   (default: sanity units)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
top=$repo/.cache/ansible-test
venv=$top/venv
coll=$top/ansible_collections/unitchannels/deploy
reqs=scripts/ansible-test-requirements.txt
pyver=3.11

die() { echo "ansible-test.sh: $*" >&2; exit 1; }

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(sanity units)
for s in "${steps[@]}"; do
  case $s in sanity|units) ;; *) die "unknown step '$s' (use: sanity, units)" ;; esac
done

# --- the toolchain ---------------------------------------------------------------------------------
command -v git >/dev/null || die "git is missing (it lists the files to test)"
python=$(command -v "python$pyver" || true)
[ -n "$python" ] || die "python$pyver is missing (ansible-test runs the sanity tests with Python $pyver)"
want_core=$(grep -E '^ansible-core==' requirements-dev.txt || true)
grep -qxF "$want_core" "$reqs" \
  || die "$reqs must pin the same ansible-core as requirements-dev.txt ($want_core)"

stamp=$venv/.requirements.sha256
want=$(sha256sum "$reqs" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> Installing ansible-test's toolchain into $venv ($reqs)"
  rm -rf "$venv"
  "$python" -m venv "$venv" || die "$python -m venv failed (is python$pyver-venv installed?)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --progress-bar off -r "$reqs" \
    || die "pip could not install $reqs (PyPI must be reachable the first time)"
  echo "$want" >"$stamp"
else
  echo "==> Reusing $venv ($reqs unchanged)"
fi
export PATH=$venv/bin:$PATH

# --- pip bootstrap of the sanity virtualenvs --------------------------------------------------------
# ansible-test creates each sanity virtualenv without pip and runs get-pip-<version>.py from
# ~/.ansible/test/cache/ (downloaded from its CI file server when missing). Offline, a stand-in
# placed there runs the same pip release from its wheel, downloaded once from PyPI.
pip_version=$("$venv/bin/python" -c '
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="'"$pyver"'"))["pip"])')
get_pip=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
wheels=$top/wheels
if [ ! -f "$get_pip" ]; then
  wheel=$(ls "$wheels"/pip-"$pip_version"-py3-none-any.whl 2>/dev/null || true)
  if [ -z "$wheel" ]; then
    echo "==> Downloading pip $pip_version from PyPI (bootstrap of ansible-test's sanity virtualenvs)"
    "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      -d "$wheels" "pip==$pip_version" || die "pip $pip_version could not be downloaded from PyPI"
    wheel=$wheels/pip-$pip_version-py3-none-any.whl
  fi
  echo "==> Writing the pip $pip_version bootstrap for ansible-test: $get_pip"
  mkdir -p "$(dirname "$get_pip")"
  cat >"$get_pip.tmp" <<EOF
"""Stand-in for get-pip.py ($pip_version), written by unitchannels.deploy's scripts/ansible-test.sh.

Installs pip $pip_version from its wheel (downloaded from PyPI) into the running interpreter; takes
get-pip's arguments (pip install arguments plus --no-setuptools / --no-wheel).
"""
import sys

WHEEL = '$wheel'
sys.path.insert(0, WHEEL)
from pip._internal.cli.main import main  # noqa: E402

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
sys.exit(main(['install', '--upgrade', '--force-reinstall', '--no-index', '--find-links', '$(dirname "$wheel")'] + args))
EOF
  mv "$get_pip.tmp" "$get_pip"
fi

# --- the collection as installed --------------------------------------------------------------------
# Tracked files plus new ones not ignored by .gitignore (so __pycache__, .cache, tests/output stay
# out), copied afresh. The copy gets a git repository of its own (nothing committed): ansible-test
# lists the files of a collection with git, and would otherwise find this checkout's .git, to which
# everything under .cache/ is ignored, and test nothing.
echo "==> Laying out $coll"
rm -rf "$top/ansible_collections"
mkdir -p "$coll"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do
      if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
    done \
  | tar --null --no-recursion -T - -cf - | tar -xf - -C "$coll"
git -C "$coll" init --quiet

cd "$coll"
for s in "${steps[@]}"; do
  case $s in
    sanity)
      [ -f changelogs/config.yaml ] \
        || echo "==> note: changelogs/config.yaml is missing; the changelog sanity test will fail" >&2
      echo "==> ansible-test sanity --python $pyver (a virtualenv per test, built from PyPI when missing)"
      ansible-test sanity --python "$pyver" --color no \
        || die "ansible-test sanity failed (see above; ignores: tests/sanity/ignore-2.19.txt)"
      ;;
    units)
      echo "==> ansible-test units --python $pyver"
      ansible-test units --python "$pyver" --color no \
        || die "ansible-test units failed (see above)"
      ;;
  esac
done
echo "==> ansible-test: ${steps[*]} passed"
