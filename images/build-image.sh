#!/usr/bin/env bash
# Build a systemd-capable Debian base image for the molecule scenarios with
# debootstrap + docker import (no registry can be reached here). The image is
# labelled with a hash of its recipe and rebuilt only when that hash changes.
#
#   images/build-image.sh debian12|debian13
#
# Environment:
#   DEBIAN_MIRROR   mirror for debootstrap (default: http://deb.debian.org/debian)
#   IMAGE_PREFIX    image name prefix (default: unitchannels-systemd)
set -euo pipefail

distro=${1:?usage: build-image.sh debian12|debian13}
case "$distro" in
  debian12) suite=bookworm ;;
  debian13) suite=trixie ;;
  *) echo "build-image: unknown distro '$distro' (known: debian12, debian13)" >&2; exit 2 ;;
esac

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
image="${IMAGE_PREFIX:-unitchannels-systemd}:${distro}"
# What a container needs to boot systemd and be driven by Ansible; nothing of the stack under test.
packages=systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,procps,iproute2,gnupg,sudo

here=$(cd "$(dirname "$0")" && pwd)
recipe=$( { cat "$0" "$here/configure-rootfs.sh"; echo "$suite $mirror $packages"; } | sha256sum | cut -c1-16)

if [ "$(docker image inspect -f '{{ index .Config.Labels "unitchannels.recipe" }}' "$image" 2>/dev/null || true)" = "$recipe" ]; then
  echo "==> $image is up to date (recipe $recipe)"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "==> Installing debootstrap (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
    || { echo "build-image: debootstrap is missing and could not be installed" >&2; exit 1; }
fi

root=$(mktemp -d /var/tmp/unitchannels-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
start=$(date +%s)
echo "==> Building $image: debootstrap $suite from $mirror (about 1-2 minutes)"
# debootstrap prints one line per step; keep them as progress.
if ! debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" \
     | grep --line-buffered -E '^I: (Retrieving|Validating|Extracting|Installing|Configuring|Base system)' \
     | awk '{ n++; if (n % 25 == 1 || /Base system/) { print "    " $0; fflush() } }'; then
  echo "build-image: debootstrap of $suite from $mirror failed" >&2
  exit 1
fi
[ -x "$root/lib/systemd/systemd" ] || { echo "build-image: debootstrap left no systemd in the image" >&2; exit 1; }

# Container tweaks: no getty, no udev triggers, apt without recommends, clean caches.
"$here/configure-rootfs.sh" "$root" "$suite" "$mirror"

echo "==> Importing $image into docker"
tar -C "$root" -c . | docker import \
  --change 'CMD ["/lib/systemd/systemd"]' \
  --change 'ENV container=docker' \
  --change "LABEL unitchannels.recipe=$recipe" \
  - "$image" >/dev/null
echo "==> Built $image in $(( $(date +%s) - start ))s"
