"""Running a command whose standard output cannot be written.

Every command that writes to stdout must say so when it cannot: exit 2 and
"<stdout>: write error: REASON" on stderr.  The two ways a user meets it are a full
disk and a closed stdout; LOST_STDOUT pairs each with the reason the programs give.
"""
import subprocess

LOST_STDOUT = (("/dev/full", "No space left on device"), (None, "Bad file descriptor"))


def run_lost_stdout(argv, target, **kwargs):
    """Runs ARGV with its stdout on TARGET (a path, written to: /dev/full) or, when
    TARGET is None, closed; stderr captured as text.  KWARGS go to subprocess.run
    (input, env)."""
    kwargs = dict(stderr=subprocess.PIPE, text=True, timeout=60, **kwargs)
    if target:
        with open(target, "w") as out:
            return subprocess.run([str(a) for a in argv], stdout=out, **kwargs)
    return subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh"] + [str(a) for a in argv], **kwargs)
