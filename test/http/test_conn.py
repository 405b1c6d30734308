"""Connection lifetime: half-close, send timeout, idle timer, the
descriptor-derived connection cap (issue 12, connections)."""
import json
import socket
import time

from apihelp import Api
from conftest import RawSock


def _read_all(s, timeout=10):
    s.s.settimeout(timeout)
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            return data
        data += d


def _post_package(name):
    body = json.dumps({"name": name, "producer": "ci", "subject": "half",
                       "retention_class": "transient"}).encode()
    return (b"POST /v1/packages HTTP/1.1\r\nHost: t\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body


def test_half_close_answers_request(daemon):
    """A complete request, then shutdown(SHUT_WR): the 201 still comes
    (before, the create committed and the answer was lost)."""
    s = RawSock(daemon.host, daemon.port)
    s.send(_post_package("halfclosed"))
    s.s.shutdown(socket.SHUT_WR)
    st, h, body = s.response()
    assert st == 201, body
    assert json.loads(body)["name"] == "halfclosed"
    assert s.closed(timeout=5)
    s.close()
    listed = Api(daemon).json("GET", "/v1/packages?producer=ci")["packages"]
    assert [p["name"] for p in listed].count("halfclosed") == 1


def test_half_close_pipelined_pair(loopsrv):
    """Two pipelined requests, the first answered later, then FIN: both
    answered, then closed."""
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"GET /wait?ms=200 HTTP/1.1\r\nHost: x\r\n\r\n"
           b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde")
    s.s.shutdown(socket.SHUT_WR)
    st1, h1, b1 = s.response()
    st2, h2, b2 = s.response()
    assert (st1, b1) == (200, b"waited\n")
    assert "connection" not in h1
    assert (st2, b2) == (200, b"abcde")
    assert s.closed(timeout=5)
    s.close()


def test_half_close_incomplete_request_closes(loopsrv):
    """FIN in the middle of a request: nothing to answer, closed."""
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")
    s.s.shutdown(socket.SHUT_WR)
    st, _, b = s.response()
    assert (st, b) == (200, b"hello\n")
    assert _read_all(s, timeout=5) == b""
    s.close()


# --- send timeout -------------------------------------------------------

def _daemon(tmp_path, data_dir, *extra, name="daemon"):
    from conftest import Proc, daemon_argv
    p = Proc(daemon_argv(data_dir, extra), tmp_path, name).start()
    p.data_dir = data_dir
    return p


def _stop(p):
    rc = p.stop()
    assert rc == 0, p.stderr_text()[-4000:]


def _upload(api, size):
    pkg = api.create()
    data = bytes(range(256)) * (size // 256)
    rec = api.json("PUT", f"/v1/packages/{pkg['id']}/files/big.bin", data,
                   {"Content-Type": "application/octet-stream"}, expect=201)
    return rec, data


def _small_rcvbuf_conn(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect((p.host, p.port))
    return s


def test_send_timeout_closes_stalled_reader(tmp_path, data_dir):
    """A download whose client never reads is cut after --send-timeout
    (before, it stayed forever, holding its buffer)."""
    p = _daemon(tmp_path, data_dir, "--send-timeout", "1")
    try:
        rec, data = _upload(Api(p), 16 << 20)
        s = _small_rcvbuf_conn(p)
        s.sendall(b"GET /v1/files/%s HTTP/1.1\r\nHost: t\r\n\r\n"
                  % rec["id"].encode())
        t0 = time.time()
        logged = None
        while time.time() - t0 < 8 and logged is None:
            logged = next((r for r in p.records()
                           if r.get("msg") == "send timeout"), None)
            time.sleep(0.1)
        elapsed = time.time() - t0
        assert logged is not None, "not closed within 8 s"
        assert 0.9 <= elapsed <= 4, elapsed
        assert logged["timeout_ms"] == 1000 and logged["status"] == 200
        assert logged["level"] == "warning", logged
        got = 0
        try:
            while True:
                d = s.recv(1 << 20)
                if not d:
                    break
                got += len(d)
        except ConnectionResetError:
            pass
        assert got < len(data)  # cut, not completed
        s.close()
        # the daemon still serves
        assert Api(p).json("GET", "/health")["status"] is not None
    finally:
        _stop(p)


def test_send_timeout_spares_slow_reader(tmp_path, data_dir):
    """A client that reads slowly but steadily is not cut."""
    p = _daemon(tmp_path, data_dir, "--send-timeout", "1")
    try:
        rec, data = _upload(Api(p), 2 << 20)
        s = _small_rcvbuf_conn(p)
        s.sendall(b"GET /v1/files/%s HTTP/1.1\r\nHost: t\r\n\r\n"
                  % rec["id"].encode())
        buf = b""
        t0 = time.time()
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        head, _, body = buf.partition(b"\r\n\r\n")
        while len(body) < len(data) and time.time() - t0 < 20:
            time.sleep(0.4)  # less than the timeout between reads
            want = 256 * 1024
            while want > 0 and len(body) < len(data):
                d = s.recv(min(want, 65536))
                assert d, "closed early"
                body += d
                want -= len(d)
        assert body == data
        assert not [r for r in p.records() if r.get("msg") == "send timeout"]
        s.close()
    finally:
        _stop(p)


# --- idle timer and empty lines -----------------------------------------

def test_crlf_does_not_extend_idle(make_loopsrv):
    """Bare CRLFs more often than the idle timeout: closed at about the
    idle timeout (before, each CRLF restarted it: open forever)."""
    srv = make_loopsrv(100, 5000, 1000, 5000)
    s = RawSock(srv.host, srv.port)
    s.s.settimeout(0.25)
    t0 = time.time()
    closed_at = None
    for _ in range(7):  # under the empty-line cap
        try:
            s.send(b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            closed_at = time.time() - t0
            break
        try:
            d = s.recv(4096)
            assert d == b"", d  # an idle close answers nothing
            closed_at = time.time() - t0
            break
        except socket.timeout:
            pass
    assert closed_at is not None, "still open after 1.75 s of CRLFs"
    assert 0.9 <= closed_at <= 1.6, closed_at
    s.close()


def test_empty_lines_capped(make_loopsrv):
    """At most 8 empty lines before a request line; more is a 400."""
    srv = make_loopsrv(100, 5000, 5000, 5000)
    s = RawSock(srv.host, srv.port)
    s.send(b"\r\n" * 8 + b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
           + b"\r\n" * 8 + b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.response()[::2] == (200, b"hello\n")
    assert s.response()[::2] == (200, b"hello\n")
    s.send(b"\r\n" * 9)
    st, h, body = s.response()
    assert st == 400 and h.get("connection") == "close"
    assert json.loads(body)["type"].endswith("/bad-request")
    assert s.closed(timeout=5)
    s.close()


# --- the connection cap follows the descriptor limit --------------------

def test_conn_cap_from_nofile(tmp_path, data_dir):
    """Under RLIMIT_NOFILE 128 the cap is (128 - 64) / 2 = 32: the 33rd
    connection gets 503 too-many-connections (before, the 16384 cap never
    applied and clients met descriptor failures instead), and /health
    answers on a fresh connection once some close."""
    import shutil
    import select
    from conftest import Proc, daemon_argv
    if shutil.which("prlimit") is None:
        import pytest
        pytest.skip("prlimit not installed")
    p = Proc(["prlimit", "--nofile=128:128"] + daemon_argv(data_dir),
             tmp_path, "capped").start()
    try:
        up = [r for r in p.records() if r.get("msg") == "listening"][-1]
        assert up["nofile"] == 128 and up["max_conns"] == 32, up
        socks = []
        for _ in range(36):
            socks.append(RawSock(p.host, p.port))
        time.sleep(0.5)
        answered = [i for i, s in enumerate(socks)
                    if select.select([s.s], [], [], 0.05)[0]]
        assert answered == [32, 33, 34, 35], answered
        for i in answered:
            st, h, body = socks[i].response()
            assert st == 503, body
            assert json.loads(body)["type"].endswith("/too-many-connections")
        assert not [r for r in p.records() if r.get("msg") == "accept failed"]
        for s in socks[:5] + socks[32:]:
            s.close()
        deadline = time.time() + 5
        while True:
            try:
                st = Api(p).json("GET", "/health")
                break
            except AssertionError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        for s in socks[5:32]:
            s.close()
    finally:
        rc = p.stop()
        assert rc == 0, p.stderr_text()[-4000:]


def _reset(s):
    s.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
    s.close()


def test_resets_and_half_closes_at_every_stage(loopsrv):
    """A peer that resets, or half-closes then resets, during a streamed
    upload, a long-poll with a request pipelined behind it, a streamed
    download, a buffered body, a chunk-size line and empty lines: the
    server survives each (loopsrv, like the daemon, ignores SIGPIPE; the
    sanitizer build checks what the close paths free)."""
    reqs = [b"PUT /sink/a HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
            + b"a" * 50000,
            b"GET /wait?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /stream?n=100000000 HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab",
            b"PUT /sink/a HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + b"0" * 3000,
            b"\r\n" * 5]
    for req in reqs:
        s = RawSock(loopsrv.host, loopsrv.port)
        s.send(req)
        time.sleep(0.1)
        _reset(s)
        s = RawSock(loopsrv.host, loopsrv.port)
        s.send(req)
        s.s.shutdown(socket.SHUT_WR)
        time.sleep(0.05)
        _reset(s)
    time.sleep(0.4)  # the long-poll's timer fires on a closed connection
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.response()[::2] == (200, b"hello\n")
    s.close()


def test_half_close_after_streamed_upload(loopsrv):
    """The whole body, a pipelined request and a chunked upload, then FIN:
    each is answered while the uploads are paused for backpressure, then
    the connection closes."""
    body = b"a" * 100000
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"PUT /sink/a HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
           % len(body) + body + b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
           b"PUT /sink/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
           b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    s.s.shutdown(socket.SHUT_WR)
    assert s.response()[0] == 201
    assert s.response()[::2] == (200, b"hello\n")
    assert s.response()[0] == 201
    assert s.closed()
    s.close()
