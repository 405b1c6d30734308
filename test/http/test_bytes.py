"""Bytes on disk (issue 11): a damaged blob file is healed by a re-upload
of the same bytes, never deduplicated onto; HEAD and conditional requests
agree with GET about missing or truncated blob files."""
import hashlib
import os
import subprocess

from apihelp import Api, b3sum_bytes, problem
from conftest import Proc, daemon_argv


def blob_path(data_dir, addr):
    hexd = addr.split(":", 1)[1]
    return os.path.join(data_dir, "blobs", "blake3", hexd[:2], hexd[2:4], hexd)


def put(api, pkg, path, data):
    return api.json("PUT", f"/v1/packages/{pkg['id']}/files/{path}", data,
                    expect=201)


def flip_byte(path, off):
    os.chmod(path, 0o640)
    with open(path, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0x20]))


def test_reupload_heals_damaged_blob(daemon):
    api = Api(daemon)
    pkg = api.create()
    data = os.urandom(300001)
    rec = put(api, pkg, "a.bin", data)
    path = blob_path(daemon.data_dir, rec["blake3"])
    flip_byte(path, 150000)
    with open(path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() != rec["sha256"][7:]

    again = put(api, pkg, "again.bin", data)
    assert again["blake3"] == rec["blake3"]
    with open(path, "rb") as f:
        on_disk = f.read()
    assert on_disk == data
    assert hashlib.sha256(on_disk).hexdigest() == rec["sha256"][7:]
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o440)
    for url in (f"/v1/files/{rec['id']}", f"/v1/files/{again['id']}",
                f"/v1/blobs/{rec['blake3']}"):
        st, _, body = api.req("GET", url)
        assert st == 200 and body == data


def expect_unavailable(api, url, etag):
    st, h, body = api.req("HEAD", url)
    assert st == 503, (url, st, h)
    assert h["content-type"].startswith("application/problem+json")
    st, _, body = api.req("GET", url)
    problem(body, 503, "blob-unavailable")
    st, _, body = api.req("GET", url, headers={"If-None-Match": etag})
    problem(body, 503, "blob-unavailable")
    st, _, body = api.req("GET", url, headers={"Range": "bytes=0-0"})
    problem(body, 503, "blob-unavailable")
    # 416 sends no bytes either, but the missing bytes are said first
    st, _, body = api.req("GET", url, headers={"Range": "bytes=99999999-"})
    problem(body, 503, "blob-unavailable")


def test_head_and_conditional_agree_with_get(daemon):
    api = Api(daemon)
    pkg = api.create()
    gone = put(api, pkg, "gone.bin", b"these bytes will be deleted\n" * 100)
    short = put(api, pkg, "short.bin", b"these bytes will be truncated\n" * 100)
    for rec in (gone, short):
        etag = '"%s"' % rec["blake3"]
        for url in (f"/v1/files/{rec['id']}", f"/v1/blobs/{rec['blake3']}"):
            st, h, _ = api.req("HEAD", url)
            assert st == 200 and h["content-length"] == str(rec["size"])
            st, _, _ = api.req("GET", url, headers={"If-None-Match": etag})
            assert st == 304

    os.unlink(blob_path(daemon.data_dir, gone["blake3"]))
    p = blob_path(daemon.data_dir, short["blake3"])
    os.chmod(p, 0o640)
    os.truncate(p, short["size"] - 1)
    for rec in (gone, short):
        etag = '"%s"' % rec["blake3"]
        for url in (f"/v1/files/{rec['id']}", f"/v1/blobs/{rec['blake3']}",
                    f"/v1/blobs/{rec['sha256']}"):
            expect_unavailable(api, url, etag)


def verify_blobs(data_dir):
    exe = os.environ["ARTIFACTSTORED"]
    r = subprocess.run([exe, "--verify-log", "--blobs", "--data", str(data_dir)],
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def write_blob(data_dir, addr, data):
    p = blob_path(data_dir, addr)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if os.path.exists(p):
        os.chmod(p, 0o640)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, 0o440)


def test_verify_log_blobs(tmp_path, data_dir):
    d = Proc(daemon_argv(data_dir), tmp_path, "daemon").start()
    api = Api(d)
    p1, p2 = api.create(), api.create(name="second")
    good_bytes, bad_bytes, gone_bytes = (os.urandom(n) for n in (5000, 70000, 1234))
    good = put(api, p1, "good.bin", good_bytes)
    bad = put(api, p1, "dir/bad.bin", bad_bytes)
    gone = put(api, p1, "gone.bin", gone_bytes)
    gone2 = put(api, p2, "also/gone.bin", gone_bytes)
    assert d.stop() == 0, d.stderr_text()[-4000:]

    rc, out, err = verify_blobs(data_dir)
    assert rc == 0, out + err
    assert "verify-log: ok" in out and "verify-blobs: ok" in out
    assert "3 referenced (76234 bytes): 3 ok, 0 missing, 0 damaged" in out
    assert "0 orphans" in out and "GB/s" in out

    flip_byte(blob_path(data_dir, bad["blake3"]), 69999)
    os.unlink(blob_path(data_dir, gone["blake3"]))
    # orphans: a valid blob file nothing references, and a copy of a
    # stored file under the name of other bytes
    orphan_bytes = b"durable but never committed\n"
    orphan = "blake3:" + b3sum_bytes(orphan_bytes)
    write_blob(data_dir, orphan, orphan_bytes)
    misnamed = "blake3:" + b3sum_bytes(b"other bytes")
    write_blob(data_dir, misnamed, good_bytes)

    rc, out, err = verify_blobs(data_dir)
    assert rc == 1, out + err
    lines = out.splitlines()

    def block(word, rec):
        i = next(i for i, l in enumerate(lines)
                 if l.startswith(f"blobs: {word} {rec['blake3']} ({rec['sha256']}, {rec['size']} bytes)"))
        users = []
        for l in lines[i + 1:]:
            if not l.startswith("  used by "):
                break
            users.append(l.strip())
        return lines[i], users

    head, users = block("DAMAGED", bad)
    assert "the bytes on disk hash to blake3:" in head
    assert users == [f'used by package {p1["id"]} path "dir/bad.bin"']
    head, users = block("MISSING", gone)
    assert sorted(users) == sorted([f'used by package {p1["id"]} path "gone.bin"',
                                    f'used by package {p2["id"]} path "also/gone.bin"'])
    assert f"blobs: orphan {orphan}: {len(orphan_bytes)} bytes stored" in out
    assert f"blobs: orphan {misnamed}: {len(good_bytes)} bytes stored" in out
    assert "3 referenced (76234 bytes): 1 ok, 1 missing, 1 damaged" in out
    assert f"2 orphans ({len(orphan_bytes) + len(good_bytes)} bytes)" in out
    assert "verify-blobs: FAILED" in out
    assert good["blake3"] not in out

    # a truncated file is damaged too, reported with its size on disk
    p = blob_path(data_dir, bad["blake3"])
    os.truncate(p, 100)
    rc, out, err = verify_blobs(data_dir)
    assert rc == 1
    assert f"blobs: DAMAGED {bad['blake3']} ({bad['sha256']}, 70000 bytes): 100 bytes on disk" in out

    # restored from a backup: ok again, the orphans still listed (exit 0)
    write_blob(data_dir, bad["blake3"], bad_bytes)
    write_blob(data_dir, gone["blake3"], gone_bytes)
    rc, out, err = verify_blobs(data_dir)
    assert rc == 0, out + err
    assert "3 ok, 0 missing, 0 damaged, 0 unreadable; 2 orphans" in out
    assert f"blobs: orphan {orphan}" in out
    assert "verify-blobs: ok" in out
    assert gone2["blake3"] == gone["blake3"]


def test_verify_log_blobs_refuses_misplaced_flag(data_dir):
    exe = os.environ["ARTIFACTSTORED"]
    r = subprocess.run([exe, "--blobs", "--data", str(data_dir)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "--blobs only goes with --verify-log" in r.stderr


def test_verify_log_blobs_on_a_store_without_blobs(tmp_path, data_dir):
    """No blob stored yet: the listing hands over an empty batch (under
    UBSan this was memcpy to a null pointer and an abort)."""
    d = Proc(daemon_argv(data_dir), tmp_path, "daemon").start()
    Api(d).create()
    assert d.stop() == 0, d.stderr_text()[-4000:]
    rc, out, err = verify_blobs(data_dir)
    assert rc == 0, out + err
    assert "runtime error" not in err
    assert "0 referenced (0 bytes): 0 ok" in out and "0 orphans" in out
    assert "verify-blobs: ok" in out


def test_verify_log_blobs_orphans_only(tmp_path, data_dir):
    """Blob files but no file referencing any: every one is an orphan
    (under UBSan, bsearch over the empty, null list of references
    aborted)."""
    d = Proc(daemon_argv(data_dir), tmp_path, "daemon").start()
    Api(d).create()
    assert d.stop() == 0, d.stderr_text()[-4000:]
    orphan_bytes = b"stored, never committed\n"
    orphan = "blake3:" + b3sum_bytes(orphan_bytes)
    write_blob(data_dir, orphan, orphan_bytes)
    rc, out, err = verify_blobs(data_dir)
    assert rc == 0, out + err
    assert "runtime error" not in err
    assert f"blobs: orphan {orphan}: {len(orphan_bytes)} bytes stored" in out
    assert f"0 referenced (0 bytes): 0 ok, 0 missing, 0 damaged, 0 unreadable; 1 orphans" in out
