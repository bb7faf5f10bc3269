"""Shared set-up of the integration tests.

Every kernel these tests start (ipykernel alone, or as the stage kernel's child)
imports debugpy, which on Python 3.11 prints a "frozen modules" warning to stderr at
start-up.  ipykernel forwards its process's stderr to iopub, so that warning may
arrive as a stderr stream in whichever request is current, usually the first execute,
and turn an exact message sequence into a flaky failure that has nothing to do with
the proxy (seen: 1 run in 4 of test_kernel.py).  debugpy's own switch silences it; the
kernels inherit it from this process's environment.
"""
import atexit
import os
import shutil
import signal
import tempfile

os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

# The settings a user may export for the stage kernel, the commands and `make run`
# (README; share/run-demo.sh): every program the tests start would inherit them.  A
# shell with NBSTAGE_MIN_CONFIDENCE=0.99, NBSTAGE_TAG_POSITION=bottom and
# NBSTAGE_NO_BADGE=1 made 6 tests of the kernel's tags and notices fail; the tests of a
# setting give it themselves.  Kept: NBSTAGE_MODEL, the model the tests take (their
# docstrings say so), and NBSTAGE_NO_AVX512, NBSTAGE_NO_AMX and NBSTAGE_PORTABLE, which
# choose the walk as on another CPU, a run of the tests as there.
for _var in ("NBSTAGE_MIN_CONFIDENCE", "NBSTAGE_TAG_POSITION", "NBSTAGE_NO_BADGE", "NBSTAGE_ANY_LANGUAGE",
             "NBSTAGE_WRAP", "NBSTAGE_RULES", "NBSTAGE_DEMO_DIR", "NBSTAGE_FRONTEND", "NBSTAGE_PORT",
             "NBSTAGE_TOKEN"):
    os.environ.pop(_var, None)

# Every IPython kernel keeps its input history in IPYTHONDIR, a SQLite file written
# at start and at exit.  The plain and sanitizer passes run side by side, and with
# one ~/.ipython for both, every kernel of either pass wrote the same file: a lock held
# by one showed in another as "The history saving thread hit an unexpected error"
# in a cell's output, and made its exit late by SQLite's 5 s busy timeout for each
# write that waited (measured by holding the lock by hand: `exit` ended ipykernel in
# 5.46 s instead of 0.41 s).  Likely what CI saw once: the stage kernel still there
# 20 s after an attached console's `exit` (test_console_existing.py).  Each pytest run
# gets a folder of its own, as each user has one.  (test_console.py's consoles keep
# theirs under their HOME.)
_IPYTHONDIR = tempfile.mkdtemp(prefix="nbstage-tests-ipython-")
os.environ["IPYTHONDIR"] = _IPYTHONDIR
atexit.register(shutil.rmtree, _IPYTHONDIR, True)

# A test run started under nohup, or as a background job of a script, has SIGHUP or
# SIGINT ignored, and so would every program a test starts (exec keeps an ignored
# signal ignored, and ours then keep it so, as they should).  The tests that signal a
# program mid-run would then see it carry on and skip or fail.  A handler of our own
# keeps the run itself as undisturbed, and exec gives each program the default.
for _sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
    if signal.getsignal(_sig) == signal.SIG_IGN:
        signal.signal(_sig, lambda *_: None)


# The sanitizer pass (tests/run.sh, `make test`) runs the programs' test files with the
# programs built under ASan+UBSan (those files only there, not also against the
# optimised build), leaving out the ones marked plain_build_only, which run against the
# optimised build instead: a test that runs
# the program under strace (LeakSanitizer cannot work under ptrace), one that only kills
# it at random moments (nothing the sanitizers look at, and its timing is tuned to the
# optimised build), and the whole-corpus reads that the sanitizer unit build already
# makes (test_nbformat_corpus), to keep `make test` short.
#
# The tests marked long are left out of `make test` (tests/run.sh) and run by `make
# test-long`: they build the tree or the fuzz targets again, or label the whole corpus,
# about 150 CPU-seconds of the 2 cores that `make test` has 10 minutes of.
def pytest_configure(config):
    config.addinivalue_line("markers", "plain_build_only: left out of the sanitizer pass")
    config.addinivalue_line("markers", "long: left out of make test, run by make test-long")


# jupyter_client picks a kernel's ports by binding port 0 and closing the socket; the
# kernel binds them later, and any connection another process opens in between may be
# given the same port from the system's ephemeral range (jupyter_client#487): the
# kernel then dies with "Address already in use".  With four pytest runs starting
# kernels side by side (tests/run.sh), seen once in four runs of make test.  Each run
# there gets a range of its own below the ephemeral one (NBSTAGE_TEST_PORTS, "LO-HI"),
# which nothing hands out unasked, and the kernels this process starts (most of the
# tests') take their ports in turn from it, each checked free by a bind.  Those that
# a program the tests start starts in turn (a console, a notebook server, nbconvert)
# still take jupyter_client's choice, as does every kernel when the variable is unset
# (pytest run by hand) or the range meets the ephemeral one.
def _ephemeral_ports():
    try:
        lo, hi = (int(x) for x in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def _ports_in_turn(spec):
    import socket
    from jupyter_client.connect import LocalPortCache
    lo, hi = (int(x) for x in spec.split("-"))
    elo, ehi = _ephemeral_ports()
    if not (hi < elo or lo > ehi):
        return
    turn = {"next": lo}

    def find_available_port(self, ip):
        for _ in range(hi - lo + 1):
            port = turn["next"]
            turn["next"] = lo + (port + 1 - lo) % (hi - lo + 1)
            if port in self.currently_used_ports:
                continue
            s = socket.socket()
            try:
                s.bind((ip, port))
            except OSError:
                continue
            finally:
                s.close()
            self.currently_used_ports.add(port)
            return port
        raise RuntimeError(f"no free port in NBSTAGE_TEST_PORTS={spec}")

    LocalPortCache.find_available_port = find_available_port


if os.environ.get("NBSTAGE_TEST_PORTS"):
    _ports_in_turn(os.environ["NBSTAGE_TEST_PORTS"])
