#!/usr/bin/env bash
# Builds docker-ovn as two managed (v2) Docker plugins from one rootfs and
# creates them in the local dockerd, with no network and no registry:
#   docker-ovn   -d docker-ovn and --ipam-driver docker-ovn (OVN; serve --no-ovs)
#   docker-ovs   -d docker-ovs (the native OVS backend; serve --no-ovn)
# The rootfs holds the release binary, the libraries it links, and the
# host's iptables (nft or legacy, whichever `iptables` is here) with its
# extensions and libraries. The plugins are created disabled: set what
# differs from the defaults, then enable, e.g.
#   docker plugin set docker-ovn DOCKER_OVN_NB_DB=tcp:192.0.2.10:6641
#   docker plugin enable docker-ovn
# Settings (`docker plugin set NAME KEY=VALUE`, while disabled):
#   DOCKER_OVN_OVS_DB           the Open_vSwitch database (unix:/var/run/openvswitch/db.sock)
#   DOCKER_OVN_NB_DB            the Northbound database (default: external_ids:ovn-nb)
#   DOCKER_OVN_METRICS_LISTEN   metrics on a loopback address or unix path (off)
#   RUST_LOG                    the log level (info); logs go to dockerd's log
#   ovs-rundir.source           the host's OVS run directory (/var/run/openvswitch)
#   ovn-rundir.source           the host's OVN run directory (/var/run/ovn)
#
#   scripts/build-plugin.sh [--replace] [OVN_NAME [OVS_NAME]]
# --replace removes plugins of those names first (`docker plugin rm -f`).
set -euo pipefail
cd "$(dirname "$0")/.."

replace=false
if [ "${1:-}" = "--replace" ]; then replace=true; shift; fi
ovn_name=${1:-docker-ovn}
ovs_name=${2:-docker-ovs}

# DOCKER_OVN_BINARY: a driver binary already built (the tests' own).
binary=${DOCKER_OVN_BINARY:-}
if [ -z "$binary" ]; then
    cargo build --release --locked -p docker-ovn
    binary=target/release/docker-ovn
fi
out=target/plugin
rm -rf "$out"
rootfs=$out/ovn/rootfs
mkdir -p "$rootfs"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,tmp,run/docker/plugins,host/proc/sys}
# Merged /usr, as Debian has it: a library is found by either path.
for dir in bin sbin lib lib64; do ln -s "usr/$dir" "$rootfs/$dir"; done
mkdir -p "$rootfs"/var/run/{openvswitch,ovn}

# copy_libraries FILE...: every library those files link, at the same
# paths in the rootfs.
copy_libraries() {
    local file library
    for file in "$@"; do
        for library in $(ldd "$file" | awk '/=>/ { print $3 } /^\t\// { print $1 }'); do
            [ -e "$rootfs$library" ] || install -D "$library" "$rootfs$library"
        done
    done
}

install -m 0755 "$binary" "$rootfs/usr/bin/docker-ovn"
strip --strip-debug "$rootfs/usr/bin/docker-ovn"
copy_libraries "$binary"

# iptables: the same variant as the host's, so that the rules land in the
# tables dockerd and the host use.
iptables=$(command -v iptables || true)
if [ -z "$iptables" ]; then
    echo "build-plugin: iptables is not installed; published ports and gateways need it" >&2
    exit 1
fi
multi=$(readlink -f "$iptables")
install -D "$multi" "$rootfs$multi"
copy_libraries "$multi"
for tool in iptables iptables-save iptables-restore; do
    ln -sf "$multi" "$rootfs/usr/sbin/$tool"
done
# Where iptables looks for them (its build's XTABLES_LIBDIR).
extensions=$(readlink -f "$(dirname "$(ldd "$multi" | awk '/libxtables/ { print $3 }')")")/xtables
if [ -d "$extensions" ]; then
    install -d "$rootfs$extensions"
    cp "$extensions"/*.so "$rootfs$extensions/"
    copy_libraries "$extensions"/*.so
fi
for file in /etc/protocols /etc/services; do
    [ -e "$file" ] && cp "$file" "$rootfs$file"
done
lock_mount=""
case "$multi" in
    *legacy*)
        # iptables-legacy serialises on this file with dockerd's.
        touch /run/xtables.lock
        lock_mount=',
        {"name": "xtables-lock", "description": "iptables-legacy lock shared with the host",
         "source": "/run/xtables.lock", "destination": "/run/xtables.lock",
         "type": "bind", "options": ["bind", "rw"]}' ;;
esac

repository=$(sed -n 's/^repository = "\(.*\)"$/\1/p' Cargo.toml)

# config_json BACKEND_FLAGS SOCKET INTERFACES EXTRA_ENV EXTRA_MOUNTS DESCRIPTION
config_json() {
    cat <<EOF
{
  "description": "$6",
  "documentation": "$repository",
  "entrypoint": ["/usr/bin/docker-ovn", "serve", $1,
                 "--proc-sys", "/host/proc/sys"],
  "workdir": "/",
  "interface": {"types": [$3], "socket": "$2"},
  "network": {"type": "host"},
  "linux": {"capabilities": ["CAP_NET_ADMIN", "CAP_NET_RAW"]},
  "env": [
    {"name": "DOCKER_OVN_OVS_DB", "description": "the Open_vSwitch database",
     "settable": ["value"], "value": "unix:/var/run/openvswitch/db.sock"},
    {"name": "DOCKER_OVN_METRICS_LISTEN", "description": "metrics address (loopback TCP or unix path); off when unset",
     "settable": ["value"]},
    {"name": "RUST_LOG", "description": "log level", "settable": ["value"], "value": "info"}$4
  ],
  "mounts": [
    {"name": "ovs-rundir", "description": "the host's OVS run directory (db.sock, bridge sockets)",
     "settable": ["source"], "source": "/var/run/openvswitch",
     "destination": "/var/run/openvswitch", "type": "bind", "options": ["rbind", "rw"]},
    {"name": "proc-sys", "description": "the host's /proc/sys (the plugin's own is read-only)",
     "source": "/proc/sys", "destination": "/host/proc/sys",
     "type": "bind", "options": ["rbind", "rw"]}$5$lock_mount
  ]
}
EOF
}

config_json '"--no-ovs", "--socket", "/run/docker/plugins/ovn.sock"' ovn.sock \
    '"docker.networkdriver/1.0", "docker.ipamdriver/1.0"' ',
    {"name": "DOCKER_OVN_NB_DB", "description": "the OVN Northbound database; default: external_ids:ovn-nb",
     "settable": ["value"]}' ',
    {"name": "ovn-rundir", "description": "the host'"'"'s OVN run directory",
     "settable": ["source"], "source": "/var/run/ovn",
     "destination": "/var/run/ovn", "type": "bind", "options": ["rbind", "rw"]}' \
    "docker-ovn: containers on OVN logical switches, with the Northbound IPAM" \
    > "$out/ovn/config.json"
mkdir -p "$out/ovs"
cp -al "$rootfs" "$out/ovs/rootfs"
# Which backend each rootfs is for; two identical rootfs layers would also
# be one blob, which `docker plugin create` refuses for the second.
for backend in ovn ovs; do
    rm -f "$out/$backend/rootfs/etc/docker-ovn-backend"
    echo "$backend" > "$out/$backend/rootfs/etc/docker-ovn-backend"
done
config_json '"--no-ovn", "--ovs-socket", "/run/docker/plugins/ovs.sock"' ovs.sock \
    '"docker.networkdriver/1.0"' ',
    {"name": "DOCKER_OVN_OVS_BRIDGE", "description": "the bridge of -d ovs networks",
     "settable": ["value"], "value": "br-docker"}' '' \
    "docker-ovs: containers on an OVS bridge the driver programs itself (VXLAN, routing, VLAN)" \
    > "$out/ovs/config.json"

for pair in "$ovn_name:ovn" "$ovs_name:ovs"; do
    name=${pair%:*} dir=$out/${pair##*:}
    if docker plugin inspect "$name" >/dev/null 2>&1; then
        if ! $replace; then
            echo "build-plugin: plugin $name exists: remove it (docker plugin rm -f $name) or pass --replace" >&2
            exit 1
        fi
        docker plugin rm -f "$name" >/dev/null
    fi
    docker plugin create "$name" "$dir"
done
echo "build-plugin: created $ovn_name and $ovs_name (disabled): docker plugin enable $ovn_name"
