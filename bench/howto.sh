#!/usr/bin/env bash
# The baseline of `make bench` (fresh_ratio): NGINX Unit's Django Channels howto
# (https://unit.nginx.org/howto/djangochannels/) as a bare script, run inside a fresh container.
# It does what site.yml does on a fresh host, with the same packages from the same repository
# and the same pip packages from the same index, and nothing more: no checks, no idempotence,
# no secrets handling, no releases.
#
# bench.py copies this directory to /root/howto with: project/ (the demo app), ca.crt (the pip
# CA bundle), unit.json (the configuration to upload).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
app=/srv/howto
export DEBIAN_FRONTEND=noninteractive

# Redis in an unprivileged container needs the same drop-in as the redis role writes.
mkdir -p /etc/systemd/system/redis-server.service.d
printf '[Service]\nPrivateUsers=false\n' >/etc/systemd/system/redis-server.service.d/container.conf

# 1. Install Unit and its Python module (the local repository; the official one elsewhere),
#    Redis for the channel layer, and venv for the virtualenv.
# shellcheck source=/dev/null
. /etc/os-release
# Signed as the official repository is (its key beside it, as the howto fetches NGINX's key).
echo "deb [signed-by=/srv/unit-repo/key.asc] file:/srv/unit-repo $VERSION_CODENAME unit" >/etc/apt/sources.list.d/unit.list
apt-get update -q
# curl too: the howto uploads the configuration with it (the unit package does not depend on it).
apt-get install -y -q unit unit-python3.11 redis-server python3.11-venv curl
systemctl enable --now unit.service

# 2. The virtualenv, with channels and the rest of the app's requirements.
mkdir -p "$app"
python3.11 -m venv "$app/venv"
"$app/venv/bin/pip" install -q --cert "$here/ca.crt" \
  -r "$here/project/requirements.txt" -c "$here/project/constraints.txt"

# 3. The project in place: code, database, static files; then give it to Unit's user.
cp -a "$here/project" "$app/src"
export DJANGO_SECRET_KEY=howto-bench-secret-not-used-elsewhere CHANNEL_LAYER=redis
"$app/venv/bin/python" "$app/src/manage.py" migrate --noinput -v 0
"$app/venv/bin/python" "$app/src/manage.py" collectstatic --noinput -v 0
chown -R unit:unit "$app"

# 4. Upload the configuration to the control socket; then the chat page must answer.
curl -fsS -X PUT --data-binary @"$here/unit.json" --unix-socket /var/run/control.unit.sock \
  http://localhost/config/
curl -fsS -o /dev/null -H 'Host: localhost' http://127.0.0.1/chat/
