#!/usr/bin/env bash
# Runs as root inside each VM (Vagrant's shell provisioner):
#
#   provision.sh central --listen-ip IP
#   provision.sh host --central-ip IP --encap-ip IP --system-id NAME [--demo]
#
# Installs the docker-ovn binary, then hands over to `docker-ovn lab
# provision`, which installs the Debian packages and starts everything:
# the same steps `docker-ovn lab up` runs on one machine. Safe to repeat
# (`vagrant provision`).
set -euo pipefail

repo=/docker-ovn
bin=/usr/local/bin/docker-ovn

if [ -x "$repo/vagrant/docker-ovn" ]; then
    # A binary built on the host (`cp target/release/docker-ovn vagrant/`):
    # Debian 12 there and here, so the same glibc.
    install -m 0755 "$repo/vagrant/docker-ovn" "$bin"
elif command -v cargo >/dev/null 2>&1; then
    # A box with a Rust toolchain (1.89 or newer; Debian 12's own is too old).
    (cd "$repo" && cargo build --release --locked -p docker-ovn)
    install -m 0755 "$repo/target/release/docker-ovn" "$bin"
else
    echo "provision.sh: no docker-ovn binary: on the host, run" >&2
    echo "  cargo build --release -p docker-ovn && cp target/release/docker-ovn vagrant/" >&2
    echo "then \`vagrant provision\` (or use a box with Rust >= 1.89)" >&2
    exit 1
fi

exec "$bin" lab provision "$@"
