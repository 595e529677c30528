#!/usr/bin/env bash
# Multi-host integration tests of gorun against real servers: brings up
# three hosts (h1..h3, network namespaces with sshd) and a Slurm cluster on
# them with ../shared/testhosts (which installs the Debian packages it
# needs), runs the tests of launcher/integration with deadlines, and tears
# everything down. Needs root. Takes about 2 minutes.
#
#   bash scripts/integration-hosts.sh [go test flags, e.g. -run SSH]
set -u
cd "$(dirname "$0")/.."
T=${GORUN_TESTHOSTS_DIR:-$(cd .. && pwd)/shared/testhosts}
if [ ! -f "$T/netns-hosts.sh" ]; then
	echo "integration-hosts: $T/netns-hosts.sh not found (set GORUN_TESTHOSTS_DIR)" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "integration-hosts: must run as root (network namespaces, sshd, slurmd)" >&2
	exit 1
fi
T=$(cd "$T" && pwd)

down() {
	# Slurm first: its slurmds live in the hosts' namespaces.
	timeout 60 bash "$T/slurm-local.sh" down >/dev/null 2>&1
	timeout 60 bash "$T/netns-hosts.sh" down >/dev/null 2>&1
}
trap down EXIT

start=$(date +%s)
slurm=0
if timeout 180 bash "$T/slurm-local.sh" up netns; then
	slurm=1
else
	echo "integration-hosts: the Slurm cluster did not come up; Slurm tests will be skipped" >&2
	timeout 60 bash "$T/netns-hosts.sh" up || { echo "integration-hosts: the netns hosts did not come up" >&2; exit 1; }
fi
echo "integration-hosts: hosts up after $(($(date +%s) - start))s"

GORUN_TESTHOSTS=1 GORUN_TESTHOSTS_DIR="$T" GORUN_TESTHOSTS_SLURM=$slurm \
	timeout 270 go test -count=1 -timeout 250s -v "$@" ./launcher/integration/ 2>&1 |
	grep -v '^=== \(RUN\|PAUSE\|CONT\)'
rc=${PIPESTATUS[0]}
echo "integration-hosts: done in $(($(date +%s) - start))s, exit $rc"
exit "$rc"
