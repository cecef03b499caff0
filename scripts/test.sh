#!/usr/bin/env bash
# The project's test command. As root: brings up the lab with three hosts
# and the nested VM on host1
# (installing any missing Debian packages: OVS, OVN, Docker, busybox), runs
# every test of the workspace against it, and takes the lab down again on
# exit, but only if this script brought it up (a lab someone is using stays
# up; a smaller one grows to three hosts).
#
#   sudo scripts/test.sh [cargo test arguments...]
#
# DOCKER_OVN_LAB_DIR (default /var/run/docker-ovn-lab) is exported so that
# the end-to-end tests find the lab (its lab.env and sockets).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib.sh
as_root_with_lab scripts/test.sh
cargo build --release --locked -p docker-ovn -p docker-ovn-lab
lab=target/release/docker-ovn-lab

# The lab directory (with lab.env) exists exactly while a lab is there:
# one whose daemons are all gone (a restarted machine) is removed first.
"$lab" down --dir "$DOCKER_OVN_LAB_DIR" --if-stale
if [ ! -e "$DOCKER_OVN_LAB_DIR/lab.env" ]; then
    trap '"$lab" down --dir "$DOCKER_OVN_LAB_DIR"' EXIT
fi
# The multi-host tests need three hosts; `lab up` never shrinks a bigger lab.
hosts=3
if [ -e "$DOCKER_OVN_LAB_DIR/lab.env" ]; then
    running=$(sed -n 's/^HOSTS=//p' "$DOCKER_OVN_LAB_DIR/lab.env")
    if [ "${running:-1}" -gt "$hosts" ]; then hosts=$running; fi
fi
# --nested: the VM on host1 the nested-container tests use.
"$lab" up --dir "$DOCKER_OVN_LAB_DIR" --hosts "$hosts" --nested
# The fault tests kill and restart dockerd: only one the lab started.
if [ ! -e "$DOCKER_OVN_LAB_DIR/docker/dockerd.pid" ]; then
    echo "scripts/test.sh: this dockerd was running before the lab, which did not start it:" \
        "the fault tests that kill dockerd will fail; stop it and run again" >&2
fi

# --no-fail-fast: one failing test binary must not hide the others.
cargo test --workspace --locked --no-fail-fast "$@"
