"""test_tag_more.py — `nbstage tag` on what re-tagging real repositories meets beyond
test_tag.py: extended attributes and POSIX ACLs kept by the rewrite (as nbformat.write,
which writes the file in place, keeps them), file names up to the longest a folder
takes (NAME_MAX bytes: the temporary beside them must still fit).

Helpers, the notebooks and the model are test_tag.py's.
"""
import errno
import json
import os
import struct
from pathlib import Path

import pytest

# model: test_tag.py's fixture, asked for by name
from test_tag import BIN, SIMPLE, make_nb, model, nbstage, tagged_cells  # noqa: F401

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} not built")

# ------------------------------------------------------------------ xattrs, ACLs

ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER = 0x01, 0x02, 0x04, 0x10, 0x20
NO_ID = 0xFFFFFFFF


def acl_xattr(entries):
    """The system.posix_acl_access value of ENTRIES [(tag, perm, id)], as setfacl
    writes it (version 2, entries sorted by tag then id)."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i)
                                           for t, p, i in sorted(entries, key=lambda e: e[::2]))


def xattrs(p: Path):
    return {k: os.getxattr(p, k) for k in sorted(os.listxattr(p))}


def test_extended_attributes_and_acl_kept(model, tmp_path):
    """A rewrite is a new file renamed over the old one: it keeps the old file's
    extended attributes (a user's labels, a POSIX ACL giving another user write
    access in a shared folder), in place with tag and with fmt."""
    f = tmp_path / "shared.ipynb"
    f.write_text(make_nb(SIMPLE))
    f.chmod(0o664)
    try:
        os.setxattr(f, "user.origin", b"https://example.org/repo")
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EPERM):
            pytest.skip(f"no user xattrs here: {e}")
        raise
    acl = acl_xattr([(ACL_USER_OBJ, 6, NO_ID), (ACL_USER, 6, 65534), (ACL_GROUP_OBJ, 4, NO_ID),
                     (ACL_MASK, 6, NO_ID), (ACL_OTHER, 4, NO_ID)])
    try:
        os.setxattr(f, "system.posix_acl_access", acl)
    except OSError as e:
        if e.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        acl = None  # a filesystem without ACLs: the user attribute alone
    before, mode = xattrs(f), f.stat().st_mode & 0o7777
    if acl:
        assert before["system.posix_acl_access"] == acl
    r = nbstage("tag", "-m", model, f)
    assert r.returncode == 0 and "1 rewritten" in r.stderr, r.stderr
    assert all(s for s, _ in tagged_cells(json.loads(f.read_text()))[:3])
    assert xattrs(f) == before
    assert f.stat().st_mode & 0o7777 == mode
    f.write_text(f.read_text().replace("\n", "\r\n"))  # a layout fmt rewrites
    r = nbstage("fmt", f)
    assert r.returncode == 0 and b"\r\n" not in f.read_bytes(), r.stderr
    assert xattrs(f) == before


# ------------------------------------------------------------------ long names

def test_names_up_to_name_max_are_tagged(model, tmp_path):
    """A name of 240 to 255 bytes leaves no room for '.NAME.nbstage-XXXXXX': the
    temporary's name is shortened (at a character's boundary), not the save refused."""
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    names = ["a" * (limit - 6) + ".ipynb",                      # NAME_MAX bytes
             "é" * ((limit - 7) // 2) + "b.ipynb",              # two-byte characters
             "数据" * ((limit - 6) // 6) + ".ipynb"]            # three-byte ones
    for n in names:
        assert len(n.encode()) <= limit
        (tmp_path / n).write_text(make_nb(SIMPLE))
    r = nbstage("tag", "-m", model, "-j", 2, tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"{len(names)} notebooks: {len(names)} rewritten" in r.stderr
    for n in names:
        assert b"stage:" in (tmp_path / n).read_bytes(), n
    assert sorted(os.listdir(tmp_path)) == sorted(names), "no temporaries left"
    # -o onto such a name, and fmt in place
    out = tmp_path / names[0]
    r = nbstage("tag", "-m", model, "-o", out, tmp_path / names[1])
    assert r.returncode == 0, r.stderr
    (tmp_path / names[2]).write_text(make_nb(SIMPLE).replace("\n", "\r\n"))
    r = nbstage("fmt", tmp_path / names[2])
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path)) == sorted(names)
