#!/usr/bin/env bash
# Make sure a Docker engine answers. A running engine is left alone; otherwise
# dockerd (Debian's docker.io) is installed if missing and started in the background.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "ensure-docker: no Docker engine answers and starting one needs root." >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "==> Installing the Docker engine (Debian package docker.io)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if ! apt-get install -y -qq docker.io >/dev/null; then
    echo "ensure-docker: could not install docker.io with apt-get: no Docker engine." >&2
    exit 1
  fi
fi

log=/var/log/dockerd-harness.log
echo "==> Starting dockerd in the background (log: $log)"
nohup dockerd >"$log" 2>&1 &
for i in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "==> Docker engine answers after ${i}s"
    exit 0
  fi
  sleep 1
done
echo "ensure-docker: dockerd did not answer within 60s; last lines of $log:" >&2
tail -n 20 "$log" >&2
exit 1
