#!/usr/bin/env bash
# Build the base image of every platform in MOLECULE_DISTROS, unless the user points the
# scenarios at images of their own (MOLECULE_IMAGE_DEBIAN12=..., e.g. a public image in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
for distro in ${MOLECULE_DISTROS:-debian12 debian13}; do
  override_var="MOLECULE_IMAGE_${distro^^}"
  if [ -n "${!override_var:-}" ]; then
    echo "==> $distro: using ${!override_var} ($override_var)"
    continue
  fi
  images/build-image.sh "$distro"
done
