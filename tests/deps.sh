#!/bin/sh
# Install the Debian packages nbstage builds, tests and benchmarks with.
# Idempotent: asks dpkg first and is silent when everything is present.
set -e
PKGS="build-essential pkg-config libzmq3-dev libjansson-dev libsodium-dev
libopenblas-dev libpcre2-dev libcmocka-dev clang libclang-rt-14-dev
python3 python3-numpy python3-pytest python3-ipykernel python3-jupyter-client
python3-nbclient python3-nbconvert python3-nbformat jupyter-notebook jupyter-client
jupyter-console python3-nbclassic
python3-ipywidgets jupyter-nbextension-jupyter-js-widgets
python3-pandas python3-sklearn pre-commit python3-pexpect
python3-torch chromium nodejs npm strace"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || missing="$missing $p"
done
# npm may come from elsewhere (e.g. a node install in /usr/local); accept that.
case " $missing " in *" npm "*) command -v npm >/dev/null 2>&1 && missing=$(echo "$missing" | sed 's/ npm//');; esac
case " $missing " in *" nodejs "*) command -v node >/dev/null 2>&1 && missing=$(echo "$missing" | sed 's/ nodejs//');; esac
if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# playwright-core drives Debian's chromium in the browser test (no browser download).
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    # a failure stops here: the browser tests would otherwise fail later, or skip
    (cd tests/browser && npm install --silent --no-audit --no-fund >/dev/null 2>&1) \
        || { echo "deps: npm install in tests/browser failed (the browser tests need playwright-core)" >&2; exit 1; }
fi
