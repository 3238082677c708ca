#!/usr/bin/env bash
# make demo / make demo-down: the chat app in a local Debian 12 container, deployed by site.yml.
set -euo pipefail
cd "$(dirname "$0")/.."
name=unitchannels-demo
port=${DEMO_PORT:-8000}
https_port=${DEMO_HTTPS_PORT:-8443}
image=${MOLECULE_IMAGE_DEBIAN12:-unitchannels-systemd:debian12}

if [ "${1:-up}" = down ]; then
  docker rm -f "$name" >/dev/null 2>&1 && echo "==> Demo container removed" || echo "==> No demo container"
  exit 0
fi

if curl -fsS --max-time 5 -o /dev/null https://packages.nginx.org/unit/; then
  source=official
  echo "==> NGINX Unit: official packages from packages.nginx.org"
else
  source=custom
  # make unit-repo wrote what the local repository holds (real packages or the stand-in).
  echo "==> NGINX Unit: packages.nginx.org cannot be reached; using the local repository:"
  echo "    $(cat .cache/unit-repo/SOURCE)"
fi

if [ -z "$(docker ps -q -f name="^$name\$")" ]; then
  docker rm -f "$name" >/dev/null 2>&1 || true
  echo "==> Starting the demo container $name ($image), ports 80 and 443 published on 127.0.0.1:$port and :$https_port"
  docker run -d --name "$name" --hostname "$name" \
    --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    -v /sys/fs/cgroup:/sys/fs/cgroup:ro --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
    -v "$PWD/.cache/unit-repo:/srv/unit-repo:ro" -p "127.0.0.1:$port:80" -p "127.0.0.1:$https_port:443" \
    "$image" /lib/systemd/systemd >/dev/null
  docker exec "$name" systemctl is-system-running --wait >/dev/null || true
fi

# A secret key made once for this checkout's demo (never committed).
mkdir -p .cache
[ -s .cache/demo-vars.yml ] || python3 -c 'import secrets; print("channels_app_secret_key: " + secrets.token_urlsafe(50))' >.cache/demo-vars.yml
chmod 600 .cache/demo-vars.yml

echo "==> ansible-playbook site.yml -i inventory/demo"
# HTTPS too, with a certificate made on the host (self-signed: the browser warns once), and
# plain HTTP kept serving (no redirect) so the first URL works without accepting it.
https_vars=$(printf '{"channels_app_tls": "selfsigned", "channels_app_tls_redirect": false, "channels_app_csrf_trusted_origins": ["https://127.0.0.1:%s", "https://localhost:%s"]}' "$https_port" "$https_port")
ansible-playbook site.yml -i inventory/demo/hosts.yml -e "unit_source=$source" -e @.cache/demo-vars.yml \
  -e "channels_app_pip_ca_file=${MOLECULE_EXTRA_CA_FILE:-/etc/ssl/certs/ca-certificates.crt}" -e "$https_vars" | tee .cache/demo.log
changed=$(sed -n 's/.*unitchannels-demo *: .*changed=\([0-9]*\).*/\1/p' .cache/demo.log | tail -1)
if [ "$changed" = 0 ]; then
  echo "==> Nothing changed: the demo was already deployed and up to date"
else
  echo "==> $changed change(s) made"
fi

# Say what was installed, not what was guessed: unitd names itself (the stand-in says so too).
installed=$(docker exec "$name" unitd --version 2>&1 | grep -v '^configured as' | paste -sd ' ' -)
cat <<MSG

==> The chat is served by NGINX Unit ("unitd --version": ${installed:-no answer}) at:
      http://127.0.0.1:$port/chat/
      https://127.0.0.1:$https_port/chat/   (self-signed certificate: accept it once)
    Open a room in two browser tabs and type in one. Tear down with: make demo-down
MSG
