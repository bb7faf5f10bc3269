"""`nbstage install-kernel`: the kernelspec Jupyter itself lists, starts and removes.

Every test has its own HOME and Jupyter folders; Jupyter's own view comes from
`python3 -m jupyter_client.kernelspecapp list --json` (what `jupyter kernelspec list`
runs) and from jupyter_client's KernelSpecManager.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lost_stdout import LOST_STDOUT, run_lost_stdout
from stderr_packets import lines_cut, run_stderr_packets

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NBSTAGE_BIN", ROOT))
NBSTAGE = BIN / "nbstage"
KERNEL = BIN / "nbstage-kernel"
PYTHON = "/usr/bin/python3"

pytestmark = pytest.mark.skipif(
    not (os.access(NBSTAGE, os.X_OK) and os.access(KERNEL, os.X_OK)),
    reason=f"{NBSTAGE} or {KERNEL} is not built yet")


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items()
         if k not in ("JUPYTER_PATH", "JUPYTER_DATA_DIR", "XDG_DATA_HOME", "CONDA_PREFIX",
                      "VIRTUAL_ENV")}
    e.update(HOME=str(tmp_path / "home"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
             JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), PYDEVD_DISABLE_FILE_VALIDATION="1")
    (tmp_path / "home").mkdir()
    return e


def nbstage(env, *args):
    return subprocess.run([str(NBSTAGE), "install-kernel", *args], env=env,
                          capture_output=True, text=True, timeout=30)


def jupyter_kernels(env):
    r = subprocess.run([PYTHON, "-Xfrozen_modules=off", "-m", "jupyter_client.kernelspecapp",
                        "list", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["kernelspecs"]


def test_user_install_is_listed_by_jupyter_and_removed(env, tmp_path):
    r = nbstage(env)
    assert r.returncode == 0, r.stderr
    user_dir = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels" / "nbstage"
    assert str(user_dir) in r.stdout

    ks = jupyter_kernels(env)
    assert "nbstage" in ks and "python3" in ks
    spec = ks["nbstage"]["spec"]
    assert Path(ks["nbstage"]["resource_dir"]) == user_dir
    assert spec["argv"] == [str(KERNEL.resolve()), "-f", "{connection_file}", "--wrap", "python3"]
    assert spec["display_name"] == "Python 3 (workflow stages)"
    assert spec["language"] == "python"
    assert spec["interrupt_mode"] == "signal"
    assert spec["metadata"]["nbstage"]["wraps"] == "python3"
    # the wrapped kernel's logos come along, so the launcher shows one
    assert (user_dir / "logo-64x64.png").read_bytes() == \
        (Path(ks["python3"]["resource_dir"]) / "logo-64x64.png").read_bytes()

    # installing again replaces the spec in place
    assert nbstage(env, "--display-name", "Stages!").returncode == 0
    assert jupyter_kernels(env)["nbstage"]["spec"]["display_name"] == "Stages!"

    r = nbstage(env, "--remove")
    assert r.returncode == 0, r.stderr
    assert "nbstage" not in jupyter_kernels(env)
    assert not user_dir.exists()
    r = nbstage(env, "--remove")
    assert r.returncode == 1 and "no kernelspec" in r.stderr


def test_jupyter_data_dir_and_prefix_scopes(env, tmp_path):
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "jdata")
    assert nbstage(env, "--user", "--name", "stages-a").returncode == 0
    assert (tmp_path / "jdata" / "kernels" / "stages-a" / "kernel.json").is_file()

    prefix = tmp_path / "prefix"
    r = nbstage(env, "--prefix", str(prefix), "--name", "stages-b", "--tag-position", "top",
                "--min-confidence", "0.5", "--no-badge")
    assert r.returncode == 0, r.stderr
    spec_dir = prefix / "share" / "jupyter" / "kernels" / "stages-b"
    assert "stages-b" not in jupyter_kernels(env)  # a prefix Jupyter does not search...
    env["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")
    ks = jupyter_kernels(env)  # ...until JUPYTER_PATH names it
    assert Path(ks["stages-b"]["resource_dir"]) == spec_dir
    assert ks["stages-b"]["spec"]["argv"][5:] == [
        "--tag-position", "top", "--no-badge", "--min-confidence", "0.5"]
    assert "stages-a" in ks

    assert nbstage(env, "--prefix", str(prefix), "--name", "stages-b", "--remove").returncode == 0
    assert not spec_dir.exists()
    assert "stages-b" not in jupyter_kernels(env)


def _spec_dir(env, name, python=PYTHON):
    """The folder of kernelspec NAME as jupyter_client finds it, run by PYTHON."""
    r = subprocess.run([python, "-Xfrozen_modules=off", "-c",
                        "import sys; from jupyter_client.kernelspec import KernelSpecManager as K; "
                        f"print(K().find_kernel_specs()[{name!r}])"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _spec(d, argv0="/usr/bin/python3"):
    d.mkdir(parents=True)
    (d / "kernel.json").write_text(json.dumps({"argv": [argv0, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                               "display_name": d.name, "language": "python"}))


# the search is kernelspec_find.c's, which test_wire_setup runs under the sanitizers
@pytest.mark.plain_build_only
@pytest.mark.parametrize("layout", ["long JUPYTER_PATH", "user site", "prefer env", "env after user"])
def test_the_kernel_wrapped_is_the_one_jupyter_finds(env, tmp_path, layout):
    """The folders searched for the wrapped kernelspec are jupyter_core's, in its order.
    Before: at most 9, JUPYTER_PATH's first (7 entries left /usr/share/jupyter out:
    python3 "not found"); Python's user site (~/.local/share/jupyter, where `pip install
    --user ipykernel` puts its kernelspec) was not searched when JUPYTER_DATA_DIR or
    XDG_DATA_HOME named another data dir; JUPYTER_PREFER_ENV_PATH was not read, so the
    user's kernelspec of a name was wrapped where Jupyter runs its environment's."""
    python, name = PYTHON, "python3"
    if layout == "long JUPYTER_PATH":
        env["JUPYTER_PATH"] = ":".join(str(tmp_path / f"p{i}") for i in range(12))
    elif layout == "user site":
        env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
        name = "userpy"
        _spec(tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels" / name)
    else:
        venv = tmp_path / "venv"
        subprocess.run([PYTHON, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True,
                       timeout=60)
        python, name = str(venv / "bin" / "python"), "envpy"
        env["VIRTUAL_ENV"] = str(venv)  # an activated venv, where install-kernel runs
        env["JUPYTER_PREFER_ENV_PATH"] = "1" if layout == "prefer env" else "0"
        _spec(venv / "share" / "jupyter" / "kernels" / name, str(venv / "bin" / "python"))
        _spec(tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels" / name)
    want = _spec_dir(env, name, python)
    if layout == "prefer env":
        assert want.startswith(str(tmp_path / "venv")), want
    r = nbstage(env, "--name", "stages", "--wrap", name)
    assert r.returncode == 0, r.stderr
    assert f"wraps {name} ({want})" in r.stdout, r.stdout


def test_model_path_is_made_absolute(env, tmp_path):
    model = tmp_path / "m.nbsm"
    model.write_bytes(b"not checked here; the kernel reads it")
    r = subprocess.run([str(NBSTAGE), "install-kernel", "--model", "m.nbsm"], env=env,
                       cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    spec = jupyter_kernels(env)["nbstage"]["spec"]
    assert spec["argv"][5:] == ["--model", str(model)]
    r = nbstage(env, "--model", str(tmp_path / "missing.nbsm"), "--name", "x")
    assert r.returncode == 2 and "missing.nbsm" in r.stderr


def test_a_model_the_kernel_cannot_read_is_named(env, tmp_path):
    """A truncated copy of a model (or a file of another format version) was installed
    without a word; the kernel then relayed without tags, saying why only in the
    server's log, and no badge ever came.  The spec is still installed (the kernel
    reads the file at each start), with a warning naming the file and the reason."""
    good = ROOT / "share" / "default.nbsm"
    if not good.is_file():
        pytest.skip("no share/default.nbsm")
    cut = tmp_path / "cut.nbsm"
    cut.write_bytes(good.read_bytes()[:4096])
    r = nbstage(env, "--model", str(cut), "--name", "cut")
    assert r.returncode == 0, r.stderr
    assert "warning: --model" in r.stderr and "truncated file" in r.stderr and str(cut) in r.stderr, r.stderr
    assert jupyter_kernels(env)["cut"]["spec"]["argv"][5:] == ["--model", str(cut)]
    r = nbstage(env, "--model", str(good), "--name", "good")
    assert r.returncode == 0 and r.stderr == "", r.stderr


@pytest.mark.parametrize("args, says", [
    (["--wrap", "no-such-kernel"], "no-such-kernel"),
    (["--name", "bad/name"], "kernel name"),
    (["--name", "python3"], "would hide"),
    (["--user", "--sys-prefix"], "choose one"),
    (["--prefix"], "nbstage install-kernel: option '--prefix' requires an argument\nusage: nbstage install-kernel"),
    (["--model"], "nbstage install-kernel: option '--model' requires an argument\nusage: nbstage install-kernel"),
    (["--tag-position", "left"], "top or bottom"),
    (["--min-confidence", "2"], "[0, 1]"),
    (["--frobnicate"], "nbstage install-kernel: unrecognized option '--frobnicate'\n"),
    (["extra"], "nbstage install-kernel: unexpected argument 'extra' (it takes options only)\n"),
])
def test_bad_arguments_are_refused(env, tmp_path, args, says):
    r = nbstage(env, *args)
    assert r.returncode == 2
    assert says in r.stderr
    assert not (tmp_path / "home" / ".local").exists()


MODEL_FILE = ROOT / "share" / "default.nbsm"


@pytest.mark.parametrize("layout", ["installed", "tree"])
def test_no_default_model_is_warned(env, tmp_path, layout):
    """An installation whose share/ lost the model: the kernelspec was installed with no
    word, and the kernel ran untagged.  As --model that cannot be read, it is warned,
    with how to put it back as every command says it, by where it was looked for (it
    said only "or reinstall with --model FILE", in a source tree too)."""
    if layout == "installed":
        alone, share = tmp_path / "inst" / "bin", tmp_path / "inst" / "share" / "nbstage"
        how = "reinstall nbstage"
    else:  # a source tree, by its mark
        alone, share = tmp_path / "tree", tmp_path / "tree" / "share"
        (alone / "nbformat").mkdir(parents=True)
        (alone / "nbformat" / "sharefile.h").write_text("")
        how = "`git checkout share/default.nbsm` or `make model` in the source tree"
    alone.mkdir(parents=True, exist_ok=True)
    for prog in (NBSTAGE, KERNEL):
        shutil.copy(prog, alone / prog.name)
    e = {k: v for k, v in env.items() if k != "NBSTAGE_MODEL"}
    r = subprocess.run([str(alone / "nbstage"), "install-kernel"], env=e, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    missing = (f"warning: no model: {share / 'default.nbsm'} is missing ({how}, or install the kernel again "
               "with --model FILE): the stage kernel will run without stage tags until it is there\n")
    assert missing in r.stderr, r.stderr
    # NBSTAGE_MODEL here is no model there: the kernelspec does not record it
    r = subprocess.run([str(alone / "nbstage"), "install-kernel"], env=dict(e, NBSTAGE_MODEL=str(MODEL_FILE)),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and missing in r.stderr, r.stderr
    assert f"warning: NBSTAGE_MODEL={MODEL_FILE} is not recorded in the kernelspec" in r.stderr, r.stderr


def test_foreign_kernelspecs_are_left_alone(env, tmp_path):
    other = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels" / "nbstage"
    other.mkdir(parents=True)
    (other / "kernel.json").write_text(json.dumps(
        {"argv": ["python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "someone else's", "language": "python"}))
    before = (other / "kernel.json").read_text()
    r = nbstage(env)
    assert r.returncode == 2 and "did not write" in r.stderr
    r = nbstage(env, "--remove")
    assert r.returncode == 2 and "not an nbstage kernelspec" in r.stderr
    assert (other / "kernel.json").read_text() == before


def test_remove_takes_the_whole_folder_as_jupyter_does(env, tmp_path):
    """`jupyter kernelspec remove` removes a kernelspec's folder whole (shutil.rmtree in
    KernelSpecManager.remove_kernel_spec), whatever else it holds.  --remove took
    kernel.json and the resources, then failed on the folder ("Directory not empty",
    exit 2) and left it behind without kernel.json: no longer a kernelspec, so a second
    --remove said there was none (exit 1).  Now the folder goes whole, what was not
    nbstage's named; a symbolic link in it is removed, never followed."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep\n")
    assert nbstage(env).returncode == 0
    spec = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels" / "nbstage"
    (spec / "notes.txt").write_text("mine\n")
    (spec / "old" / "deeper").mkdir(parents=True)
    (spec / "old" / "deeper" / "x").write_text("x")
    (spec / "old" / "to-outside").symlink_to(outside)
    (spec / "to-file").symlink_to(outside / "keep.txt")
    r = nbstage(env, "--remove")
    assert r.returncode == 0, r.stderr
    assert not spec.exists()
    said = r.stderr.split("also held ")[1].split(", not nbstage's")[0]
    assert sorted(said.split(", ")) == ["notes.txt", "old/", "to-file"], r.stderr
    assert "jupyter kernelspec remove" in r.stderr
    assert (outside / "keep.txt").read_text() == "keep\n"


def test_remove_of_a_linked_spec_folder_removes_the_link_alone(env, tmp_path):
    """A spec folder that is a symbolic link (a kernelspec kept elsewhere and linked in):
    jupyter_client removes the link alone (os.remove when os.path.islink).  --remove
    deleted kernel.json in the folder it points to, then failed on rmdir (exit 2)."""
    jp = tmp_path / "jp"
    assert nbstage(env, "--prefix", str(jp), "--name", "kept").returncode == 0
    target = jp / "share" / "jupyter" / "kernels" / "kept"
    before = sorted(p.name for p in target.iterdir())
    kernels = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels"
    kernels.mkdir(parents=True)
    (kernels / "nbstage").symlink_to(target)
    r = nbstage(env, "--remove")
    assert r.returncode == 0, r.stderr
    assert not (kernels / "nbstage").is_symlink() and "symbolic link" in r.stderr
    assert sorted(p.name for p in target.iterdir()) == before


def _nested(folder, depth):
    """FOLDER/d/d/... DEPTH deep, made through descriptors (a path that long would not
    do); _unnest removes it the same way (shutil.rmtree recurses past Python's limit)."""
    fd = os.open(folder, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        sub = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = sub
    os.close(fd)


def _unnest(folder):
    fds = [os.open(folder, os.O_RDONLY)]
    while True:
        try:
            fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
        except FileNotFoundError:
            break
    for parent in reversed(fds[:-1]):
        os.rmdir("d", dir_fd=parent)
    for fd in fds:
        os.close(fd)


def installed_with_notes(env, tmp_path):
    """The stage kernel installed for the user, with 60 files of the user's in its
    folder: (the folder, their names)."""
    assert nbstage(env).returncode == 0
    spec = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels" / "nbstage"
    mine = [f"notes-{i:02d}.txt" for i in range(60)]
    for n in mine:
        (spec / n).write_text("mine\n")
    return spec, mine


def test_a_remove_that_would_stop_part_way_removes_nothing(env, tmp_path):
    """A removal that stops part way (here out of descriptors, RLIMIT_NOFILE 40, in a
    folder nested 100 deep) kept kernel.json and said why, but the user's files removed
    before it stopped went unsaid: 41 of these 60 on ext4.  The whole tree is now walked
    first, removing nothing, so what would stop it leaves every file in place."""
    import resource
    spec, mine = installed_with_notes(env, tmp_path)
    (spec / "deep").mkdir()
    _nested(spec / "deep", 100)
    try:
        r = subprocess.run([str(NBSTAGE), "install-kernel", "--remove"], env=env, capture_output=True,
                           text=True, timeout=30,
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40)))
    finally:
        _unnest(spec / "deep")
    assert r.returncode == 2 and "Too many open files" in r.stderr and "nothing removed" in r.stderr, r.stderr
    assert (spec / "kernel.json").exists()
    assert [n for n in mine if not (spec / n).exists()] == [], r.stderr


def test_a_remove_that_stops_part_way_names_what_it_took(env, tmp_path):
    """What the walk ahead cannot see, a file that will not go (immutable, chattr +i,
    which stops root too), stops the removal part way: kernel.json kept, and every file
    of the user's that went before it is named (the note was written only when the
    removal went through).  Skipped where the file system has no immutable flag."""
    spec, mine = installed_with_notes(env, tmp_path)
    (spec / "stuck").mkdir()
    (spec / "stuck" / "f").write_text("x")
    if subprocess.run(["chattr", "+i", str(spec / "stuck" / "f")], capture_output=True).returncode:
        pytest.skip("no immutable files here (chattr +i)")
    try:
        r = nbstage(env, "--remove")
    finally:
        subprocess.run(["chattr", "-i", str(spec / "stuck" / "f")], check=True)
    assert r.returncode == 2 and "Operation not permitted" in r.stderr, r.stderr
    assert (spec / "kernel.json").exists()
    gone = [n for n in mine if not (spec / n).exists()]
    said = r.stderr.split("also held ")[1].split(", not nbstage's")[0].split(", ") if gone else []
    assert sorted(said) == sorted(gone), r.stderr


def test_a_spec_folder_nested_deep_is_refused_not_crashed(env, tmp_path):
    """empty_folder recursed once per level with a 4.4 KB buffer on the stack: a folder
    nested thousands deep in the spec folder overflowed an 8 MB stack (SIGSEGV, the
    folder half removed, nothing said); here 800 deep and a 3 MB stack, so that
    pytest's own rmtree (recursive, Python's limit 1,000) can still clean up after a
    failure.  Folders nested more than 256 deep are refused now, kernel.json kept."""
    import resource
    assert nbstage(env).returncode == 0
    spec = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels" / "nbstage"
    (spec / "deep").mkdir()
    (spec / "notes.txt").write_text("mine\n")
    _nested(spec / "deep", 800)
    try:
        r = subprocess.run([str(NBSTAGE), "install-kernel", "--remove"], env=env, capture_output=True,
                           text=True, timeout=30,
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_STACK, (3 << 20, 3 << 20)))
    finally:
        _unnest(spec / "deep")
    assert r.returncode == 2, r.stderr[-300:]
    assert "folders nested more than 256 deep; not removing it" in r.stderr and "nothing removed" in r.stderr
    assert (spec / "kernel.json").exists() and (spec / "notes.txt").exists()


def test_a_bind_mount_in_or_at_the_spec_folder_is_refused(env, tmp_path):
    """A folder mounted in the spec folder is refused, but the check compared st_dev
    alone: a bind mount of the same file system has the folder's own, so --remove
    emptied the folder mounted there - the user's files elsewhere - and then failed on
    it (EBUSY).  Nor is a spec folder that is itself a mount point emptied.  Needs
    mount privileges (skipped without)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep\n")
    assert nbstage(env).returncode == 0
    spec = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels" / "nbstage"
    (spec / "mnt").mkdir()
    (spec / "notes.txt").write_text("mine\n")
    for at in (spec / "mnt", spec):
        if at == spec:  # the folder mounted there looks like our spec: only the mount says no
            shutil.copy(spec / "kernel.json", outside / "kernel.json")
        if subprocess.run(["mount", "--bind", str(outside), str(at)], capture_output=True).returncode:
            pytest.skip("cannot bind mount here")
        try:
            r = nbstage(env, "--remove")
        finally:
            subprocess.run(["umount", str(at)], check=True)
        assert r.returncode == 2 and "mounted there; not removing it" in r.stderr, r.stderr
        assert (outside / "keep.txt").read_text() == "keep\n"
    assert (spec / "kernel.json").exists() and (outside / "kernel.json").exists()
    assert (spec / "notes.txt").exists()  # the mount inside was seen before anything went


def test_a_stage_kernel_is_not_wrapped(env, tmp_path):
    assert nbstage(env).returncode == 0
    r = nbstage(env, "--wrap", "nbstage")
    assert r.returncode == 2 and "itself a stage kernel" in r.stderr


def test_a_stage_kernel_run_through_env_is_not_wrapped(env, tmp_path):
    """Only argv[0]'s name was checked: a spec running `/usr/bin/env nbstage-kernel`
    was wrapped, and the kernel would start stage kernels without end (it now stops at
    start, test_kernel.py); install-kernel says so first."""
    jp = tmp_path / "jp"
    (jp / "kernels" / "viaenv").mkdir(parents=True)
    (jp / "kernels" / "viaenv" / "kernel.json").write_text(json.dumps(
        {"argv": ["/usr/bin/env", str(KERNEL), "-f", "{connection_file}"],
         "display_name": "via env", "language": "python"}))
    r = nbstage(dict(env, JUPYTER_PATH=str(jp)), "--wrap", "viaenv")
    assert r.returncode == 2 and "itself a stage kernel" in r.stderr


def other_language_kernels(jp):
    """Kernelspecs as IRkernel, IJulia and others write them (argv never run here), and
    ones Python by nblang's rule however spelled, or with no language at all."""
    specs = {"ir": ("R", ["R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"]),
             "julia-1.9": ("julia", ["julia", "-i", "{connection_file}"]),
             "py-spelled": ("Python 3", [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"]),
             "ipy": ("IPython", [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"]),
             "spark": ("pyspark", [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"]),
             "blank": ("  ", [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"]),
             "nolang": (None, [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"])}
    for name, (language, argv) in specs.items():
        d = jp / "kernels" / name
        d.mkdir(parents=True)
        spec = {"argv": argv, "display_name": name}
        if language is not None:
            spec["language"] = language
        (d / "kernel.json").write_text(json.dumps(spec))
        (d / "logo-64x64.png").write_bytes(b"\x89PNG not really")


@pytest.mark.parametrize("wrap, language", [("ir", "r"), ("julia-1.9", "julia")])
def test_a_kernel_of_another_language_is_not_wrapped(env, tmp_path, wrap, language):
    """tag, summary, ingest and classify leave a notebook that is not Python alone (its
    cells would get the Python model's guesses), but install-kernel wrapped an R or
    Julia kernel, whose every cell then got a badge that means nothing.  It now refuses
    as for its other refusals (exit 2, nothing written, no empty folder), naming the
    language and --any-language, which installs it all the same."""
    jp = tmp_path / "jp"
    other_language_kernels(jp)
    env = dict(env, JUPYTER_PATH=str(jp))
    kernels = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels"
    for args in ([], ["--name", "st"]):
        r = nbstage(env, "--wrap", wrap, *args)
        assert r.returncode == 2, r.stderr
        assert r.stdout == ""
        assert r.stderr == (f"nbstage install-kernel: --wrap {wrap}: its language is {language}, "
                            f"not Python: the stage kernel would give its cells stages that mean "
                            f"nothing (--any-language installs it all the same)\n"), r.stderr
        assert not (tmp_path / "home" / ".local").exists()
    r = nbstage(env, "--wrap", wrap, "--any-language")
    assert r.returncode == 0, r.stderr
    spec = jupyter_kernels(env)[f"nbstage-{wrap}"]["spec"]
    assert spec["language"] == {"r": "R"}.get(language, language)
    assert spec["argv"][3:5] == ["--wrap", wrap]
    assert (kernels / f"nbstage-{wrap}" / "logo-64x64.png").is_file()
    # removing needs no --any-language
    r = nbstage(env, "--name", f"nbstage-{wrap}", "--remove")
    assert r.returncode == 0, r.stderr
    assert list(kernels.iterdir()) == []


def test_any_language_is_written_into_the_spec_and_its_kernel_tags(env, tmp_path):
    """The stage kernel relays a kernel of another language untagged unless
    --any-language: install-kernel --any-language, the user's choice, writes that option
    into the kernelspec's argv, and the kernel it starts tags the cells of a kernel whose
    kernelspec says R (ipykernel runs it here, so a real kernel answers)."""
    jp = tmp_path / "jp"
    d = jp / "kernels" / "fake-r"
    d.mkdir(parents=True)
    (d / "kernel.json").write_text(json.dumps(
        {"argv": [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "fake R", "language": "R"}))
    env = dict(env, JUPYTER_PATH=str(jp))
    model = ROOT / "share" / "default.nbsm"
    args = ["--model", str(model)] if model.is_file() else []
    r = nbstage(env, "--wrap", "fake-r", "--any-language", *args)
    assert r.returncode == 0, r.stderr
    argv = jupyter_kernels(env)["nbstage-fake-r"]["spec"]["argv"]
    assert argv[3:5] == ["--wrap", "fake-r"] and argv.count("--any-language") == 1, argv
    if not model.is_file():
        pytest.skip("no model (share/default.nbsm): the spec is checked, not its tags")
    code = (
        "import json\n"
        "from jupyter_client.manager import start_new_kernel\n"
        "km, kc = start_new_kernel(kernel_name='nbstage-fake-r', startup_timeout=60)\n"
        "try:\n"
        "    seen = []\n"
        "    r = kc.execute_interactive('import numpy as np', timeout=60, output_hook=seen.append)\n"
        "    print('status', r['content']['status'])\n"
        "    for m in seen:\n"
        "        if m['msg_type'] == 'display_data':\n"
        "            print('stage', m['content']['metadata'].get('nbstage', {}).get('stage'))\n"
        "finally:\n"
        "    kc.stop_channels(); km.shutdown_kernel(now=True)\n")
    r = subprocess.run([PYTHON, "-Xfrozen_modules=off", "-c", code], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "status ok" in r.stdout and "stage imports\n" in r.stdout, (r.stdout, r.stderr)
    assert "not Python" not in r.stderr, r.stderr


@pytest.mark.parametrize("wrap", ["py-spelled", "ipy", "spark", "blank", "nolang"])
def test_python_spelled_any_way_or_no_language_is_wrapped(env, tmp_path, wrap):
    """Python as nblang.c reads it ("Python 3", IPython, pyspark: case and white space
    aside), and a kernelspec with no language or a blank one, taken as Python as a
    notebook without one is: installed without --any-language."""
    jp = tmp_path / "jp"
    other_language_kernels(jp)
    env = dict(env, JUPYTER_PATH=str(jp))
    r = nbstage(env, "--wrap", wrap, "--name", "st")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    argv = jupyter_kernels(env)["st"]["spec"]["argv"]
    assert argv[3:5] == ["--wrap", wrap] and "--any-language" not in argv, argv


def test_a_reinstall_keeps_no_logo_of_the_kernel_wrapped_before(env, tmp_path):
    """install-kernel copies the wrapped kernel's logos; installed again over the same
    name to wrap a kernel without logos, it left the old ones, and Jupyter showed the
    first kernel's logo for the second."""
    jp = tmp_path / "jp"
    for name, logo in (("withlogo", True), ("nologo", False)):
        d = jp / "kernels" / name
        d.mkdir(parents=True)
        (d / "kernel.json").write_text(json.dumps(
            {"argv": [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
             "display_name": name, "language": "python"}))
        if logo:
            (d / "logo-64x64.png").write_bytes(b"\x89PNG not really")
    env = dict(env, JUPYTER_PATH=str(jp))
    spec = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels" / "st"
    assert nbstage(env, "--wrap", "withlogo", "--name", "st").returncode == 0
    assert (spec / "logo-64x64.png").exists()
    r = nbstage(env, "--wrap", "nologo", "--name", "st")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in spec.iterdir()) == ["kernel.json"]
    assert nbstage(env, "--name", "st", "--remove").returncode == 0


def test_the_wrapped_kernels_metadata_is_kept(env, tmp_path):
    """Frontends read a kernelspec's metadata (JupyterLab shows its debugger only when
    metadata.debugger is true): the stage kernel's spec keeps the wrapped one's."""
    jp = tmp_path / "jp"
    wrapped = jp / "kernels" / "mykern"
    wrapped.mkdir(parents=True)
    (wrapped / "kernel.json").write_text(json.dumps({
        "argv": [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Mine", "language": "python",
        "metadata": {"debugger": True, "custom": {"a": [1, 2]}}}))
    env = dict(env, JUPYTER_PATH=str(jp))
    r = nbstage(env, "--wrap", "mykern", "--name", "stages-mine")
    assert r.returncode == 0, r.stderr
    meta = jupyter_kernels(env)["stages-mine"]["spec"]["metadata"]
    assert meta["debugger"] is True and meta["custom"] == {"a": [1, 2]}
    assert meta["nbstage"]["wraps"] == "mykern"


def test_names_are_jupyters_lower_case_names(env, tmp_path):
    """Jupyter knows a kernel by its folder's name in lower case (`jupyter kernelspec
    install` writes it so): --name MyStage made a folder Jupyter lists as mystage, which
    `--remove --name mystage` then said was not there, and a second install made a
    second folder beside it.  The name is now written in lower case, and a folder that
    differs only in case is the one replaced or removed."""
    kernels = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels"
    r = nbstage(env, "--name", "MyStage")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in kernels.iterdir()) == ["mystage"]
    assert "mystage" in jupyter_kernels(env)
    (kernels / "mystage").rename(kernels / "Older")  # as an earlier nbstage wrote it
    assert nbstage(env, "--name", "older").returncode == 0
    assert sorted(p.name for p in kernels.iterdir()) == ["Older"]
    r = nbstage(env, "--name", "OLDER", "--remove")
    assert r.returncode == 0, r.stderr
    assert list(kernels.iterdir()) == []
    assert "older" not in jupyter_kernels(env)


def test_help(env):
    r = nbstage(env, "--help")
    assert r.returncode == 0
    assert "--sys-prefix" in r.stdout and "--remove" in r.stdout and "--any-language" in r.stdout


def test_installed_spec_starts_a_working_kernel(env):
    """jupyter_client starts the kernel from the installed spec and runs code on it."""
    assert nbstage(env).returncode == 0
    code = (
        "from jupyter_client.manager import start_new_kernel\n"
        "km, kc = start_new_kernel(kernel_name='nbstage', startup_timeout=60)\n"
        "try:\n"
        "    r = kc.execute_interactive('print(6 * 7)', timeout=60,\n"
        "                               output_hook=lambda m: print(m['content'].get('text', ''), end=''))\n"
        "    print('status', r['content']['status'])\n"
        "finally:\n"
        "    kc.stop_channels(); km.shutdown_kernel(now=True)\n")
    r = subprocess.run([PYTHON, "-Xfrozen_modules=off", "-c", code], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "42\n" in r.stdout and "status ok" in r.stdout


def test_a_stdout_that_cannot_be_written_is_said(env, tmp_path):
    """Installing or removing with stdout on a full disk or closed exited 0 and said
    nothing (the "Installed kernelspec ..." line lost), where every other command
    exits 2 naming stdout and the reason.  Now it does too, and says the kernelspec
    is installed (or removed) all the same."""
    prefix = tmp_path / "pfx"
    spec = prefix / "share" / "jupyter" / "kernels" / "nbstage" / "kernel.json"
    env = dict(env, JUPYTER_PATH=str(prefix / "share" / "jupyter"))  # no warning of that
    for target, why in LOST_STDOUT:
        for args, done in ((["--prefix", str(prefix)], "installed"), (["--remove", "--prefix", str(prefix)], "removed")):
            r = run_lost_stdout([NBSTAGE, "install-kernel", *args], target, env=env)
            assert r.returncode == 2, (args, target, r.stderr)
            assert r.stderr == f"nbstage install-kernel: <stdout>: write error: {why} (the kernelspec is {done})\n"
            assert spec.exists() == (done == "installed"), (args, target)


def test_a_place_jupyter_does_not_search_is_warned(env, tmp_path):
    """`python -m ipykernel install --prefix P` (jupyter_client's install_kernel_spec)
    warns when P/share/jupyter/kernels is not among the folders Jupyter searches: the
    kernelspec may not be found.  install-kernel said only "Installed", and `jupyter
    kernelspec list` then did not show it.  It now warns too (exit 0, the spec is
    written), naming JUPYTER_PATH; nothing is said where Jupyter looks."""
    prefix = tmp_path / "pfx"
    r = nbstage(env, "--prefix", str(prefix))
    assert r.returncode == 0, r.stderr
    kdir = prefix / "share" / "jupyter" / "kernels"
    assert (kdir / "nbstage" / "kernel.json").is_file()
    assert "nbstage" not in jupyter_kernels(env)
    assert r.stderr == (f"nbstage install-kernel: warning: {kdir} is not among the folders "
                        f"Jupyter searches for kernels: it will not list nbstage until "
                        f"JUPYTER_PATH names {prefix / 'share' / 'jupyter'}\n"), r.stderr
    seen = dict(env, JUPYTER_PATH=str(prefix / "share" / "jupyter"))
    assert "nbstage" in jupyter_kernels(seen)
    # the same place named relatively, or through JUPYTER_PATH: nothing to say
    r = subprocess.run([str(NBSTAGE), "install-kernel", "--prefix", "pfx"], env=seen,
                       cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    for args, e in ((["--user"], env), (["--user", "--name", "jd"], dict(env, JUPYTER_DATA_DIR=str(tmp_path / "jd")))):
        r = nbstage(e, *args)
        assert r.returncode == 0 and r.stderr == "", (args, r.stderr)
    # removing says nothing of it
    r = nbstage(env, "--prefix", str(prefix), "--remove")
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_the_wrapped_kernels_resources_come_along(env, tmp_path):
    """Jupyter's server serves a kernelspec's kernel.js, kernel.css and every logo-*
    file (jupyter_server's kernelspec_model; the classic Notebook runs kernel.js, as
    IRkernel's sets up its editor).  Only three logo names were copied: a wrapped
    kernel's kernel.js, kernel.css or logo-128x128.png were lost.  Now the stage
    kernel's spec offers the same resources as the kernel it wraps, none left from a
    kernel wrapped before, and --remove takes them all."""
    from_server = (
        "import json, sys\n"
        "from jupyter_server.services.kernelspecs.handlers import kernelspec_model\n"
        "from jupyter_client.kernelspec import KernelSpecManager\n"
        "class H: base_url = '/'\n"
        "m = KernelSpecManager()\n"
        "print(json.dumps({n: sorted(kernelspec_model(H, n, {}, m.get_kernel_spec(n).resource_dir)"
        "['resources']) for n in sys.argv[1:]}))\n")

    def resources(e, *names):
        r = subprocess.run([PYTHON, "-Xfrozen_modules=off", "-c", from_server, *names], env=e,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    jp = tmp_path / "jp"
    d = jp / "kernels" / "rlike"
    d.mkdir(parents=True)
    (d / "kernel.json").write_text(json.dumps(
        {"argv": [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "R-like", "language": "python"}))
    files = {"kernel.js": b"define([], function() { return {onload: function() {}}; });",
             "kernel.css": b".x {}", "logo-128x128.png": b"\x89PNG 128", "logo-64x64.png": b"\x89PNG 64"}
    for name, data in files.items():
        (d / name).write_bytes(data)
    (d / "install.py").write_text("# not a resource Jupyter serves\n")
    env = dict(env, JUPYTER_PATH=str(jp))
    r = nbstage(env, "--wrap", "rlike", "--name", "st")
    assert r.returncode == 0, r.stderr
    got = resources(env, "rlike", "st")
    assert got["st"] == got["rlike"] == ["kernel.css", "kernel.js", "logo-128x128", "logo-64x64"], got
    spec = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels" / "st"
    for name, data in files.items():
        assert (spec / name).read_bytes() == data
    assert sorted(p.name for p in spec.iterdir()) == sorted([*files, "kernel.json"])

    r = nbstage(env, "--wrap", "python3", "--name", "st")  # none of rlike's left
    assert r.returncode == 0, r.stderr
    assert resources(env, "st")["st"] == ["logo-32x32", "logo-64x64", "logo-svg"]
    assert nbstage(env, "--wrap", "rlike", "--name", "st").returncode == 0
    r = nbstage(env, "--name", "st", "--remove")
    assert r.returncode == 0, r.stderr
    assert not spec.exists()


def test_a_failed_install_leaves_no_empty_folder(env, tmp_path):
    """A display name that is not UTF-8 is refused (exit 2), but the spec's folder had
    been made first and was left behind, empty."""
    r = nbstage(env, "--name", "bad", "--display-name", "caf\udce9")
    assert r.returncode == 2 and "UTF-8" in r.stderr, r.stderr
    kernels = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels"
    assert not (kernels / "bad").exists()


def test_a_reinstall_that_drops_ones_options_says_what_ran_before(env, tmp_path):
    # `make run` reinstalls "nbstage" for the user: options chosen at an earlier install
    # (here --min-confidence and --tag-position) are lost, and the user must be told.
    first = nbstage(env, "--user", "--min-confidence", "0.7", "--tag-position", "bottom")
    assert first.returncode == 0, first.stderr
    assert "replaces" not in first.stderr
    again = nbstage(env, "--user")
    assert again.returncode == 0, again.stderr
    assert "replaces a kernelspec that ran" in again.stderr
    assert "--tag-position bottom --min-confidence 0.7" in again.stderr
    assert jupyter_kernels(env)["nbstage"]["spec"]["argv"][5:] == []
    same = nbstage(env, "--user")  # the same command again: nothing lost, nothing said
    assert same.returncode == 0 and "replaces" not in same.stderr, same.stderr


def test_a_reinstall_that_drops_an_env_or_a_display_name_says_so(env, tmp_path):
    """The README offers a kernelspec's "env" as the other way to set the kernel's options;
    a reinstall (`make run`'s) dropped it, and a display name of the user's, without a
    word, as it once dropped options (test above)."""
    first = nbstage(env, "--user", "--display-name", "Mine")
    assert first.returncode == 0, first.stderr
    spec = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels" / "nbstage" / "kernel.json"
    d = json.loads(spec.read_text())
    d["env"] = {"NBSTAGE_TAG_POSITION": "bottom", "NBSTAGE_MIN_CONFIDENCE": "0.9"}
    # a word of kernel.json is anybody's text: shown as messages show names (it was raw:
    # the newline split the note, the escape sequence reached the terminal)
    d["env"]["NBSTAGE_MODEL"] = "m\n\x1b[2J\\x1b.nbsm"
    d["argv"].append("--x=a\n\x1b[2J\\x1b")
    spec.write_text(json.dumps(d))
    again = nbstage(env, "--user")
    assert again.returncode == 0, again.stderr
    assert "\x1b" not in again.stderr, again.stderr
    assert 'replaces a kernelspec whose "env" set: NBSTAGE_TAG_POSITION=bottom NBSTAGE_MIN_CONFIDENCE=0.9 ' \
        'NBSTAGE_MODEL=m\\n\\x1b[2J\\\\x1b.nbsm\n' in again.stderr, again.stderr
    assert " --x=a\\n\\x1b[2J\\\\x1b\n" in again.stderr, again.stderr
    assert 'replaces a kernelspec shown as "Mine"' in again.stderr, again.stderr
    same = nbstage(env, "--user")
    assert same.returncode == 0 and "replaces" not in same.stderr, same.stderr


def test_each_note_of_a_reinstall_reaches_stderr_in_one_write(env, tmp_path):
    """The notes naming an old kernelspec's argv and env were written a word (and each
    escape in a word) at a time, each a write(2) of its own on the unbuffered stderr:
    another process writing to the same terminal or log could land inside the line.
    stderr is a packet-mode pipe here (stderr_packets.py)."""
    first = nbstage(env, "--user", "--display-name", "Mine", "--tag-position", "bottom")
    assert first.returncode == 0, first.stderr
    spec = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels" / "nbstage" / "kernel.json"
    d = json.loads(spec.read_text())
    d["env"] = {"NBSTAGE_MIN_CONFIDENCE": "0.9", "NBSTAGE_MODEL": "a b\x1b.nbsm"}
    d["argv"].append("--x=a\n\x1b")
    spec.write_text(json.dumps(d))
    got = run_stderr_packets([NBSTAGE, "install-kernel", "--user"], env=env, timeout=30)
    if got is None:
        pytest.skip("no packet-mode pipes here")
    rc, packets = got
    assert rc == 0, packets
    assert not lines_cut(packets), packets
    ran = [pk for pk in packets if b"replaces a kernelspec that ran:" in pk]
    assert len(ran) == 1 and ran[0].startswith(b"nbstage install-kernel: note:"), packets
    assert ran[0].endswith(b" --tag-position bottom --x=a\\n\\x1b\n"), packets
    assert [pk for pk in packets if pk == b'nbstage install-kernel: note: it replaces a kernelspec whose "env" '
            b"set: NBSTAGE_MIN_CONFIDENCE=0.9 NBSTAGE_MODEL='a b\\x1b.nbsm'\n"], packets


def test_a_name_another_kernel_has_is_said(env, tmp_path):
    """`--name ir` installed a stage kernel that hid the R kernel of that name in
    Jupyter's list, without a word, where the name of the kernel it wraps is refused."""
    other = tmp_path / "jp" / "kernels" / "fake-r"
    other.mkdir(parents=True)
    (other / "kernel.json").write_text(json.dumps({"argv": ["R", "-f", "{connection_file}"],
                                                   "display_name": "R", "language": "R"}))
    e = dict(env, JUPYTER_PATH=str(tmp_path / "jp"))
    r = nbstage(e, "--user", "--name", "fake-r")
    assert r.returncode == 0, r.stderr
    assert f'warning: --name "fake-r" is the name of the kernel in {other} (R): Jupyter will list one of ' \
           "the two only" in r.stderr, r.stderr
    r = nbstage(e, "--user", "--name", "stages")
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
