#!/usr/bin/env bash
# CI's check of the Debian package, as root: builds it, installs it with
# dpkg -i, then checks what it installed: `docker-ovn --version`, the
# manual page through man-db (`man -w`), the completions, and the systemd
# unit with `systemd-analyze verify`. Removes the package again on exit
# unless it was installed before.
set -euo pipefail
cd "$(dirname "$0")/.."

deb=$(scripts/build-deb.sh | tail -n 1)
if ! dpkg-query -W -f='${Status}' docker-ovn 2>/dev/null | grep -q "install ok installed"; then
    trap 'dpkg -r docker-ovn >/dev/null' EXIT
fi
dpkg -i "$deb"
echo "check-deb: $(dpkg-deb -f "$deb" Package Version Architecture | tr '\n' ' ')"
version=$(/usr/bin/docker-ovn --version)
[ "$version" = "docker-ovn $(dpkg-deb -f "$deb" Version)" ] || {
    echo "check-deb: /usr/bin/docker-ovn --version says $version" >&2; exit 1; }
page=$(man -w docker-ovn)
[ "$page" = /usr/share/man/man1/docker-ovn.1.gz ] || {
    echo "check-deb: man -w docker-ovn found $page" >&2; exit 1; }
man -w docker-ovn-serve >/dev/null
[ -s /usr/share/bash-completion/completions/docker-ovn ]
systemd-analyze verify /lib/systemd/system/docker-ovn.service
echo "check-deb: $deb installed; --version, man -w, completions and systemd-analyze verify all pass"
