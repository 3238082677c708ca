#!/usr/bin/env bash
# Build the base image of every platform in MOLECULE_DISTROS, unless the user points the
# scenarios at images of their own (MOLECULE_IMAGE_DEBIAN12=..., e.g. a public image in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
# debian12 always: the multihost and reliability scenarios run on it whatever the narrowing.
read -ra distros <<<"${MOLECULE_DISTROS:-debian13}"
for distro in $(printf "%s\n" debian12 "${distros[@]}" | sort -u); do
  override_var="MOLECULE_IMAGE_${distro^^}"
  if [ -n "${!override_var:-}" ]; then
    echo "==> $distro: using ${!override_var} ($override_var)"
    continue
  fi
  images/build-image.sh "$distro"
done
