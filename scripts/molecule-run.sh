#!/usr/bin/env bash
# Run one molecule scenario over the platforms in MOLECULE_DISTROS, with the environment the
# scenarios read: the local apt repository of Unit packages and an extra CA bundle for pip.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:?usage: molecule-run.sh SCENARIO}
[ -d "molecule/$scenario" ] || { echo "molecule-run: no scenario molecule/$scenario" >&2; exit 2; }

# The repositories make unit-repo built (scripts/unit_repo.py says what each holds): Unit 1.34.2,
# the newer 1.35.0 (the Debian 13 hosts, the upgrade), and the stand-in the user scenario always
# runs on.
export UNIT_REPO_DIR=${UNIT_REPO_DIR:-$PWD/.cache/unit-repo}
export UNIT_NEXT_REPO_DIR=${UNIT_NEXT_REPO_DIR:-$PWD/.cache/unit-repo-next}
export UNIT_STANDIN_REPO_DIR=${UNIT_STANDIN_REPO_DIR:-$PWD/.cache/unit-repo-standin}
for repo in "$UNIT_REPO_DIR" "$UNIT_NEXT_REPO_DIR" "$UNIT_STANDIN_REPO_DIR"; do
  [ -f "$repo/SOURCE" ] || { echo "molecule-run: no apt repository at $repo (run: make unit-repo)" >&2; exit 1; }
done
# The repositories are signed by a test key (scripts/unit_repo.py): the roles check its
# fingerprint and trust it as they would a user's repository.
key_fingerprint=$PWD/.cache/unit-repo-key/fingerprint
[ -s "$key_fingerprint" ] || { echo "molecule-run: no signing key at $key_fingerprint (run: make unit-repo)" >&2; exit 1; }
UNIT_REPO_KEY_FINGERPRINT=$(cat "$key_fingerprint")
export UNIT_REPO_KEY_FINGERPRINT
# Sites behind a TLS-inspecting proxy need their CA inside the containers for pip; default to
# the controller's own bundle so the containers trust what this machine trusts.
export MOLECULE_EXTRA_CA_FILE=${MOLECULE_EXTRA_CA_FILE:-/etc/ssl/certs/ca-certificates.crt}

# Narrow the run to MOLECULE_DISTROS when the scenario's platforms are named after distros
# (unit, default); scenarios with platforms of their own (multihost, reliability) run whole.
read -r -a distros <<<"${MOLECULE_DISTROS:-debian12 debian13}"
config=molecule/$scenario/molecule.yml
args=()
platforms="the scenario's own"
if grep -qE '^ *- name: debian1[0-9]+$' "$config"; then
  platforms="${distros[*]}"
  if [ "${#distros[@]}" -eq 1 ]; then
    args=(--platform-name "${distros[0]}")
  fi
fi
start=$(date +%s)
echo "==> molecule test -s $scenario (platforms: $platforms)"
# Which NGINX Unit the scenario installs: the repositories its platforms mount.
grep -oE 'UNIT_[A-Z_]*REPO_DIR' "$config" | sort -u | while read -r var; do
  echo "    $var: $(cat "${!var}/SOURCE")"
done
log=.cache/molecule-$scenario.log
# Plays a scenario runs itself (the user scenario's project) write their output here.
plays_log=.cache/molecule-$scenario-plays.log
mkdir -p .cache
rm -f "$plays_log"
rc=0
molecule test -s "$scenario" "${args[@]}" 2>&1 | tee "$log" || rc=$?
# The scenarios' secrets start with "molecule-" and must never reach the play output (no_log).
logs=("$log")
[ -f "$plays_log" ] && logs+=("$plays_log")
if [ $rc = 0 ] && grep -nE 'molecule-(test-secret|redis-pw|admin-pw|db-pw)-' "${logs[@]}" >/dev/null; then
  echo "molecule-run: a secret of the scenario appears in the play output (${logs[*]}):" >&2
  grep -nE 'molecule-(test-secret|redis-pw|admin-pw|db-pw)-' "${logs[@]}" | cut -c1-200 >&2
  rc=1
fi
# CI shows the end of the output: name the task that failed there, not only molecule's action.
if [ $rc != 0 ]; then
  python3 scripts/failed_tasks.py --max-lines 20 "$log" || true
fi
echo "==> molecule scenario $scenario: $([ $rc = 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - start ))s"
exit $rc
