#!/usr/bin/env bash
# Builds the Debian package of the driver from the workspace:
# target/debian/docker-ovn_<version>_<arch>.deb, holding
#   /usr/bin/docker-ovn                          the driver (release build)
#   /lib/systemd/system/docker-ovn.service       its unit (not enabled)
#   /usr/share/man/man1/docker-ovn*.1.gz          a page per command, from the CLI itself
#   bash, zsh and fish completions
#   /usr/share/doc/docker-ovn/                   the README and copyright
# Needs only dpkg-deb (Debian's dpkg) and cargo; no network beyond the
# crate registry. Prints the package's path last.
#
#   scripts/build-deb.sh
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p docker-ovn
binary=target/release/docker-ovn
version=$("$binary" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
root=target/debian/docker-ovn_${version}_${arch}
rm -rf "$root"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" \
    "$root/usr/share/man/man1" "$root/usr/share/doc/docker-ovn" \
    "$root/usr/share/bash-completion/completions" \
    "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d"
install -m 0755 "$binary" "$root/usr/bin/docker-ovn"
strip --strip-debug "$root/usr/bin/docker-ovn"
install -m 0644 driver/packaging/docker-ovn.service "$root/lib/systemd/system/"

generated=$(mktemp -d)
trap 'rm -rf "$generated"' EXIT
"$binary" manual "$generated" >/dev/null
for page in "$generated"/man1/*.1; do
    gzip -9n -c "$page" > "$root/usr/share/man/man1/$(basename "$page").gz"
done
install -m 0644 "$generated/completions/docker-ovn.bash" \
    "$root/usr/share/bash-completion/completions/docker-ovn"
install -m 0644 "$generated/completions/_docker-ovn" "$root/usr/share/zsh/vendor-completions/"
install -m 0644 "$generated/completions/docker-ovn.fish" "$root/usr/share/fish/vendor_completions.d/"
install -m 0644 README.md "$root/usr/share/doc/docker-ovn/"
printf 'docker-ovn\nLicense: Apache-2.0\n' > "$root/usr/share/doc/docker-ovn/copyright"
chmod 0644 "$root/usr/share/doc/docker-ovn/copyright"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: docker-ovn
Version: ${version}
Architecture: ${arch}
Maintainer: docker-ovn developers <docker-ovn@example.invalid>
Installed-Size: ${size}
Depends: libc6, iptables
Recommends: openvswitch-switch, ovn-host, docker.io
Section: net
Priority: optional
Homepage: https://example.invalid/docker-ovn
Description: Docker network driver for Open vSwitch and OVN
 docker network create -d ovn puts containers on OVN logical switches
 (overlay, provider networks, nested containers in VMs); -d ovs on an
 Open vSwitch bridge the driver programs itself. Run it with
 systemctl enable --now docker-ovn (settings in /etc/default/docker-ovn).
CONTROL
# /lib/systemd/system files are not conffiles; nothing else is either.
dpkg-deb --root-owner-group --build "$root" "$root.deb" >/dev/null
echo "$root.deb"
