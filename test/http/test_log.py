"""The request log never blocks the loop.

The daemon's stderr is a pipe that nobody reads until the end.  A pipe
holds 64 KiB; each request line is ~130 bytes, so without the non-blocking
log queue the loop would block in write(2) after ~500 requests and every
later request would hang.  With it, all requests are answered, lines
beyond the queue's bound are dropped and counted, and the lines that were
kept are well-formed JSON.
"""
import fcntl
import json
import os
import re
import select
import signal
import socket
import subprocess
import time

from apihelp import Api
from conftest import daemon_argv

REQUESTS = 3000
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
LEVELS = ("info", "warning", "error")


def _read_listening(fd, deadline):
    buf = b""
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            buf += os.read(fd, 4096)
            for line in buf.split(b"\n")[:-1]:
                rec = json.loads(line)
                if rec.get("msg") == "listening":
                    return rec["address"].rpartition(":")[2]
    raise AssertionError("no listening line: %r" % buf)


def test_undrained_stderr_does_not_block(data_dir):
    r, w = os.pipe()
    proc = subprocess.Popen(daemon_argv(data_dir), stdout=subprocess.DEVNULL,
                            stderr=w)
    os.close(w)
    try:
        port = int(_read_listening(r, time.time() + 20))
        # From here on nobody reads the pipe until every request is done.
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        req = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        answered = 0
        buf = b""
        for _ in range(REQUESTS):
            s.sendall(req)
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                assert chunk, "connection closed"
                buf += chunk
            head, _, rest = buf.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int([h.split(b":")[1] for h in head.split(b"\r\n")
                          if h.lower().startswith(b"content-length")][0])
            while len(rest) < length:
                rest += s.recv(65536)
            buf = rest[length:]
            answered += 1
        s.close()
        assert answered == REQUESTS
    finally:
        proc.send_signal(signal.SIGTERM)
        # Drain while it exits so its final synchronous flush can finish.
        fcntl.fcntl(r, fcntl.F_SETFL, os.O_NONBLOCK)
        out = b""
        deadline = time.time() + 30
        while proc.poll() is None and time.time() < deadline:
            sel, _, _ = select.select([r], [], [], 0.1)
            if sel:
                try:
                    out += os.read(r, 1 << 20)
                except BlockingIOError:
                    pass
        while True:
            try:
                chunk = os.read(r, 1 << 20)
            except BlockingIOError:
                break
            if not chunk:
                break
            out += chunk
        os.close(r)
    assert proc.returncode == 0, out[-2000:]
    recs = [json.loads(line) for line in out.splitlines() if line]
    reqs = [x for x in recs if x.get("msg") == "request"]
    assert reqs, "no request lines at all"
    assert all(x["status"] == 200 for x in reqs)
    assert all(TS.fullmatch(x["ts"]) and x["level"] in LEVELS for x in recs)
    assert recs[-1]["msg"] == "stopped" and recs[-1]["detail"] == "clean"


def _log_records(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _wait_for(pred, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError("timed out")


def _get_health(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    assert buf.startswith(b"HTTP/1.1 200"), buf[:200]
    return buf


def test_sighup_reopens_log_file(tmp_path, data_dir):
    """logrotate moves the file and sends SIGHUP: the daemon lives on and
    writes to a new file at the same path; SIGTERM still stops it."""
    log = tmp_path / "as.log"
    proc = subprocess.Popen(daemon_argv(data_dir, ("--log-file", str(log))),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        rec = _wait_for(lambda: [r for r in _log_records(log)
                                 if r.get("msg") == "listening"])[0]
        port = int(rec["address"].rpartition(":")[2])
        assert oct(log.stat().st_mode & 0o777) == oct(0o640 & ~_umask())
        _get_health(port)
        rotated = tmp_path / "as.log.1"
        log.rename(rotated)
        proc.send_signal(signal.SIGHUP)
        _wait_for(lambda: [r for r in _log_records(log)
                           if r.get("msg") == "reopened log"])
        _get_health(port)
        assert proc.poll() is None, "SIGHUP stopped the daemon"
        new = _wait_for(lambda: [r for r in _log_records(log)
                                 if r.get("msg") == "request"])
        assert new[0]["path"] == "/health"
        old = _log_records(rotated)
        assert [r["msg"] for r in old].count("request") == 1
        # a second rotation works the same way
        log.rename(tmp_path / "as.log.2")
        proc.send_signal(signal.SIGHUP)
        _wait_for(lambda: [r for r in _log_records(log)
                           if r.get("msg") == "reopened log"])
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert err == b"", err  # everything went to the log file
    recs = _log_records(log)
    assert recs[-1]["msg"] == "stopped" and recs[-1]["detail"] == "clean"


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def _request_lines(d, timeout=10):
    return [r for r in d.records() if r.get("msg", "").startswith("request")]


def test_request_log_fields_and_request_id(daemon):
    """X-Request-Id comes back on every response: the client's when
    well-formed, else a new one; the log line carries it with the client,
    query, user agent, bytes each way and duration."""
    api = Api(daemon)
    st, h, _ = api.req("GET", "/health?probe=1",
                       headers={"X-Request-Id": "abc.DEF_1-2",
                                "User-Agent": "probe/1.0"})
    assert st == 200 and h["x-request-id"] == "abc.DEF_1-2"
    ids = set()
    for bad in ("", "x" * 65, "has space", "semi;colon", None):
        hdrs = {"X-Request-Id": bad} if bad is not None else {}
        st, h, _ = api.req("GET", "/nope", headers=hdrs)
        assert st == 404 and re.fullmatch(r"[0-9a-f]{16}", h["x-request-id"])
        ids.add(h["x-request-id"])
    assert len(ids) == 5  # a new one each time
    pkg = api.create()
    st, h, _ = api.req("PUT", f"/v1/packages/{pkg['id']}/files/a.bin",
                       b"z" * 1000, {"Content-Type": "application/octet-stream"})
    assert st == 201 and h["x-request-id"]
    recs = _wait_for(lambda: [r for r in _request_lines(daemon)
                              if r["method"] == "PUT"] and _request_lines(daemon))
    first = recs[0]
    assert first["request_id"] == "abc.DEF_1-2"
    assert first["query"] == "probe=1" and first["path"] == "/health"
    assert first["user_agent"] == "probe/1.0"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", first["client"])
    assert first["level"] == "info" and first["bytes_in"] == 0
    assert first["bytes_out"] > 0 and first["duration_ms"] >= 0
    assert {r["request_id"] for r in recs[1:6]} == ids
    put = [r for r in recs if r["method"] == "PUT"][0]
    assert put["bytes_in"] == 1000 and put["status"] == 201
    assert put["request_id"] == h["x-request-id"]


def test_aborted_upload_is_logged(daemon):
    """A client that goes away mid-body leaves a line saying how much
    arrived."""
    api = Api(daemon)
    pkg = api.create()
    s = daemon.connect()
    s.sendall((f"PUT /v1/packages/{pkg['id']}/files/cut.bin HTTP/1.1\r\n"
               "Host: x\r\nX-Request-Id: cut-1\r\n"
               "Content-Type: application/octet-stream\r\n"
               "Content-Length: 100000\r\n\r\n").encode() + b"q" * 12345)
    time.sleep(0.5)  # loopback: the daemon has read what was sent
    s.close()
    rec = _wait_for(lambda: [r for r in _request_lines(daemon)
                             if r.get("request_id") == "cut-1"])[0]
    assert rec["msg"] == "request aborted" and rec["level"] == "warning"
    assert rec["bytes_in"] == 12345 and rec["content_length"] == 100000
    assert rec["method"] == "PUT" and rec["status"] == 0
