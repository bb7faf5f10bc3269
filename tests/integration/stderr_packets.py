"""Running a command whose stderr shows each write(2) apart.

A message line must reach stderr in one write(2): stderr is unbuffered, and a line
written in pieces can have another process writing to the same log (the wrapped
kernel beside the stage kernel, a parallel job) land inside it.  Here stderr is a
pipe in packet mode (pipe(7)'s O_DIRECT): each write is a packet of its own (one past
PIPE_BUF cut into PIPE_BUF-byte ones) and each read takes one packet.
"""
import os
import select
import signal
import subprocess
import time


def run_stderr_packets(argv, timeout=120, **kwargs):
    """Runs ARGV (stdout to /dev/null) with its stderr a packet-mode pipe: its exit
    code and the packets read, bytes each; None when the system has no packet pipes.
    KWARGS go to subprocess.Popen (env, cwd)."""
    try:
        rfd, wfd = os.pipe2(os.O_DIRECT)
    except OSError:
        return None
    packets, p = [], None
    try:
        p = subprocess.Popen([str(a) for a in argv], stdout=subprocess.DEVNULL, stderr=wfd, **kwargs)
        os.close(wfd)
        wfd = -1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not select.select([rfd], [], [], 0.5)[0]:
                continue
            packet = os.read(rfd, 1 << 16)  # one packet a read
            if not packet:  # every writer gone
                break
            packets.append(packet)
        p.wait(timeout=10)
    finally:
        if wfd >= 0:
            os.close(wfd)
        os.close(rfd)
        if p is not None and p.poll() is None:  # its whole group when it leads one (a kernel's child)
            if kwargs.get("start_new_session"):
                os.killpg(p.pid, signal.SIGKILL)
            else:
                p.kill()
            p.wait()
    return p.returncode, packets


def lines_cut(packets):
    """The packets that do not end a line, but for a long write's PIPE_BUF-byte heads:
    where a line was written in more than one write."""
    return [pk for pk in packets if not pk.endswith(b"\n") and len(pk) != select.PIPE_BUF]
