"""Every bad input gets its specific 4xx and problem type, and changes
nothing: no new event, no new blob, no temp file left."""
import base64
import json
import socket
import time
import uuid

import pytest

from apihelp import Api, Unchanged, problem, tmp_files
from conftest import RawSock


@pytest.fixture
def api(daemon):
    return Api(daemon)


def test_routes(api):
    with Unchanged(api):
        st, h, body = api.req("GET", "/v2/nothing")
        assert st == 404
        problem(body, 404, "no-route")
        st, h, body = api.req("DELETE", "/v1/packages")
        assert st == 405 and h["allow"] == "POST, GET, HEAD, OPTIONS"
        problem(body, 405, "method-not-allowed")
        st, h, body = api.req("PUT", "/v1/packages/x/finalize", body=b"x")
        assert st == 405 and h["allow"] == "POST, OPTIONS"
        st, h, body = api.req("POST", "/v1/files/abc")
        assert st == 405 and h["allow"] == "GET, HEAD, OPTIONS"


@pytest.mark.parametrize("body,slug,needle", [
    (b"{not json", "malformed-json", "not valid JSON"),
    (b"[1,2]", "malformed-json", "object"),
    (b'{"name":"a","name":"b"}', "malformed-json", "duplicate"),
    (b'{"producer":"p","subject":"s","retention_class":"transient"}',
     "invalid-field", '"name" is required'),
    (b'{"name":5,"producer":"p","subject":"s","retention_class":"transient"}',
     "invalid-field", '"name" must be a string'),
    (b'{"name":"","producer":"p","subject":"s","retention_class":"transient"}',
     "invalid-field", "non-empty"),
    (b'{"name":"n","producer":"p","subject":"s","retention_class":"transient","metadata":[1]}',
     "invalid-field", "metadata"),
    (b'{"name":"n","producer":"p","subject":"s","retention_class":"transient","extra":1}',
     "invalid-field", "unknown field"),
    (b'{"name":"n","producer":"p","subject":"s","retention_class":"forever"}',
     "unknown-retention-class", ""),
    (b'{"name":"n","producer":"p","subject":"s","retention_class":"transient","metadata":{"x":1.5}}',
     "invalid-field", ""),
])
def test_create_rejects(api, body, slug, needle):
    with Unchanged(api):
        st, h, data = api.req("POST", "/v1/packages", body=body,
                              headers={"Content-Type": "application/json"})
        assert st == 400, data
        doc = problem(data, 400, slug)
        assert needle in doc["detail"]
        assert "\n" not in doc["detail"]


def test_unknown_package(api):
    ghost = str(uuid.uuid4())
    with Unchanged(api):
        for method, path, body in (("GET", f"/v1/packages/{ghost}", None),
                                   ("GET", "/v1/packages/not-a-uuid", None),
                                   ("POST", f"/v1/packages/{ghost}/finalize", None),
                                   ("GET", f"/v1/packages/{ghost}/files", None),
                                   ("GET", f"/v1/packages/{ghost}/manifest", None),
                                   ("PUT", f"/v1/packages/{ghost}/files/a", b"data")):
            st, h, data = api.req(method, path, body=body)
            assert st == 404, (method, path, data)
            problem(data, 404, "unknown-package")
        st, h, data = api.req("GET", f"/v1/files/{ghost}")
        assert st == 404
        problem(data, 404, "unknown-file")
        st, h, data = api.req("GET", "/v1/blobs/blake3:" + "0" * 64)
        assert st == 404
        problem(data, 404, "unknown-blob")
        st, h, data = api.req("GET", "/v1/blobs/md5:abc")
        assert st == 400
        problem(data, 400, "invalid-address")
        for q in ("since=-1", "since=x", "limit=0", "limit=1001", "wait=61"):
            st, h, data = api.req("GET", "/v1/events?" + q)
            assert st == 400, q
            problem(data, 400, "invalid-parameter")
        st, h, data = api.req("GET", "/v1/packages?status=weird")
        assert st == 400
        st, h, data = api.req("GET", "/v1/packages?cursor=bogus")
        assert st == 400
        problem(data, 400, "invalid-parameter")


def test_package_state_conflicts(api):
    pkg = api.create()
    pid = pkg["id"]
    st, h, data = api.req("PUT", f"/v1/packages/{pid}/files/a.txt", body=b"one")
    assert st == 201
    with Unchanged(api):
        st, h, data = api.req("PUT", f"/v1/packages/{pid}/files/a.txt", body=b"two!")
        assert st == 409
        problem(data, 409, "duplicate-path")
        st, h, data = api.req("GET", f"/v1/packages/{pid}/manifest")
        assert st == 409
        problem(data, 409, "package-not-finalized")
    api.json("POST", f"/v1/packages/{pid}/finalize")
    with Unchanged(api):
        st, h, data = api.req("POST", f"/v1/packages/{pid}/finalize")
        assert st == 409
        problem(data, 409, "already-finalized")
        st, h, data = api.req("PUT", f"/v1/packages/{pid}/files/b.txt", body=b"late")
        assert st == 409
        problem(data, 409, "package-finalized")


def raw_put(d, target, body=b"x", headers=b""):
    s = RawSock(d.host, d.port)
    s.send(b"PUT " + target + b" HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n" % len(body)
           + headers + b"\r\n" + body)
    st, h, data = s.response()
    s.close()
    return st, h, data


@pytest.mark.parametrize("path,needle", [
    (b"..", '".."'),
    (b"a/../../b", '".."'),
    (b"%2e%2e", '".."'),
    (b"%2E%2e/x", '".."'),
    (b"a/%2e%2e/b", '".."'),
    (b"./a", '"."'),
    (b"/etc/passwd", ""),
    (b"%2fetc", ""),
    (b"a%5cb", "backslash"),
    (b"a%00b", "NUL"),
    (b"a//b", ""),
    (b"a/", ""),
    (b"x" * 1025, "1024"),
    (b"a/" * 600 + b"b", "1024"),
    (b"%zz", "percent"),
    (b"%c3%28", ""),
])
def test_path_traversal(api, daemon, path, needle):
    pid = api.create()["id"].encode()
    with Unchanged(api):
        st, h, data = raw_put(daemon, b"/v1/packages/" + pid + b"/files/" + path)
        assert st == 400, (path, data)
        doc = problem(data, 400, "invalid-path")
        assert needle.lower() in doc["detail"].lower(), doc
    assert api.json("GET", f"/v1/packages/{pid.decode()}/files")["files"] == []


def test_digest_mismatch(api, daemon):
    pid = api.create()["id"]
    body = b"hello world\n"
    wrong = base64.b64encode(b"\x01" * 32).decode()
    zero = base64.b64encode(b"\x00" * 32).decode()
    with Unchanged(api):
        st, h, data = api.req("PUT", f"/v1/packages/{pid}/files/a", body=body,
                              headers={"Repr-Digest": f"sha-256=:{zero}:"})
        assert st == 400
        problem(data, 400, "digest-mismatch")
        st, h, data = api.req("PUT", f"/v1/packages/{pid}/files/a", body=body,
                              headers={"Repr-Digest": f"sha-256=:{wrong}:"})
        assert st == 400
        problem(data, 400, "digest-mismatch")
        st, h, data = api.req("PUT", f"/v1/packages/{pid}/files/a", body=body,
                              headers={"X-Content-Address": "blake3:" + "ab" * 32})
        assert st == 400
        problem(data, 400, "digest-mismatch")
        for bad in ("sha-256=:nope:", "sha-256=:" + base64.b64encode(b"x" * 31).decode() + ":"):
            st, h, data = api.req("PUT", f"/v1/packages/{pid}/files/a", body=body,
                                  headers={"Repr-Digest": bad})
            assert st == 400
            problem(data, 400, "invalid-digest-header")
        # sha-256 as the second member of the dictionary is still checked
        st, h, data = api.req("PUT", f"/v1/packages/{pid}/files/a", body=body,
                              headers={"Repr-Digest": f"sha-512=:AAAA:,sha-256=:{wrong}:"})
        assert st == 400
        problem(data, 400, "digest-mismatch")
        st, h, data = api.req("PUT", f"/v1/packages/{pid}/files/a", body=body,
                              headers={"X-Content-Address": "blake3:XYZ"})
        assert st == 400
        problem(data, 400, "invalid-digest-header")
        st, h, data = api.req("PUT", f"/v1/packages/{pid}/files/a", body=body,
                              headers={"Content-Type": "bad\x7ftype"})
        assert st == 400
    good = base64.b64encode(__import__("hashlib").sha256(body).digest()).decode()
    st, h, data = api.req("PUT", f"/v1/packages/{pid}/files/a", body=body,
                          headers={"Repr-Digest": f"sha-512=:AAAA:, sha-256=:{good}:"})
    assert st == 201, data
    # "xsha-256" is another dictionary member, not sha-256, and the only
    # one: nothing this server can check (test_digest.py has the rules)
    st, h, data = api.req("PUT", f"/v1/packages/{pid}/files/b", body=body,
                          headers={"Repr-Digest": f"xsha-256=:{wrong}:"})
    assert st == 400, data
    problem(data, 400, "invalid-digest-header")


def test_larger_than_free_space(api, daemon):
    pid = api.create()["id"].encode()
    free = api.json("GET", "/health")["free_bytes"]
    with Unchanged(api):
        s = RawSock(daemon.host, daemon.port)
        s.send(b"PUT /v1/packages/" + pid + b"/files/huge HTTP/1.1\r\nHost: x\r\n"
               b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (free + (1 << 40)))
        st, h, data = s.response()
        assert st == 507  # instead of 100 Continue: nothing was written
        problem(data, 507, "insufficient-storage")
        assert s.closed()
        s.close()


def test_disconnect_mid_upload(api, daemon):
    pid = api.create()["id"].encode()
    with Unchanged(api):
        s = RawSock(daemon.host, daemon.port)
        s.send(b"PUT /v1/packages/" + pid + b"/files/cut HTTP/1.1\r\nHost: x\r\n"
               b"Content-Length: 50000000\r\n\r\n")
        for _ in range(8):
            s.send(b"z" * (1 << 20))
        deadline = time.time() + 5
        while not tmp_files(daemon.data_dir) and time.time() < deadline:
            time.sleep(0.02)
        assert tmp_files(daemon.data_dir), "upload never reached the store"
        s.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # reset mid-body
    assert api.json("GET", f"/v1/packages/{pid.decode()}/files")["files"] == []
    # and a chunked upload cut between chunks
    with Unchanged(api):
        s = RawSock(daemon.host, daemon.port)
        s.send(b"PUT /v1/packages/" + pid + b"/files/cut2 HTTP/1.1\r\nHost: x\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + b"100000\r\n" + b"q" * 0x100000 + b"\r\n")
        time.sleep(0.3)
        s.close()


def test_body_too_large_for_json(api):
    with Unchanged(api):
        st, h, data = api.req("POST", "/v1/packages", body=b"{" + b" " * (2 << 20) + b"}")
        assert st == 413
        problem(data, 413, "body-too-large")


def test_chunked_trailers_are_ignored(api, daemon):
    """Trailer fields after a chunked body come once the request head is
    built; they must not be appended to it (that overran the header
    array).  Routes that look headers up afterwards must still answer."""
    for target in (b"/v1/events?since=0", b"/health",
                   b"/v1/blobs/blake3:" + b"ab" * 32):
        s = RawSock(daemon.host, daemon.port)
        s.send(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n"
               b"0\r\nX-Trailer-One: 1\r\nX-Trailer-Two: 2\r\n\r\n")
        st, h, body = s.response()
        assert st in (200, 404), (target, st, body)
        s.close()
    # a chunked PUT with trailers stores exactly its body
    pid = api.create()["id"]
    s = RawSock(daemon.host, daemon.port)
    s.send(b"PUT /v1/packages/" + pid.encode() + b"/files/t.bin HTTP/1.1\r\n"
           b"Host: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nhello\r\n0\r\nX-Checksum: nope\r\n\r\n")
    st, h, body = s.response()
    assert st == 201, body
    assert json.loads(body)["size"] == 5
    s.close()
    assert api.json("GET", "/health")["status"] == "ok"


def test_list_query_escapes(api):
    st, h, data = api.req("GET", "/v1/packages?name=%zz")
    assert st == 400
    problem(data, 400, "invalid-parameter")
    st, h, data = api.req("GET", "/v1/packages?cursor=%4")
    assert st == 400
    problem(data, 400, "invalid-parameter")
    api.create(name="c++")
    api.create(name="c  ")
    got = api.json("GET", "/v1/packages?name=c%2B%2B")["packages"]
    assert [p["name"] for p in got] == ["c++"]
    # '+' is a plus in a query (RFC 3986), not form encoding's space
    got = api.json("GET", "/v1/packages?name=c++")["packages"]
    assert [p["name"] for p in got] == ["c++"]
    got = api.json("GET", "/v1/packages?name=c%20%20")["packages"]
    assert [p["name"] for p in got] == ["c  "]
