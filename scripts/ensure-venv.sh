#!/usr/bin/env bash
# Create or reuse .venv with the pinned toolchain, make the collections of requirements.yml
# available, and link this repository in as the collection unitchannels.deploy.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp=$venv/.requirements.sha256
want=$(sha256sum <requirements-dev.txt | cut -d' ' -f1)

if [ ! -x "$venv/bin/python" ]; then
  echo "==> Creating the virtualenv $venv"
  python3 -m venv "$venv" || { echo "ensure-venv: python3 -m venv failed (is python3-venv installed?)" >&2; exit 1; }
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> Installing the pinned toolchain into $venv (requirements-dev.txt, 1-3 minutes the first time)"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet --progress-bar off -r requirements-dev.txt
  echo "$want" >"$stamp"
else
  echo "==> Reusing $venv (requirements-dev.txt unchanged)"
fi

# Collections: Galaxy first (it answers "nothing to do" when the copies that the pinned `ansible`
# package carries already satisfy requirements.yml); when Galaxy cannot be reached, check that
# those copies are there instead.
mkdir -p .ansible/collections/ansible_collections/unitchannels
if ! "$venv/bin/ansible-galaxy" collection install -r requirements.yml -p .ansible/collections --timeout 20 >.ansible/galaxy.log 2>&1; then
  echo "==> Ansible Galaxy cannot be reached ($(grep -m1 -iE 'error|unable' .ansible/galaxy.log || echo 'see .ansible/galaxy.log')); using the collections bundled with the ansible package"
  for c in ansible.posix community.general community.postgresql community.docker; do
    "$venv/bin/ansible-galaxy" collection list "$c" >/dev/null 2>&1 \
      || { echo "ensure-venv: collection $c is neither installable from Galaxy nor bundled with ansible" >&2; exit 1; }
  done
fi
ln -sfn ../../../.. .ansible/collections/ansible_collections/unitchannels/deploy
