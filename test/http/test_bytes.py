"""Bytes on disk (issue 11): a damaged blob file is healed by a re-upload
of the same bytes, never deduplicated onto; HEAD and conditional requests
agree with GET about missing or truncated blob files."""
import hashlib
import os

from apihelp import Api, problem


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
