#!/usr/bin/env bash
# Build the stand-in's NGINX Unit packages for the tests:
#
#   tests/standin/build-repo.sh OUTDIR [UNIT_VERSION]
#   -> OUTDIR/unit_*.deb, OUTDIR/unit-python3.X_*.deb
#
# scripts/unit_repo.py (make unit-repo) indexes them into apt repositories.
# The offline TEST STAND-IN is built from tests/standin (unit, unit-python3.11,
# unit-python3.13; Architecture: all) with dpkg-deb, as the Unit version
# UNIT_VERSION (1.34.2, the default, or 1.35.0: the version it reports and
# the request-body behaviour of that release); it is rebuilt only when its
# sources or the version change (content hash in OUTDIR/.standin-hash).
set -euo pipefail

out=${1:?usage: build-repo.sh OUTDIR [UNIT_VERSION]}
upstream=${2:-1.34.2}
here=$(cd "$(dirname "$0")" && pwd)
case "$upstream" in
  1.34.2) vernum=13402 ;;
  1.35.0) vernum=13500 ;;
  *) echo "build-repo: the stand-in can be built as Unit 1.34.2 or 1.35.0, not '$upstream'" >&2; exit 2 ;;
esac
version=$upstream-1~standin
pythons="3.11 3.13"

die() { echo "build-repo: $*" >&2; exit 1; }
command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb is needed (Debian package dpkg)"

mkdir -p "$out"
out=$(cd "$out" && pwd)

echo "==> NGINX Unit packages: offline TEST STAND-IN of Unit $upstream (scripts/unit_repo.py takes real packages)"

# Content hash of everything that ends up in the packages.
hash=$(cd "$here" && find build-repo.sh src debian README.md -type f \
         ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z \
       | xargs -0 sha256sum | { cat; echo "$version"; } | sha256sum | cut -c1-16)
if [ "$(cat "$out/.standin-hash" 2>/dev/null)" = "$hash" ] \
   && [ -f "$out/unit_${version}_all.deb" ]; then
  exit 0
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/unit-standin-build.XXXXXX")
trap 'rm -rf "$stage"' EXIT
rm -f "$out"/*.deb "$out/.standin-hash"

# Fixed timestamps: the same sources give the same packages.
epoch=${SOURCE_DATE_EPOCH:-$(cd "$here" && git log -1 --format=%ct 2>/dev/null || echo 1735689600)}
export SOURCE_DATE_EPOCH=$epoch

finish_pkg() {  # dir control-template name [short]
  local root=$1 template=$2 name=$3 short=${4:-}
  local size
  find "$root" -type d -exec chmod 0755 {} +
  size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  sed -e "s/@VERSION@/$version/g" -e "s/@UPSTREAM@/$upstream/g" -e "s/@SIZE@/$size/g" -e "s/@SHORT@/$short/g" \
      "$here/debian/$template" > "$root/DEBIAN/control"
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' \
     | LC_ALL=C sort | xargs -r md5sum > DEBIAN/md5sums)
  chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
  find "$root" -exec touch -h -d "@$epoch" {} +
  dpkg-deb --root-owner-group -Zxz --build "$root" "$out/${name}_${version}_all.deb" >/dev/null
}

# --- unit ---
u="$stage/unit"
install -d "$u/DEBIAN" "$u/usr/sbin" "$u/usr/lib/unit/standin/unitstandin" \
           "$u/usr/lib/unit/modules" "$u/usr/lib/unit/debug-modules" \
           "$u/lib/systemd/system" "$u/etc/logrotate.d" "$u/var/lib/unit" \
           "$u/usr/share/doc/unit"
install -m 0755 "$here/src/unitd" "$u/usr/sbin/unitd"
ln -s unitd "$u/usr/sbin/unitd-debug"
install -m 0644 "$here"/src/unitstandin/*.py "$u/usr/lib/unit/standin/unitstandin/"
# The Unit version this build plays (the sources default to 1.34.2).
sed -i -e "s/^VERSION = \"1\.34\.2\"\$/VERSION = \"$upstream\"/" -e "s/^VERNUM = 13402\$/VERNUM = $vernum/" \
  "$u/usr/lib/unit/standin/unitstandin/__init__.py"
if ! grep -qx "VERNUM = $vernum" "$u/usr/lib/unit/standin/unitstandin/__init__.py" \
   || ! grep -qx "VERSION = \"$upstream\"" "$u/usr/lib/unit/standin/unitstandin/__init__.py"; then
  die "could not set the version in unitstandin/__init__.py"
fi
install -m 0644 "$here/debian/unit.service" "$here/debian/unit-debug.service" \
                "$u/lib/systemd/system/"
install -m 0644 "$here/debian/unit.logrotate" "$u/etc/logrotate.d/unit"
install -m 0644 "$here/README.md" "$u/usr/share/doc/unit/README.standin.md"
install -m 0644 "$here/debian/copyright" "$u/usr/share/doc/unit/copyright"
for s in preinst postinst prerm postrm; do
  sed "s/@UPSTREAM@/$upstream/g" "$here/debian/unit.$s" > "$u/DEBIAN/$s"
  chmod 0755 "$u/DEBIAN/$s"
done
echo /etc/logrotate.d/unit > "$u/DEBIAN/conffiles"
chmod 0644 "$u/DEBIAN/conffiles"
finish_pkg "$u" unit.control unit

# --- unit-python3.X ---
for short in $pythons; do
  p="$stage/unit-python$short"
  ex="$p/usr/share/doc/unit-python$short/examples"
  install -d "$p/DEBIAN" "$p/usr/lib/unit/modules" "$p/usr/lib/unit/debug-modules" \
             "$ex/python-app"
  for d in modules debug-modules; do
    printf '%s\n' "# NGINX Unit TEST STAND-IN module marker (not a shared object)." \
                  "# unitd runs Python $short applications with this interpreter" \
                  "# (or with <home>/bin/python$short when the app sets \"home\")." \
                  "interpreter=/usr/bin/python$short" > "$p/usr/lib/unit/$d/python$short.unit.so"
    chmod 0644 "$p/usr/lib/unit/$d/python$short.unit.so"
  done
  sed "s/@SHORT@/$short/g" "$here/debian/unit-python.example.config" > "$ex/unit.config"
  install -m 0644 "$here/debian/unit-python.example-app.py" "$ex/python-app/wsgi.py"
  chmod 0644 "$ex/unit.config"
  install -m 0644 "$here/debian/copyright" "$p/usr/share/doc/unit-python$short/copyright"
  sed "s/@SHORT@/$short/g" "$here/debian/unit-python.preinst" > "$p/DEBIAN/preinst"
  chmod 0755 "$p/DEBIAN/preinst"
  finish_pkg "$p" unit-python.control "unit-python$short" "$short"
done

echo "$hash" > "$out/.standin-hash"
