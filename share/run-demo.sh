#!/bin/sh
# run-demo.sh — `make run`: the stage kernel in Debian's classic Jupyter Notebook.
#
# Installs the stage kernel's kernelspec for the current user, copies the shipped demo
# notebook into a fresh scratch folder (so running it never changes share/demo.ipynb),
# starts Jupyter Notebook 6 on 127.0.0.1 without a browser, and prints the URL that
# opens the demo.  Ctrl-C (or SIGTERM) stops the server and its kernels.
#
# Environment (all optional):
#   NBSTAGE_BIN       folder with nbstage and nbstage-kernel (default: the repository root)
#   NBSTAGE_DEMO_DIR  the work folder (default: a new /tmp/nbstage-demo.XXXXXX); a
#                     demo.ipynb already there is kept, so a folder named here keeps
#                     the demo as it was saved from one run to the next
#   NBSTAGE_PORT      the port (default: a free one)
#   NBSTAGE_TOKEN     the server's token (default: a random one); letters, digits, '.',
#                     '_' and '-'
#   PYTHON            the Python that runs Jupyter (default: Debian's /usr/bin/python3)
#   NBSTAGE_FRONTEND  notebook (default: Notebook 6's own server) or nbclassic (the same
#                     classic page served by jupyter_server: Debian's python3-nbclassic)
set -eu

unset CDPATH  # the cd below must not follow a user's CDPATH to another tree
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${NBSTAGE_BIN:-$root}
python=${PYTHON:-/usr/bin/python3}
say() { printf 'run-demo: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

for prog in nbstage nbstage-kernel; do
    [ -x "$bin/$prog" ] || die "$bin/$prog is not built (run 'make' first)"
done
frontend=${NBSTAGE_FRONTEND:-notebook}
case $frontend in
notebook) "$python" -c 'import notebook' 2>/dev/null \
    || die "$python has no 'notebook' module (Debian package jupyter-notebook; 'make deps')" ;;
nbclassic) "$python" -c 'import nbclassic' 2>/dev/null \
    || die "$python has no 'nbclassic' module (Debian package python3-nbclassic; 'make deps')" ;;
*) die "NBSTAGE_FRONTEND=$frontend: expected notebook or nbclassic" ;;
esac
[ -f "$here/demo.ipynb" ] || die "$here/demo.ipynb: missing"
# The token first: one refused installs nothing and makes no work folder.
token=${NBSTAGE_TOKEN:-$("$python" -c 'import secrets; print(secrets.token_hex(24))')}
unset NBSTAGE_TOKEN  # nor in the kernels' environment (where it is used, below)
# It goes into a URL as it is, and Jupyter's option parser rewrites a leading '~' or
# surrounding quotes: letters, digits, '.', '_' and '-' only.
case $token in
    '' | *[!A-Za-z0-9._-]*) die "NBSTAGE_TOKEN: use letters, digits, '.', '_' and '-' only" ;;
esac

# Without a model the kernel still relays everything, but shows no stage tags.
if [ -z "${NBSTAGE_MODEL:-}" ] && [ ! -f "$root/share/default.nbsm" ]; then
    say "warning: no model ($root/share/default.nbsm or NBSTAGE_MODEL): cells will not be tagged"
fi

"$bin/nbstage" install-kernel --user >&2 || die "could not install the kernelspec"

if [ -n "${NBSTAGE_DEMO_DIR:-}" ]; then
    work=$NBSTAGE_DEMO_DIR
    mkdir -p "$work" || die "$work: cannot create the work folder"
else
    work=$(mktemp -d /tmp/nbstage-demo.XXXXXX) || die "cannot create a work folder in /tmp"
fi
# A demo.ipynb already in a named work folder is the person's, run and saved there in
# an earlier session: it is opened as it is, never copied over.
if [ -e "$work/demo.ipynb" ]; then
    say "keeping $work/demo.ipynb as it is (remove it for a fresh copy of the demo)"
else
    cp "$here/demo.ipynb" "$work/demo.ipynb" || die "$work/demo.ipynb: cannot copy the demo"
    chmod u+w "$work/demo.ipynb"
fi

# A free loopback port: bind port 0 and read what the kernel gave (a race with another
# program taking it in between is possible, and the server then says so).
port=${NBSTAGE_PORT:-$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
url="http://127.0.0.1:$port/notebooks/demo.ipynb?token=$token"
# The token reaches the server on no command line: any user of the machine may read
# another's (ps), and with the token run code as its owner.  The server takes it from
# its environment and removes it there (its kernels, and a cell that prints
# os.environ, never see it), then gives it to Jupyter as a command-line option inside
# the process, which outranks a token set in the user's Jupyter config.
export NBSTAGE_SERVER_TOKEN="$token"
serve='import os, sys
from importlib import import_module
app, option = sys.argv.pop(1), sys.argv.pop(1)
token = os.environ.pop("NBSTAGE_SERVER_TOKEN")
sys.exit(import_module(app).main(argv=sys.argv[1:] + [option + token]))'

# Jupyter refuses root unless told; as root (a container, CI) tell it.
allow_root=""
[ "$(id -u)" -ne 0 ] || allow_root=--allow-root
# Debian's ipykernel prints a debugger warning on every start without these.
export PYDEVD_DISABLE_FILE_VALIDATION=1
if [ "$frontend" = notebook ]; then
    # what `python3 -m notebook` runs
    "$python" -Xfrozen_modules=off -c "$serve" notebook.notebookapp --NotebookApp.token= \
        --no-browser --ip=127.0.0.1 --port="$port" --port-retries=0 --notebook-dir="$work" \
        --NotebookApp.open_browser=False $allow_root &
else  # what /usr/bin/jupyter-nbclassic runs, with this Python
    "$python" -Xfrozen_modules=off -c "$serve" nbclassic.notebookapp --ServerApp.token= \
        --no-browser --ip=127.0.0.1 --port="$port" --port-retries=0 --ServerApp.root_dir="$work" \
        --ServerApp.open_browser=False $allow_root &
fi
server=$!
# A background job of a script ignores SIGINT, so Ctrl-C is passed on as SIGTERM,
# on which the server shuts its kernels down.
stop() { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap 'kill -TERM "$server" 2>/dev/null || true' EXIT

# Wait until the server answers, so that the URL printed works at once.
i=0
until "$python" -c 'import os, sys, urllib.request; urllib.request.urlopen(sys.argv[1] + os.environ["NBSTAGE_SERVER_TOKEN"], timeout=2)' \
        "http://127.0.0.1:$port/api/status?token=" 2>/dev/null; do
    kill -0 "$server" 2>/dev/null || { wait "$server" || true; die "Jupyter Notebook did not start"; }
    i=$((i + 1))
    [ "$i" -lt 120 ] || { stop; die "Jupyter Notebook did not answer on port $port within 60 s"; }
    sleep 0.5
done

cat <<EOF

  The demo notebook, on the "Python 3 (workflow stages)" kernel:

      $url

  Open it in a browser and choose Cell > Run All: each code cell gets a coloured
  tag with its workflow stage; File > Save keeps the stages in the cells' metadata.
  Work folder: $work   (Ctrl-C stops the server.)

EOF
wait "$server"
