"""kill -9 during an upload and during finalize, then restart: no partial
file, tmp cleaned, acknowledged uploads intact, and the operator checks
(--replay --check, --verify-log) are clean."""
import json
import os
import subprocess
import time

from apihelp import Api, b3sum, blob_files, tmp_files
from conftest import Proc, RawSock, daemon_argv


def start(tmp_path, data_dir, name):
    p = Proc(daemon_argv(data_dir), tmp_path, name).start()
    p.data_dir = data_dir
    return p


def check_blobs(data_dir):
    for path in blob_files(data_dir):
        assert b3sum(path) == os.path.basename(path), path


def test_kill9_upload_and_finalize(tmp_path, data_dir):
    d = start(tmp_path, data_dir, "d1")
    api = Api(d)
    pid = api.create()["id"]
    keep = os.urandom(3 << 20)
    st, h, data = api.req("PUT", f"/v1/packages/{pid}/files/keep.bin", body=keep)
    assert st == 201
    s = RawSock(d.host, d.port)
    s.send(b"PUT /v1/packages/%s/files/partial.bin HTTP/1.1\r\nHost: x\r\n"
           b"Content-Length: 30000000\r\n\r\n" % pid.encode())
    for _ in range(6):
        s.send(os.urandom(1 << 20))
    deadline = time.time() + 5
    while not tmp_files(data_dir) and time.time() < deadline:
        time.sleep(0.02)
    assert tmp_files(data_dir)
    d.kill9()
    s.close()

    d = start(tmp_path, data_dir, "d2")
    api = Api(d)
    assert tmp_files(data_dir) == []
    files = api.json("GET", f"/v1/packages/{pid}/files")["files"]
    assert [f["path"] for f in files] == ["keep.bin"]
    st, h, data = api.req("GET", f"/v1/files/{files[0]['id']}")
    assert st == 200 and data == keep
    check_blobs(data_dir)

    # finalize racing a kill -9
    pid2 = api.create(name="racing")["id"]
    st, _, _ = api.req("PUT", f"/v1/packages/{pid2}/files/x", body=b"x" * 1000)
    assert st == 201
    s = RawSock(d.host, d.port)
    s.send(b"POST /v1/packages/%s/finalize HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
           % pid2.encode())
    time.sleep(0.001)
    d.kill9()
    s.close()

    d = start(tmp_path, data_dir, "d3")
    api = Api(d)
    pkg = api.json("GET", f"/v1/packages/{pid2}")
    if pkg["status"] == "open":
        pkg = api.json("POST", f"/v1/packages/{pid2}/finalize")
    assert pkg["status"] == "finalized" and pkg["manifest_digest"]
    st, h, _ = api.req("GET", f"/v1/packages/{pid2}/manifest")
    assert st == 200 and h["x-content-address"] == pkg["manifest_digest"]
    evs = api.json("GET", "/v1/events?since=0&limit=1000")["events"]
    assert [e["sequence"] for e in evs] == list(range(1, len(evs) + 1))
    assert [e["event_type"] for e in evs].count("v1.package.finalized") == 1
    assert tmp_files(data_dir) == []
    check_blobs(data_dir)
    assert d.stop() == 0

    exe = os.environ["ARTIFACTSTORED"]
    for args in (["--replay", "--check"], ["--verify-log"]):
        r = subprocess.run([exe, *args, "--data", str(data_dir)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (args, r.stdout, r.stderr)


def test_lock_held(tmp_path, data_dir, daemon):
    r = subprocess.run(daemon_argv(data_dir), capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0
    assert "lock" in r.stderr.lower()


def test_sigterm_graceful(tmp_path, data_dir):
    """SIGTERM answers held long-polls, lets an upload in progress finish,
    refuses new connections, and exits 0."""
    d = start(tmp_path, data_dir, "g")
    api = Api(d)
    pid = api.create()["id"]
    waiter = RawSock(d.host, d.port)
    waiter.send(b"GET /v1/events?since=1&wait=60 HTTP/1.1\r\nHost: x\r\n\r\n")
    deadline = time.time() + 10
    while api.json("GET", "/health")["waiters"] < 1:
        assert time.time() < deadline
        time.sleep(0.02)
    body = os.urandom(4 << 20)
    up = RawSock(d.host, d.port)
    up.send(b"PUT /v1/packages/%s/files/late.bin HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: %d\r\n\r\n" % (pid.encode(), len(body)) + body[:1 << 20])
    time.sleep(0.2)
    api.conn.close()
    d.proc.send_signal(15)
    st, h, data = waiter.response()
    assert st == 200 and json.loads(data) == {"events": [], "next": 1}
    time.sleep(0.2)
    up.send(body[1 << 20:])
    st, h, data = up.response()
    assert st == 201, data
    assert h.get("connection") == "close"
    assert d.proc.wait(timeout=20) == 0
    assert any(r.get("msg") == "stopped" and r.get("detail") == "clean"
               for r in d.records())
    d.log.close()
    d = start(tmp_path, data_dir, "g2")
    api = Api(d)
    files = api.json("GET", f"/v1/packages/{pid}/files")["files"]
    assert [f["path"] for f in files] == ["late.bin"]
    assert api.req("GET", f"/v1/files/{files[0]['id']}")[2] == body
    assert d.stop() == 0


def test_ipv6_listen(tmp_path, data_dir):
    argv = daemon_argv(data_dir)
    argv[argv.index("--listen") + 1] = "[::1]:0"
    d = Proc(argv, tmp_path, "v6").start()
    try:
        assert d.host == "::1"
        s = RawSock("::1", d.port)
        s.send(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        st, h, body = s.response()
        assert st == 200 and json.loads(body)["status"] == "ok"
        s.close()
    finally:
        assert d.stop() == 0
