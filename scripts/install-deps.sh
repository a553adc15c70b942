#!/usr/bin/env bash
# scripts/install-deps.sh — install everything needed to build, test and
# benchmark lsm_am on Debian 12 (bookworm).  Idempotent: packages already
# installed are left alone, and apt-get runs only when something is missing
# (set LSM_APT_UPDATE=1 to force `apt-get update`).
#
# Usage: scripts/install-deps.sh        (as root, or a user with sudo)
set -euo pipefail

PACKAGES=(
	build-essential          # gcc, make
	pkg-config
	postgresql-15            # server binaries: initdb, postgres, pg_ctl, psql
	postgresql-client-15
	postgresql-contrib       # pgbench (postgresql-15 ships it too on Debian 12)
	postgresql-server-dev-15 # PGXS, headers, pg_regress, pg_isolation_regress, TAP modules
	libzstd-dev              # segment compression
	libipc-run-perl          # TAP tests (PostgreSQL::Test::Cluster)
	perl
	ca-certificates
	procps                   # ps/pgrep, used by scripts
	util-linux               # runuser
)

if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ] && [ "${LSM_APT_UPDATE:-0}" != 1 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]:-(none missing; refreshing)}"
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	"${PACKAGES[@]}" </dev/null

# Debian creates and starts a default "main" cluster when postgresql-15 is
# installed.  lsm_am's scripts never use it (they make throwaway clusters),
# so it is left as it is.
pg_config --version
