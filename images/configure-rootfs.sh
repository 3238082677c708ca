#!/usr/bin/env bash
# Container adjustments to a fresh debootstrap tree: the same ones the public
# "systemd + ansible" images make, so tests behave as they would there.
set -euo pipefail
root=$1 suite=$2 mirror=$3

cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror $suite main
deb $mirror $suite-updates main
SRC
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  >"$root/etc/apt/apt.conf.d/90-no-recommends"

# Units that make no sense (or hang) in a container.
for unit in getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
            systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount \
            systemd-remount-fs.service systemd-firstboot.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

echo "unitchannels-test" >"$root/etc/hostname"
: >"$root/etc/machine-id"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
       "$root"/usr/share/man/* "$root"/usr/share/locale/*
# The package lists are gone: date their directory in the past, so that apt's "cache_valid_time"
# sees them as stale (as in any published image) and refreshes them before the first install.
touch -d @0 "$root/var/lib/apt/lists"
