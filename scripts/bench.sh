#!/usr/bin/env bash
# The benchmark command. As root: brings up the single-host lab if none is
# up, runs docker-ovn side by side with the Python ovn-docker-overlay-driver
# (Debian package ovn-docker, installed here if missing) and writes the
# table into docs/benchmarks.md. Takes the lab down again on exit, but only
# if this script brought it up; removes what the benchmark made in any case.
#
#   sudo scripts/bench.sh [docker-ovn-bench arguments...]   # --help lists them
#
# It takes about 40 to 50 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib.sh
as_root_with_lab scripts/bench.sh
# The comparison driver and what it imports.
if ! dpkg -s ovn-docker python3-flask >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y ovn-docker python3-flask
fi
cargo build --release --locked -p docker-ovn -p docker-ovn-lab -p docker-ovn-bench
lab=target/release/docker-ovn-lab
bench=target/release/docker-ovn-bench

# The lab directory (with lab.env) exists exactly while a lab is there.
brought_up=
if [ ! -e "$DOCKER_OVN_LAB_DIR/lab.env" ]; then
    brought_up=yes
fi
cleanup() {
    "$bench" --sweep || echo "scripts/bench.sh: the sweep failed; see above" >&2
    if [ -n "$brought_up" ]; then
        "$lab" down --dir "$DOCKER_OVN_LAB_DIR"
    fi
}
trap cleanup EXIT
"$lab" up --dir "$DOCKER_OVN_LAB_DIR"

"$bench" --out docs/benchmarks.md "$@"
