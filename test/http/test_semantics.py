"""RFC 9110 / 9111 / 9530 semantics of downloads, uploads and manifests:
conditionals in the order of RFC 9110 section 13.2.2, If-Range, range
numbers past 64 bits, manifest validators, download headers, retries."""
import base64
import hashlib
import json
import socket
import struct
import time

from apihelp import Api, Unchanged, problem
from conftest import RawSock


def upload(api, pkg, path, data, headers=None, expect=201):
    st, h, body = api.req("PUT", f"/v1/packages/{pkg['id']}/files/{path}",
                          body=data, headers=headers)
    assert st == expect, (st, body)
    return st, h, body


def test_conditionals_and_ranges(daemon):
    api = Api(daemon)
    pkg = api.create()
    data = bytes(range(256)) * 40
    _, _, body = upload(api, pkg, "a.bin", data)
    rec = json.loads(body)
    etag = '"%s"' % rec["blake3"]
    other = '"blake3:%s"' % ("0" * 64)
    for url in (f"/v1/files/{rec['id']}", f"/v1/blobs/{rec['blake3']}"):
        # If-Range: 206 only for our own strong tag
        st, h, body = api.req("GET", url, headers={"Range": "bytes=0-9",
                                                   "If-Range": etag})
        assert st == 206 and body == data[:10]
        for validator in (other, "W/" + etag,
                          "Wed, 21 Oct 2015 07:28:00 GMT"):
            st, h, body = api.req("GET", url, headers={
                "Range": "bytes=0-9", "If-Range": validator})
            assert st == 200 and body == data, validator
            assert "content-range" not in h
        # If-Match: strong comparison; * matches what exists
        for method in ("GET", "HEAD"):
            for val in (other, "W/" + etag):
                st, h, body = api.req(method, url, headers={"If-Match": val})
                assert st == 412, (method, val)
                if method == "GET":
                    problem(body, 412, "precondition-failed")
            for val in (etag, "*", f"{other}, {etag}"):
                st, _, _ = api.req(method, url, headers={"If-Match": val})
                assert st == 200, (method, val)
        # If-Match is evaluated before If-None-Match
        st, _, _ = api.req("GET", url, headers={"If-Match": other,
                                                "If-None-Match": etag})
        assert st == 412
        st, _, _ = api.req("GET", url, headers={"If-Match": etag,
                                                "If-None-Match": etag})
        assert st == 304
        # a first position past 2^64 is past the end: 416, not 200
        for rng in ("bytes=99999999999999999999-",
                    "bytes=18446744073709551616-18446744073709551617"):
            st, h, body = api.req("GET", url, headers={"Range": rng})
            assert st == 416, rng
            assert h["content-range"] == f"bytes */{len(data)}"
        # a last position past 2^64 is the end; a huge suffix the whole
        st, h, body = api.req("GET", url,
                              headers={"Range": "bytes=5-99999999999999999999"})
        assert st == 206 and body == data[5:]
        st, h, body = api.req("GET", url,
                              headers={"Range": "bytes=-99999999999999999999"})
        assert st == 206 and body == data


def test_upload_preconditions(daemon):
    api = Api(daemon)
    pkg = api.create()
    _, _, body = upload(api, pkg, "x.bin", b"first")
    rec = json.loads(body)
    with Unchanged(api):
        # If-Match on a new path: nothing to match, nothing stored
        st, _, body = api.req("PUT", f"/v1/packages/{pkg['id']}/files/new.bin",
                              body=b"new bytes", headers={"If-Match": "*"})
        assert st == 412
        problem(body, 412, "precondition-failed")
        # If-None-Match: * on an existing path: 412, not 409
        st, _, body = api.req("PUT", f"/v1/packages/{pkg['id']}/files/x.bin",
                              body=b"other", headers={"If-None-Match": "*"})
        assert st == 412
        problem(body, 412, "precondition-failed")
        st, _, body = api.req("PUT", f"/v1/packages/{pkg['id']}/files/x.bin",
                              body=b"other",
                              headers={"If-Match": '"blake3:%s"' % ("0" * 64)})
        assert st == 412
    st, _, _ = api.req("GET", f"/v1/packages/{pkg['id']}/files/new.bin")
    listed = api.json("GET", f"/v1/packages/{pkg['id']}/files")["files"]
    assert [f["path"] for f in listed] == ["x.bin"]
    # If-None-Match: * on a new path is the ordinary create
    upload(api, pkg, "y.bin", b"y", headers={"If-None-Match": "*"})


def test_manifest_validators(daemon):
    api = Api(daemon)
    pkg = api.create()
    upload(api, pkg, "m.txt", b"manifest me")
    api.json("POST", f"/v1/packages/{pkg['id']}/finalize")
    url = f"/v1/packages/{pkg['id']}/manifest"
    st, hc, cbor = api.req("GET", url, headers={"Accept": "application/cbor"})
    assert st == 200
    st, hj, js = api.req("GET", url)
    assert st == 200 and cbor != js
    assert hc["etag"] != hj["etag"]
    for h, body in ((hc, cbor), (hj, js)):
        assert h["repr-digest"] == "sha-256=:%s:" % base64.b64encode(
            hashlib.sha256(body).digest()).decode()
        assert h["cache-control"] == "public, max-age=31536000, immutable"
        assert h["vary"] == "Accept"
    # each form's tag validates that form only
    st, h, _ = api.req("GET", url, headers={"If-None-Match": hj["etag"]})
    assert st == 304 and h["etag"] == hj["etag"]
    assert h["cache-control"] == "public, max-age=31536000, immutable"
    st, _, body = api.req("GET", url, headers={"If-None-Match": hc["etag"]})
    assert st == 200 and body == js
    st, _, body = api.req("GET", url, headers={"If-None-Match": hj["etag"],
                                                 "Accept": "application/cbor"})
    assert st == 200 and body == cbor
    st, _, body = api.req("GET", url, headers={"If-Match": hc["etag"]})
    assert st == 412


def test_download_headers(daemon):
    api = Api(daemon)
    pkg = api.create()
    html = b"<html><script>alert(document.cookie)</script></html>"
    _, _, body = upload(api, pkg, "site/r%C3%A9sum%C3%A9%20%22v1%22.html",
                        html, headers={"Content-Type": "text/html"})
    rec = json.loads(body)
    fid = rec["id"]
    disp = ("attachment; filename=\"r__sum__ _v1_.html\"; "
            "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v1%22.html")
    for method in ("GET", "HEAD"):
        st, h, _ = api.req(method, f"/v1/files/{fid}")
        assert st == 200
        assert h["content-type"] == "text/html"
        assert h["content-security-policy"] == "sandbox"
        assert h["content-disposition"] == disp
    st, h, body = api.req("GET", f"/v1/files/{fid}?disposition=inline")
    assert st == 200 and body == html
    assert h["content-disposition"].startswith("inline; filename=")
    assert h["content-security-policy"] == "sandbox"
    st, _, body = api.req("GET", f"/v1/files/{fid}?disposition=evil")
    assert st == 400
    problem(body, 400, "invalid-parameter")
    # by address: bytes several files may share, so no one file's type
    for addr in (rec["blake3"], rec["sha256"]):
        st, h, body = api.req("GET", f"/v1/blobs/{addr}")
        assert st == 200 and body == html
        assert h["content-type"] == "application/octet-stream"
        assert h["content-security-policy"] == "sandbox"
        assert h["content-disposition"] == "attachment"
    # 206: Content-Digest of the part sent, Repr-Digest of the whole
    st, h, body = api.req("GET", f"/v1/files/{fid}",
                          headers={"Range": "bytes=6-13"})
    assert st == 206 and body == html[6:14]
    b64 = lambda b: base64.b64encode(hashlib.sha256(b).digest()).decode()
    assert h["content-digest"] == "sha-256=:%s:" % b64(body)
    assert h["repr-digest"] == "sha-256=:%s:" % b64(html)
    assert h["content-disposition"] == disp


def sha_header(b):
    return "sha-256=:%s:" % base64.b64encode(hashlib.sha256(b).digest()).decode()


def pattern(n):
    return (bytes(range(251)) * (n // 251 + 1))[:n]


def test_range_digest_bound(daemon):
    """Every 206 of at most 64 MiB carries the Content-Digest of the part:
    up to 512 KiB read once, larger ones hashed in a first pass."""
    api = Api(daemon)
    pkg = api.create()
    data = pattern((3 << 20) + 4096)
    _, _, body = upload(api, pkg, "big.bin", data)
    fid = json.loads(body)["id"]
    lim = 512 << 10
    # a small range (one read), then just past it and 2 MiB (two passes)
    for a, b in ((1, lim), (1, lim + 1), (4095, 4095 + (2 << 20) - 1)):
        st, h, body = api.req("GET", f"/v1/files/{fid}",
                              headers={"Range": f"bytes={a}-{b}"})
        assert st == 206 and body == data[a:b + 1], (a, b)
        assert h["content-digest"] == sha_header(body), (a, b)
        assert h["repr-digest"] == sha_header(data)
    st, h, body = api.req("GET", f"/v1/files/{fid}")
    assert st == 200 and body == data and "content-digest" not in h


def test_range_digest_over_bound(daemon):
    """A range over 64 MiB has no Content-Digest; a client gone during the
    first pass leaves the daemon serving (and, under LSan, leak-free)."""
    api = Api(daemon)
    pkg = api.create()
    mib = 1 << 20
    data = pattern(64 * mib + 2)
    _, _, body = upload(api, pkg, "huge.bin", data)
    fid = json.loads(body)["id"]
    st, h, body = api.req("GET", f"/v1/files/{fid}",
                          headers={"Range": f"bytes=0-{64 * mib}"})
    assert st == 206 and len(body) == 64 * mib + 1 and body == data[:-1]
    assert "content-digest" not in h
    st, h, body = api.req("GET", f"/v1/files/{fid}",
                          headers={"Range": f"bytes=1-{64 * mib}"})
    assert st == 206 and body == data[1:-1]
    assert h["content-digest"] == sha_header(body)
    # the head of a large range waits for its first pass: a client that
    # leaves before any byte came left during it
    req = (f"GET /v1/files/{fid} HTTP/1.1\r\nHost: x\r\n"
           f"Range: bytes=1-{64 * mib}\r\n\r\n").encode()
    early = 0
    for delay in (0, 0.002, 0.005, 0.01, 0.02, 0.05):
        s = RawSock(daemon.host, daemon.port)
        s.send(req)
        time.sleep(delay)
        s.s.setblocking(False)
        try:
            s.s.recv(1)  # a byte (or EOF): the head was out
        except BlockingIOError:
            early += 1  # nothing yet: still in the first pass
        s.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                       struct.pack("ii", 1, 0))  # reset: gone at once
        s.close()
    assert early >= 1
    st, h, body = api.req("GET", f"/v1/files/{fid}",
                          headers={"Range": f"bytes=5-{2 * mib}"})
    assert st == 206 and body == data[5:2 * mib + 1]
    assert h["content-digest"] == sha_header(body)


def test_retries(daemon):
    api = Api(daemon)
    pkg = api.create()
    data = b"the bytes of a retried upload" * 100
    _, _, body = upload(api, pkg, "r/x.bin", data,
                        headers={"Content-Type": "text/plain"})
    rec = json.loads(body)
    with Unchanged(api):
        # the identical retry: 200 and the file as it is, nothing new
        st, h, body = upload(api, pkg, "r/x.bin", data, expect=200,
                             headers={"Content-Type": "text/plain"})
        assert json.loads(body) == rec
        assert h["content-location"] == f"/v1/files/{rec['id']}"
        # chunked: the size is not known before the end, the bytes decide
        st, h, body = upload(api, pkg, "r/x.bin", iter([data[:7], data[7:]]),
                             expect=200)
        assert json.loads(body) == rec
        # other bytes at the path: 409 naming the file that is there (the
        # same size is read and compared, another size refused at once)
        for other, chunked in ((data[:-1] + b"!", False),
                               (data + b"more", False), (b"", False),
                               (data[:-1] + b"!", True), (data[:5], True)):
            send = iter([other[:3], other[3:]]) if chunked else other
            st, _, body = api.req(
                "PUT", f"/v1/packages/{pkg['id']}/files/r/x.bin", body=send)
            assert st == 409, (other[-8:], chunked)
            doc = problem(body, 409, "duplicate-path")
            assert doc["blake3"] == rec["blake3"]
            assert doc["sha256"] == rec["sha256"]
            assert doc["size"] == rec["size"]
            assert doc["file_id"] == rec["id"]
    # finalize, twice: the second 409 names the manifest
    fin = api.json("POST", f"/v1/packages/{pkg['id']}/finalize")
    st, _, body = api.req("POST", f"/v1/packages/{pkg['id']}/finalize")
    assert st == 409
    doc = problem(body, 409, "already-finalized")
    assert doc["manifest_digest"] == fin["manifest_digest"]


def test_retry_racing_upload(daemon):
    """Two uploads of one path whose heads both pass before either body
    ends: the second learns of the first at commit (the registry's
    duplicate-path) and still answers like a retry."""
    import http.client
    api = Api(daemon)
    pkg = api.create()
    url = f"/v1/packages/{pkg['id']}/files/race.bin"

    def start(data):
        c = http.client.HTTPConnection(daemon.host, daemon.port, timeout=30)
        c.putrequest("PUT", url)
        c.putheader("Content-Length", str(len(data)))
        c.endheaders()
        c.send(data[:10])
        return c

    def finish(c, data):
        c.send(data[10:])
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body

    same = b"s" * 5000
    a, b = start(same), start(same)
    time.sleep(0.3)  # both heads checked: the path was free for both
    st, body = finish(a, same)
    assert st == 201
    rec = json.loads(body)
    st, body = finish(b, same)
    assert st == 200 and json.loads(body) == rec
    # racing with other bytes: 409 naming the file that won
    url = f"/v1/packages/{pkg['id']}/files/race2.bin"
    other = b"o" * 5000
    a, b = start(same), start(other)
    time.sleep(0.3)
    st, body = finish(a, same)
    assert st == 201
    won = json.loads(body)
    st, body = finish(b, other)
    assert st == 409
    doc = problem(body, 409, "duplicate-path")
    assert doc["file_id"] == won["id"] and doc["blake3"] == won["blake3"]


def test_conditionals_split_over_lines(daemon):
    """If-Match / If-None-Match sent as several field lines are one list
    (RFC 9110 section 5.3): a match on any line counts."""
    api = Api(daemon)
    pkg = api.create()
    _, _, body = upload(api, pkg, "s.bin", b"split lines")
    rec = json.loads(body)
    etag = '"%s"' % rec["blake3"]
    other = '"blake3:%s"' % ("0" * 64)
    s = RawSock(daemon.host, daemon.port)
    # an upload: the same bytes again, If-Match naming them on line two
    s.send(("PUT /v1/packages/%s/files/s.bin HTTP/1.1\r\nHost: x\r\n"
            "If-Match: %s\r\nIf-Match: %s\r\nContent-Length: 11\r\n\r\n"
            "split lines" % (pkg["id"], other, etag)).encode())
    assert s.response()[0] == 200
    api.json("POST", f"/v1/packages/{pkg['id']}/finalize")
    _, hm, _ = api.req("GET", f"/v1/packages/{pkg['id']}/manifest")

    def get(url, name, first, second):
        s.send(("GET %s HTTP/1.1\r\nHost: x\r\n%s: %s\r\n%s: %s\r\n\r\n"
                % (url, name, first, name, second)).encode())
        return s.response()[0]

    for url, tag in ((f"/v1/files/{rec['id']}", etag),
                     (f"/v1/blobs/{rec['blake3']}", etag),
                     (f"/v1/packages/{pkg['id']}/manifest", hm["etag"])):
        assert get(url, "If-Match", other, tag) == 200, url
        assert get(url, "If-Match", other, other) == 412, url
        assert get(url, "If-None-Match", other, tag) == 304, url
        assert get(url, "If-None-Match", other, other) == 200, url
    s.close()
