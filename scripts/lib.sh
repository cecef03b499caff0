# Sourced by the scripts in this directory.

# as_root_with_lab SCRIPT: exits unless root (the lab starts OVS, OVN and
# dockerd), and exports DOCKER_OVN_LAB_DIR (default /var/run/docker-ovn-lab)
# so that the tests and the benchmark find the lab.
as_root_with_lab() {
    if [ "$(id -u)" != 0 ]; then
        echo "$1: run as root (the lab starts OVS, OVN and dockerd)" >&2
        exit 1
    fi
    export DOCKER_OVN_LAB_DIR="${DOCKER_OVN_LAB_DIR:-/var/run/docker-ovn-lab}"
}
