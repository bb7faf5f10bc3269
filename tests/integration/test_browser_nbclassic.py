"""The classic Notebook page served by jupyter_server: Debian's python3-nbclassic 0.3.2
on jupyter-server 1.23.3, another server than Notebook 6's own (an async kernel
manager, jupyter_server's websocket handler, which buffers a kernel's messages while no
page is connected and replays them).

share/run-demo.sh with NBSTAGE_FRONTEND=nbclassic starts it, with test_browser.py's
temporary HOME and Jupyter folders (test_browser.serve), and the same browser scripts
drive it in Debian's headless Chromium:

- the demo notebook, Cell > Run All, File > Save, opened again: test_browser.py's
  checks (a badge under every code cell, each cell's metadata written by the stage
  output's script and saved, `nbstage tag --dry-run` finds nothing to change; the
  screenshot is tests/out/browser-nbclassic-demo.png);
- Kernel > Interrupt of a time.sleep, then Kernel > Restart
  (test_browser_more.interrupt_and_restart).

The page asks for favicons that Debian's nbclassic does not serve (403/404 on
/static/base/images/favicon-*.ico, with ipykernel alone too): those console errors are
allowed.  Skipped as test_browser.py's tests are, and when nbclassic is not installed.
"""
import subprocess

import pytest

from test_browser import PYTHON, demo_run_all, serve, token_is_secret
from test_browser_more import interrupt_and_restart, pytestmark  # noqa: F401  (skip without a browser)

FAVICONS = ("Failed to load resource: the server responded with a status of 403",
            "Failed to load resource: the server responded with a status of 404")


@pytest.fixture(scope="module")
def classic_server(tmp_path_factory):
    if subprocess.run([PYTHON, "-c", "import nbclassic"]).returncode:
        pytest.skip("nbclassic is not installed (Debian's python3-nbclassic: make deps)")
    gen = serve(tmp_path_factory, "nbclassic")
    srv = next(gen)
    try:
        # jupyter_server serves the page, not Notebook 6's own server
        log = (srv[4] / "run-demo.log").read_text()
        assert "Jupyter Server" in log and "nbclassic | extension was successfully loaded" in log, log
        yield srv
    finally:
        for _ in gen:  # the server stopped, and nothing of it left running
            pass


def test_demo_run_all_badges_and_saved_metadata_on_nbclassic(classic_server):
    demo_run_all(classic_server, "browser-nbclassic-demo.png")


def test_interrupt_and_restart_on_nbclassic(classic_server):
    interrupt_and_restart(classic_server, console_ok=FAVICONS)


def test_the_token_is_on_no_command_line_on_nbclassic(classic_server):
    token_is_secret(classic_server[0], classic_server[1])
