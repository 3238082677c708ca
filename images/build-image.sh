#!/usr/bin/env bash
# Build a systemd-capable Debian base image for the molecule scenarios with
# debootstrap + docker import (no registry can be reached here). The image is
# labelled with a hash of its recipe and rebuilt only when that hash changes.
#
#   images/build-image.sh debian12|debian13
#   images/build-image.sh --print-mirror     # the Debian archive URI it would use, and exit
#
# Environment:
#   DEBIAN_MIRROR   Debian archive URI for debootstrap (default: the first http(s) URI of a Debian
#                   main archive entry in this host's own apt sources, see host_debian_mirror)
#   IMAGE_PREFIX    image name prefix (default: unitchannels-systemd)
#   APT_ETC         apt configuration directory to read the sources from (default: /etc/apt)
set -euo pipefail

# Print the first http(s) URI of a Debian archive entry (type deb, a Debian suite such as bookworm,
# trixie or stable, or its -updates / -backports; not -security) in the host's apt sources, in
# apt's order: sources.list, then sources.list.d/*.list and *.sources by name. Both formats:
# one-line "deb [opts] URI SUITE COMPONENT..." and deb822 stanzas (Types:, URIs:, Suites:,
# Enabled:). Prints nothing when there is none.
host_debian_mirror() {
  local etc=${APT_ETC:-/etc/apt} codename="" f files=()
  # The host's own codename counts as a Debian suite when the host is Debian (a newer release
  # than the names below).
  if [ -r /etc/os-release ]; then
    # shellcheck source=/dev/null
    codename=$(. /etc/os-release; if [ "${ID:-}" = debian ]; then echo "${VERSION_CODENAME:-}"; fi)
  fi
  [ -f "$etc/sources.list" ] && files+=("$etc/sources.list")
  for f in "$etc"/sources.list.d/*; do
    case "$f" in *.list|*.sources) [ -f "$f" ] && files+=("$f") ;; esac
  done
  [ ${#files[@]} -gt 0 ] || return 0
  awk -v codename="$codename" '
    function debian_suite(s) {
      if (s ~ /-security$/) return 0
      sub(/-(updates|backports|proposed-updates)$/, "", s)
      return s ~ /^(buster|bullseye|bookworm|trixie|forky|duke|sid|oldoldstable|oldstable|stable|testing|unstable)$/ \
             || (codename != "" && s == codename)
    }
    function pick(uris, suites,   n, u, m, s, i, j) {
      n = split(uris, u, /[ \t]+/); m = split(suites, s, /[ \t]+/)
      for (i = 1; i <= n; i++) {
        if (u[i] !~ /^https?:\/\// || u[i] ~ /debian-security/) continue
        for (j = 1; j <= m; j++) if (debian_suite(s[j])) { sub(/\/+$/, "", u[i]); print u[i]; found = 1; exit }
      }
    }
    function stanza_end() {
      if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no") pick(uris, suites)
      types = uris = suites = enabled = ""; field = ""
    }
    FNR == 1 { if (deb822) stanza_end(); deb822 = (FILENAME ~ /\.sources$/) }
    deb822 {
      if ($0 ~ /^[ \t]*$/) { stanza_end(); next }
      if ($0 ~ /^#/) next
      if ($0 ~ /^[ \t]/) { if (field == "uris") uris = uris " " $0; else if (field == "suites") suites = suites " " $0; next }
      key = tolower($0); sub(/:.*/, "", key); val = $0; sub(/^[^:]*:[ \t]*/, "", val); field = key
      if (key == "types") types = val; else if (key == "uris") uris = val
      else if (key == "suites") suites = val; else if (key == "enabled") enabled = val
      next
    }
    {
      line = $0; sub(/#.*/, "", line); gsub(/\[[^]]*\]/, " ", line)
      n = split(line, w, /[ \t]+/); k = (w[1] == "" ? 2 : 1)
      if (w[k] == "deb" && k + 2 <= n) pick(w[k + 1], w[k + 2])
    }
    END { if (deb822 && !found) stanza_end() }
  ' "${files[@]}"
}

distro=${1:?usage: build-image.sh debian12|debian13}
case "$distro" in
  --print-mirror) ;;
  debian12) suite=bookworm ;;
  debian13) suite=trixie ;;
  *) echo "build-image: unknown distro '$distro' (known: debian12, debian13)" >&2; exit 2 ;;
esac

# DEBIAN_MIRROR, else the host's Debian archive, else a clear error.
mirror=${DEBIAN_MIRROR:-$(host_debian_mirror)}
if [ -z "$mirror" ]; then
  echo "build-image: no Debian archive in this host's apt sources (${APT_ETC:-/etc/apt}/sources.list," \
       "sources.list.d/*.list, sources.list.d/*.sources: a \"deb\" entry with an http(s) URI and a Debian" \
       "suite such as bookworm); set DEBIAN_MIRROR to the URI of a Debian archive" >&2
  exit 1
fi
[ "$distro" != --print-mirror ] || { echo "$mirror"; exit 0; }

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
