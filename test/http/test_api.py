"""API v1 end to end on the real daemon: create, upload (empty, chunked,
64 MiB) with curl, finalize, manifest in CBOR and JSON, downloads with
digests equal to b3sum/sha256sum, ranges, conditionals, events tail."""
import base64
import json
import os
import subprocess

import cbor2

from apihelp import Api, b3sum, b3sum_bytes, curl, problem, sha256sum, tmp_files


def write_random(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n
    return path


def test_flow(daemon, tmp_path):
    api = Api(daemon)
    pkg = api.create(metadata={"commit": "abc123", "n": 3, "ok": True})
    assert pkg["status"] == "open" and pkg["manifest_digest"] is None
    assert pkg["metadata"] == {"commit": "abc123", "n": 3, "ok": True}
    assert api.json("GET", f"/v1/packages/{pkg['id']}") == pkg
    base = f"{daemon.base}/v1/packages/{pkg['id']}/files"

    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    small = write_random(tmp_path / "small", 300001)
    big = write_random(tmp_path / "big", 64 << 20)

    code, body = curl("-T", str(empty), f"{base}/e/empty.txt",
                      "-H", "Content-Type: text/plain")
    assert code == 201, body
    f_empty = json.loads(body)
    with open(small, "rb") as stdin:
        r = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", "-T", "-",
                            "-H", "Transfer-Encoding: chunked",
                            f"{base}/c/chunked.bin"],
                           stdin=stdin, capture_output=True, check=True)
    body, _, code = r.stdout.rpartition(b"\n")
    assert int(code) == 201, body
    f_small = json.loads(body)
    sha_b64 = base64.b64encode(bytes.fromhex(sha256sum(big))).decode()
    code, body = curl("-T", str(big), f"{base}/big%20one.bin",
                      "-H", f"Repr-Digest: sha-256=:{sha_b64}:",
                      "-H", f"X-Content-Address: blake3:{b3sum(big)}",
                      "-D", str(tmp_path / "big.headers"))
    assert code == 201, body
    f_big = json.loads(body)
    headers = (tmp_path / "big.headers").read_text().lower()
    assert "100 continue" in headers  # curl sent Expect for > 1 MiB
    assert f"location: /v1/files/{f_big['id']}" in headers

    for rec, path, name, mt in ((f_empty, empty, "e/empty.txt", "text/plain"),
                                (f_small, small, "c/chunked.bin", "application/octet-stream"),
                                (f_big, big, "big one.bin", "application/octet-stream")):
        assert rec["path"] == name and rec["package_id"] == pkg["id"]
        assert rec["size"] == os.path.getsize(path)
        assert rec["blake3"] == "blake3:" + b3sum(path)
        assert rec["sha256"] == "sha256:" + sha256sum(path)
        assert rec["media_type"] == mt
        # downloads by file id and by both addresses are byte-equal
        for url in (f"/v1/files/{rec['id']}", f"/v1/blobs/{rec['blake3']}",
                    f"/v1/blobs/{rec['sha256']}"):
            out = tmp_path / "dl"
            code, _ = curl("-o", str(out), daemon.base + url)
            assert code == 200
            assert b3sum(out) == b3sum(path) and sha256sum(out) == sha256sum(path)
        st, h, data = api.req("HEAD", f"/v1/files/{rec['id']}")
        assert st == 200 and data == b""
        assert h["content-length"] == str(rec["size"])
        assert h["content-type"] == mt
        assert h["etag"] == '"%s"' % rec["blake3"]
        assert h["repr-digest"] == "sha-256=:%s:" % base64.b64encode(
            bytes.fromhex(rec["sha256"][7:])).decode()

    listed = api.json("GET", f"/v1/packages/{pkg['id']}/files")["files"]
    assert sorted(f["id"] for f in listed) == sorted(
        f["id"] for f in (f_empty, f_small, f_big))

    # ranges and conditionals
    data = small.read_bytes()
    fid = f_small["id"]
    for rng, lo, hi in (("bytes=0-0", 0, 1), ("bytes=10-19", 10, 20),
                        ("bytes=-7", len(data) - 7, len(data)),
                        ("bytes=300000-", 300000, len(data)),
                        ("bytes=299990-999999999", 299990, len(data))):
        st, h, body = api.req("GET", f"/v1/files/{fid}", headers={"Range": rng})
        assert st == 206, rng
        assert body == data[lo:hi]
        assert h["content-range"] == f"bytes {lo}-{hi - 1}/{len(data)}"
    st, h, body = api.req("GET", f"/v1/files/{fid}", headers={"Range": "bytes=400000-"})
    assert st == 416 and h["content-range"] == f"bytes */{len(data)}"
    problem(body, 416, "range-not-satisfiable")
    st, h, body = api.req("GET", f"/v1/files/{fid}",
                          headers={"Range": "bytes=0-1,5-6"})
    assert st == 200 and body == data
    code, body = curl("-r", "100-199", f"{daemon.base}/v1/files/{f_big['id']}")
    assert code == 206 and body == big.read_bytes()[100:200]
    etag = '"%s"' % f_small["blake3"]
    st, h, body = api.req("GET", f"/v1/files/{fid}", headers={"If-None-Match": etag})
    assert st == 304 and body == b"" and h["etag"] == etag
    st, h, body = api.req("GET", f"/v1/files/{f_empty['id']}")
    assert st == 200 and body == b""

    # finalize and the manifest
    fin = api.json("POST", f"/v1/packages/{pkg['id']}/finalize")
    assert fin["status"] == "finalized" and fin["finalized_at"]
    st, h, mcbor = api.req("GET", f"/v1/packages/{pkg['id']}/manifest",
                           headers={"Accept": "application/cbor"})
    assert st == 200 and h["content-type"] == "application/cbor"
    addr = "blake3:" + b3sum_bytes(mcbor)
    assert fin["manifest_digest"] == addr
    assert h["etag"] == '"%s"' % addr
    st, h2, mjson = api.req("GET", f"/v1/packages/{pkg['id']}/manifest")
    assert st == 200 and h2["content-type"] == "application/json"
    # different bytes, different strong tags (the JSON one derived)
    assert h2["etag"] == '"%s+json"' % addr
    doc = json.loads(mjson)
    assert doc == cbor2.loads(mcbor)
    # JCS text is compact and sorted; converting back gives the same CBOR
    assert mjson.decode() == json.dumps(doc, sort_keys=True, separators=(",", ":"),
                                        ensure_ascii=False)
    assert cbor2.dumps(doc, canonical=True) == mcbor
    st, _, _ = api.req("GET", f"/v1/packages/{pkg['id']}/manifest",
                       headers={"If-None-Match": h2["etag"]})
    assert st == 304
    names = json.dumps(doc)
    for rec in (f_empty, f_small, f_big):
        assert rec["blake3"] in names

    # events: every event, in order, payload digests verifiable
    page = api.json("GET", "/v1/events?since=0&limit=1000")
    evs = page["events"]
    assert [e["sequence"] for e in evs] == list(range(1, len(evs) + 1))
    assert page["next"] == evs[-1]["sequence"]
    assert [e["event_type"] for e in evs] == [
        "v1.package.created", "v1.file.ingested", "v1.file.ingested",
        "v1.file.ingested", "v1.package.finalized"]
    for e in evs:
        assert e["payload_digest"] == "blake3:" + b3sum_bytes(
            cbor2.dumps(e["payload"], canonical=True))
        assert e["actor"] and e["subject_kind"] in ("package", "file")
    # paging through with limit
    seqs, cur = [], 0
    while True:
        p = api.json("GET", f"/v1/events?since={cur}&limit=2")
        if not p["events"]:
            assert p["next"] == cur
            break
        seqs += [e["sequence"] for e in p["events"]]
        cur = p["next"]
    assert seqs == [e["sequence"] for e in evs]
    # cbor-seq: payload is the stored bytes (tag 24), unchanged
    st, h, raw = api.req("GET", "/v1/events?since=0",
                         headers={"Accept": "application/cbor-seq"})
    assert st == 200 and h["content-type"] == "application/cbor-seq"
    import io
    f = io.BytesIO(raw)
    recs = []
    while f.tell() < len(raw):
        recs.append(cbor2.load(f))
    assert [r["sequence"] for r in recs] == [e["sequence"] for e in evs]
    for r, e in zip(recs, evs):
        assert isinstance(r["payload"], cbor2.CBORTag) and r["payload"].tag == 24
        stored = r["payload"].value
        assert "blake3:" + b3sum_bytes(stored) == e["payload_digest"] == r["payload_digest"]
        assert cbor2.loads(stored) == e["payload"]
        assert r["chain_digest"] == e["chain_digest"]
    assert h["x-next-cursor"] == str(evs[-1]["sequence"])
    assert tmp_files(daemon.data_dir) == []

    # listing with filters and cursor paging
    more = [api.create(name=f"list-{i}", producer="lister") for i in range(5)]
    got, cursor = [], None
    while True:
        q = "/v1/packages?producer=lister&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.json("GET", q)
        got += [p["id"] for p in page["packages"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert sorted(got) == sorted(p["id"] for p in more)
    fin_list = api.json("GET", "/v1/packages?status=finalized")["packages"]
    assert [p["id"] for p in fin_list] == [pkg["id"]]

    # the request log: one JSON line per request
    recs = [r for r in daemon.records() if r.get("msg") == "request"]
    assert recs and all({"method", "path", "status", "bytes_out", "duration_ms",
                         "actor"} <= set(r) for r in recs)
    # writes log the actor their events carry (anonymous until tokens)
    writes = [r for r in recs if r["method"] in ("POST", "PUT")]
    assert writes and {r["actor"] for r in writes} == {e["actor"] for e in evs}
    assert {r["actor"] for r in recs} == {"anonymous"}


def test_health(daemon):
    api = Api(daemon)
    h = api.json("GET", "/health")
    assert h["status"] == "ok" and h["database"] == "ok"
    assert h["free_bytes"] > 0 and h["last_sequence"] == 0
    api.create()
    assert api.json("GET", "/health")["last_sequence"] == 1


def test_pipelined_requests(daemon):
    from conftest import RawSock
    body = b'{"name":"p","producer":"pipe","subject":"s","retention_class":"transient"}'
    s = RawSock(daemon.host, daemon.port)
    s.send(b"POST /v1/packages HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
           + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
           + b"GET /v1/events?since=0 HTTP/1.1\r\nHost: x\r\n\r\n"
           + b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
           + b"GET /v1/packages?producer=pipe HTTP/1.1\r\nHost: x\r\n\r\n")
    st, h, data = s.response()
    assert st == 201
    pid = json.loads(data)["id"]
    st, h, data = s.response()
    assert st == 200 and json.loads(data)["last_sequence"] == 1
    st, h, data = s.response()
    assert [e["subject_id"] for e in json.loads(data)["events"]] == [pid]
    st, h, data = s.response()
    assert st == 404
    st, h, data = s.response()
    assert [p["id"] for p in json.loads(data)["packages"]] == [pid]
    s.close()


def test_pipelined_streams(daemon):
    """Streamed answers (uploads, downloads, HEAD, file lists, events)
    pipelined on one connection: each handler lets go of the connection
    before its response ends, so the next request starts cleanly."""
    from conftest import RawSock
    api = Api(daemon)
    pid = api.create(name="pipe-streams")["id"].encode()
    data = os.urandom(700001)  # two 512 KiB reads
    s = RawSock(daemon.host, daemon.port)
    s.send(b"PUT /v1/packages/%s/files/a.bin HTTP/1.1\r\nHost: x\r\n"
           b"Content-Length: %d\r\n\r\n" % (pid, len(data)) + data
           + b"GET /v1/packages/%s/files HTTP/1.1\r\nHost: x\r\n\r\n" % pid)
    st, h, body = s.response()
    assert st == 201, body
    f = json.loads(body)
    st, h, body = s.response()
    assert st == 200 and [x["id"] for x in json.loads(body)["files"]] == [f["id"]]
    fid = f["id"].encode()
    s.send(b"GET /v1/files/%s HTTP/1.1\r\nHost: x\r\n\r\n" % fid
           + b"HEAD /v1/files/%s HTTP/1.1\r\nHost: x\r\n\r\n" % fid
           + b"GET /v1/blobs/%s HTTP/1.1\r\nHost: x\r\nRange: bytes=-5\r\n\r\n"
           % f["blake3"].encode()
           + b"GET /v1/files/%s HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"%s\"\r\n\r\n"
           % (fid, f["blake3"].encode())
           + b"GET /v1/events?since=0&wait=5 HTTP/1.1\r\nHost: x\r\n\r\n"
           + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    st, h, body = s.response()
    assert st == 200 and body == data
    st, h, body = s.response(head_only=True)
    assert st == 200 and h["content-length"] == str(len(data))
    st, h, body = s.response()
    assert st == 206 and body == data[-5:]
    st, h, body = s.response()
    assert st == 304
    st, h, body = s.response()
    assert st == 200 and len(json.loads(body)["events"]) == 2
    st, h, body = s.response()
    assert st == 200 and json.loads(body)["status"] == "ok"
    s.close()
