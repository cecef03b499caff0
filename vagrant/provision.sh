#!/usr/bin/env bash
# Runs as root inside each VM (Vagrant's shell provisioner):
#
#   provision.sh central --listen-ip IP
#   provision.sh host --central-ip IP --encap-ip IP --system-id NAME [--demo]
#
# Installs the docker-ovn and docker-ovn-lab binaries side by side, then
# hands over to `docker-ovn-lab provision`, which installs the Debian
# packages and starts everything: the same steps `docker-ovn-lab up` runs
# on one machine. Safe to repeat (`vagrant provision`).
set -euo pipefail

repo=/docker-ovn
bin=/usr/local/bin
programs=(docker-ovn docker-ovn-lab)

if [ -x "$repo/vagrant/docker-ovn" ] && [ -x "$repo/vagrant/docker-ovn-lab" ]; then
    # Binaries built on the host (`cp target/release/docker-ovn{,-lab} vagrant/`):
    # Debian 12 there and here, so the same glibc.
    for program in "${programs[@]}"; do install -m 0755 "$repo/vagrant/$program" "$bin/"; done
elif command -v cargo >/dev/null 2>&1; then
    # A box with a Rust toolchain (1.89 or newer; Debian 12's own is too old).
    (cd "$repo" && cargo build --release --locked -p docker-ovn -p docker-ovn-lab)
    for program in "${programs[@]}"; do install -m 0755 "$repo/target/release/$program" "$bin/"; done
else
    echo "provision.sh: no docker-ovn binaries: on the host, run" >&2
    echo "  cargo build --release && cp target/release/docker-ovn target/release/docker-ovn-lab vagrant/" >&2
    echo "then \`vagrant provision\` (or use a box with Rust >= 1.89)" >&2
    exit 1
fi

exec "$bin/docker-ovn-lab" provision "$@"
