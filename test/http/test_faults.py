"""Errors that tell the truth: the daemon notices what happens to its store
while it runs and answers accordingly.

- the data directory or the database file removed or replaced: writes are
  refused with 503 store-unavailable, /health says so;
- a damaged database file: reads and writes answer 503 database-corrupt,
  /health says so;
- a full disk: writes answer 507 insufficient-storage and /health reports
  failing writes until one succeeds (a small tmpfs; root only);
- out of file descriptors: 503 out-of-descriptors with Retry-After, and
  the daemon serves again once descriptors are free;
- an events cursor beyond the log's end: 409 cursor-ahead.
"""
import base64
import contextlib
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from apihelp import Api, problem
from conftest import Proc, RawSock, daemon_argv

DB = "artifactstore.db"


def health(api):
    st, _, data = api.req("GET", "/health")
    return st, json.loads(data)


def wait_health(api, want, timeout=5):
    deadline = time.time() + timeout
    while True:
        st, body = health(api)
        if st == want or time.time() > deadline:
            return st, body
        time.sleep(0.1)


PKG = {"name": "n", "producer": "p", "subject": "s",
       "retention_class": "transient"}


def post(api, **kw):
    return api.req("POST", "/v1/packages", dict(PKG, **kw))


# --- events cursor ahead ----------------------------------------------------

def test_events_cursor_ahead(daemon):
    api = Api(daemon)
    api.create()
    api.create()
    for q in ("since=1000000", "since=3", "since=1000000&wait=5"):
        t0 = time.time()
        st, h, data = api.req("GET", "/v1/events?" + q)
        assert time.time() - t0 < 3, q  # answered at once, no long-poll
        doc = problem(data, 409, "cursor-ahead")
        assert doc["last_sequence"] == 2, doc
        assert "2" in doc["detail"]
    # At the head: an empty page, and a long-poll still waits for the next.
    doc = api.json("GET", "/v1/events?since=2")
    assert doc == {"events": [], "next": 2}
    out = {}

    def poll():
        out["r"] = Api(daemon).req("GET", "/v1/events?since=2&wait=10")

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.3)
    api.create()
    t.join(15)
    st, _, data = out["r"]
    assert st == 200
    assert [e["sequence"] for e in json.loads(data)["events"]] == [3]


def test_events_cursor_committed_not_yet_in_ring(tmp_path, data_dir):
    """A page read from SQLite may end at an event the loop has not taken
    into its ring yet (the writer commits, then tells the loop; SQLite's
    automatic checkpoint runs in between).  A consumer that asks for the
    next page at once holds a true cursor: never cursor-ahead.  Here the
    row is committed by another connection, so the ring never hears of
    it: that gap is made to last."""
    p = Proc(daemon_argv(data_dir), tmp_path, "d1").start()
    api = Api(p)
    api.create()
    api.create()
    assert p.stop() == 0
    # restarted, its ring is empty: older cursors are read from SQLite
    p = Proc(daemon_argv(data_dir), tmp_path, "d2").start()
    try:
        ring_gap(Api(p), data_dir)
    finally:
        assert p.stop() == 0, p.stderr_text()[-3000:]


def ring_gap(api, data_dir):
    c = sqlite3.connect(str(data_dir / DB), timeout=10)
    try:
        cols = ("created_at, event_type, subject_kind, subject_id, actor, "
                "payload, payload_digest, chain_digest")
        c.execute(f"INSERT INTO events (sequence, {cols}) "
                  f"SELECT 3, {cols} FROM events WHERE sequence = 2")
        c.execute("UPDATE state SET last_sequence = 3 WHERE id = 1")
        c.commit()
    finally:
        c.close()
    doc = api.json("GET", "/v1/events?since=1")
    assert [e["sequence"] for e in doc["events"]] == [2, 3], doc
    assert doc["next"] == 3
    doc = api.json("GET", "/v1/events?since=3")
    assert doc == {"events": [], "next": 3}
    # beyond what the database holds: still 409, with its head
    st, _, data = api.req("GET", "/v1/events?since=4")
    assert problem(data, 409, "cursor-ahead")["last_sequence"] == 3


# --- the store removed or replaced ------------------------------------------

def upload(api, pid, path, body=b"x" * 100):
    return api.req("PUT", f"/v1/packages/{pid}/files/{path}", body,
                   {"Content-Type": "application/octet-stream"})


def assert_writes_refused(api, pid, slug):
    st, _, data = post(api)
    problem(data, 503, slug)
    st, _, data = upload(api, pid, "late.bin")
    problem(data, 503, slug)
    st, _, data = api.req("POST", f"/v1/packages/{pid}/finalize")
    problem(data, 503, slug)


def test_data_dir_removed_refuses_writes(daemon):
    api = Api(daemon)
    pid = api.create()["id"]
    assert upload(api, pid, "a.bin")[0] == 201
    assert health(api)[0] == 200
    shutil.rmtree(daemon.data_dir)
    st, body = wait_health(api, 503, timeout=10)
    assert st == 503, body
    assert body["writes"] == "refused", body
    assert "removed" in body["detail"] and "restart" in body["detail"]
    assert_writes_refused(api, pid, "store-unavailable")
    refusal = [r for r in daemon.records() if r.get("msg") == "writes refused"]
    assert len(refusal) == 1 and refusal[0]["level"] == "error", refusal
    doc = json.loads(post(api)[2])
    assert "restart" in doc["detail"], doc
    # nothing was acknowledged after the removal
    assert health(api)[1]["last_sequence"] == 2


def test_database_replaced_refuses_writes(daemon):
    api = Api(daemon)
    pid = api.create()["id"]
    db = daemon.data_dir / DB
    os.rename(db, daemon.data_dir / "moved.db")
    shutil.copy(daemon.data_dir / "moved.db", db)
    st, body = wait_health(api, 503, timeout=10)
    assert st == 503 and body["writes"] == "refused", body
    assert "database file" in body["detail"] and "replaced" in body["detail"]
    assert_writes_refused(api, pid, "store-unavailable")


def test_upload_in_flight_when_fenced_is_refused(daemon):
    """An upload whose head passed the fence, but whose body ends after the
    store was replaced, must not be acknowledged: its event would go into
    the file nobody opens again."""
    api = Api(daemon)
    pid = api.create()["id"]
    body = b"z" * 200000
    s = RawSock(daemon.host, daemon.port)
    try:
        s.send((f"PUT /v1/packages/{pid}/files/slow.bin HTTP/1.1\r\n"
                f"Host: x\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
               + body[:1000])
        db = daemon.data_dir / DB
        os.rename(db, daemon.data_dir / "moved.db")
        shutil.copy(daemon.data_dir / "moved.db", db)
        st, hb = wait_health(api, 503, timeout=5)
        assert st == 503 and hb["writes"] == "refused", hb
        s.send(body[1000:])
        st, h, data = s.response()
    finally:
        s.close()
    problem(data, 503, "store-unavailable")
    # nothing was committed: the log still ends at the package's creation
    assert health(api)[1]["last_sequence"] == 1


# --- a damaged database -----------------------------------------------------

def test_corrupt_database_fences_writes(tmp_path, data_dir):
    meta = {"blob": "m" * 30000}
    p = Proc(daemon_argv(data_dir), tmp_path, "d1").start()
    api = Api(p)
    pid = None
    for i in range(60):
        pid = api.create(name=f"pkg{i}", metadata=meta)["id"]
    assert p.stop() == 0
    # fold the WAL into the database file, so the rows are all in it
    c = sqlite3.connect(str(data_dir / DB))
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    c.close()

    p = Proc(daemon_argv(data_dir), tmp_path, "d2").start()
    try:
        api = Api(p)
        assert health(api)[0] == 200
        # Damage the pages behind page 8 while it runs (the header and the
        # schema stay): the readers have not read them yet.
        db = data_dir / DB
        size = db.stat().st_size
        with open(db, "r+b") as f:
            f.seek(8 * 4096)
            f.write(b"\xff" * (size - 8 * 4096))
            f.flush()
            os.fsync(f.fileno())
        st, _, data = api.req("GET", "/v1/packages?limit=1000")
        doc = problem(data, 503, "database-corrupt")
        assert "--verify-log" in doc["detail"], doc
        assert_writes_refused(api, pid, "database-corrupt")
        st, body = health(api)
        assert st == 503 and body["database"] == "corrupt", body
        assert body["writes"] == "refused", body
        assert "--verify-log" in body["detail"]
    finally:
        p.stop()


# --- a full disk (tmpfs; root only) -----------------------------------------

@contextlib.contextmanager
def tmpfs(path, size):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                        str(path)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: " + r.stderr.decode())
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)]).returncode != 0:
            subprocess.run(["umount", "-l", str(path)])


def fill(path):
    """Writes path until the disk is full; returns the bytes written."""
    n = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        step = 1 << 16
        while step >= 1:
            try:
                n += os.write(fd, b"\0" * step)
            except OSError:
                step //= 2  # the last blocks: smaller writes
    finally:
        os.close(fd)
    return n


def test_full_disk_507_then_recovers(tmp_path):
    with tmpfs(tmp_path / "mnt", "8m") as mnt:
        data = mnt / "data"
        data.mkdir()
        p = Proc(daemon_argv(data), tmp_path, "full").start()
        try:
            api = Api(p)
            pid = api.create()["id"]
            filler = mnt / "filler"
            fill(filler)
            st = None
            for i in range(20):  # the WAL may have a little room left
                st, _, body = post(api, metadata={"pad": "x" * 4000})
                if st != 201:
                    break
            doc = problem(body, 507, "insufficient-storage")
            assert "full" in doc["detail"], doc
            st, hb = health(api)
            assert st == 503 and hb["writes"] == "failing", hb
            assert "full" in hb["detail"], hb
            # an upload says the same, whichever file the disk refused
            st, _, body = upload(api, pid, "big.bin", b"y" * 300000)
            assert st == 507, body
            filler.unlink()
            st, _, body = post(api)
            assert st == 201, body
            st, hb = wait_health(api, 200)
            assert st == 200 and hb["writes"] == "ok", hb
        finally:
            assert p.stop() == 0, p.stderr_text()[-3000:]


# --- out of file descriptors ------------------------------------------------

NOFILE = 128
# The daemon caps connections at (NOFILE - 64) / 2 = 32, so connections
# alone no longer exhaust its descriptors: it inherits this many open ones,
# as if something else held them, and runs out after about 20 connections.
INHERITED = 80
HOLD_FDS = ("import os, sys\n"
            "for _ in range(int(sys.argv[1])):\n"
            "    os.set_inheritable(os.open('/dev/null', os.O_RDONLY), True)\n"
            "os.execvp(sys.argv[2], sys.argv[2:])\n")


def raw_get(host, port, path, timeout=5):
    """One GET on a new connection: (status, headers, body, socket); status
    None when the connection was closed without an answer."""
    s = RawSock(host, port, timeout=timeout)
    try:
        s.send(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        st, h, body = s.response()
        return st, h, body, s
    except (ConnectionError, socket.timeout):
        s.close()
        return None, None, None, None


def test_out_of_descriptors(tmp_path, data_dir):
    if shutil.which("prlimit") is None:
        pytest.skip("prlimit not installed")
    argv = [sys.executable, "-c", HOLD_FDS, str(INHERITED),
            "prlimit", f"--nofile={NOFILE}:{NOFILE}", "--"] + \
        daemon_argv(data_dir)
    p = Proc(argv, tmp_path, "nofile").start()
    held = []
    try:
        api = Api(p)
        pid = api.create()["id"]
        body = os.urandom(1000)
        st, _, data = upload(api, pid, "f.bin", body)
        assert st == 201, data
        addr = json.loads(data)["blake3"]
        api.req("GET", "/health")  # api's connection stays open
        # Take every descriptor the daemon has left with idle connections:
        # the first it cannot serve is answered with its reserve.
        refused = None
        for i in range(NOFILE + 16):
            st, h, data, s = raw_get(p.host, p.port, "/health")
            assert st is not None, "a connection closed unanswered"
            if st != 200:
                refused = (st, h, data)
                s.close()
                break
            held.append(s)
        assert refused is not None, "the daemon accepted more than its limit"
        st, h, data = refused
        problem(data, 503, "out-of-descriptors")
        assert h.get("retry-after") == "1", h
        # A download needs one more descriptor: transient, not a lost blob.
        st, h, data = api.req("GET", f"/v1/blobs/{addr}")
        doc = problem(data, 503, "out-of-descriptors")
        assert h.get("retry-after") == "1", h
        assert "restore" not in doc["detail"], doc
        # So does an upload's temp file.
        st, h, data = upload(api, pid, "g.bin")
        problem(data, 503, "out-of-descriptors")
        assert h.get("retry-after") == "1", h
        for s in held:
            s.close()
        held = []
        # Descriptors free again: it serves, and the blob is intact.
        deadline = time.time() + 5
        while True:
            try:
                st, _, got = Api(p).req("GET", f"/v1/blobs/{addr}")
                if st == 200 or time.time() > deadline:
                    break
            except OSError:
                if time.time() > deadline:
                    raise
            time.sleep(0.1)
        assert st == 200 and got == body
        assert Api(p).req("GET", "/health")[0] == 200
        assert p.proc.poll() is None
    finally:
        for s in held:
            s.close()
        assert p.stop() == 0, p.stderr_text()[-3000:]
