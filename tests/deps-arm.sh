#!/bin/sh
# `make deps-arm`: what `make test-arm` needs beyond `make deps` (Debian packages): the
# AArch64 cross compiler, qemu-user, and the arm64 builds of the libraries nbstage links
# (dpkg's arm64 architecture is added for them).  Idempotent, like tests/deps.sh.
set -e
PKGS="gcc-aarch64-linux-gnu qemu-user libzmq3-dev:arm64 libjansson-dev:arm64
libsodium-dev:arm64 libopenblas-dev:arm64 libpcre2-dev:arm64 libcmocka-dev:arm64"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps-arm: installing$missing"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
