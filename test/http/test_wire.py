"""Wire tests of src/loop through loopsrv: raw bytes in, checked answers
out, and after every abuse the server still answers."""
import json
import os
import socket
import threading
import time

from conftest import RawSock

PROBLEM = "https://artifactstored.dev/problems/"


def still_answers(srv):
    s = RawSock(srv.host, srv.port)
    s.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    st, h, body = s.response()
    s.close()
    assert (st, body) == (200, b"hello\n")


def problem(body, status, slug):
    doc = json.loads(body)
    assert doc["status"] == status
    assert doc["type"] == PROBLEM + slug
    assert doc["title"] and doc["detail"]
    return doc


def test_keepalive_and_pipelining(loopsrv):
    s = RawSock(loopsrv.host, loopsrv.port)
    req = (b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
           b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
           b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3\r\nfgh\r\n2\r\nij\r\n0\r\n\r\n"
           b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
           b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    s.send(req)
    assert s.response()[::2] == (200, b"hello\n")
    assert s.response()[::2] == (200, b"abcde")
    assert s.response()[::2] == (200, b"fghij")
    st, h, body = s.response()
    assert st == 404 and h["content-type"] == "application/problem+json"
    problem(body, 404, "no-route")
    assert s.response()[::2] == (200, b"hello\n")
    # byte by byte
    for b in b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n":
        s.send(bytes([b]))
    assert s.response()[::2] == (200, b"hello\n")
    s.close()


def test_method_not_allowed(loopsrv):
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    st, h, body = s.response()
    assert st == 405 and h["allow"] == "GET, HEAD, OPTIONS"
    problem(body, 405, "method-not-allowed")
    s.send(b"POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
    st, h, body = s.response()
    assert st == 405 and h["allow"] == "GET, HEAD, OPTIONS"
    s.close()
    still_answers(loopsrv)


def test_malformed_request_line(loopsrv):
    for junk in (b"GARBAGE\r\n\r\n", b"GET /x HTTP/1.10\r\nHost: x\r\n\r\n",
                 b"GET  HTTP/1.1\r\nHost: x\r\n\r\n", b"\x00\x01\x02\xff\r\n\r\n",
                 b"GET /x HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
                 b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                 b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
        s = RawSock(loopsrv.host, loopsrv.port)
        s.send(junk)
        st, h, body = s.response()
        assert st == 400, junk
        assert h.get("connection") == "close"
        doc = problem(body, 400, "bad-request")
        assert "\x00" not in doc["detail"]
        assert s.closed()
        s.close()
    still_answers(loopsrv)


def test_huge_header_and_url(loopsrv):
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 17000 + b"\r\n\r\n")
    st, h, body = s.response()
    assert st == 431
    problem(body, 431, "headers-too-large")
    s.close()
    s = RawSock(loopsrv.host, loopsrv.port)
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(100))
    s.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert s.response()[0] == 431
    s.close()
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    st, h, body = s.response()
    assert st == 414
    problem(body, 414, "uri-too-long")
    s.close()
    # just under the limits is fine
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"GET /hello?" + b"a" * 8000 + b" HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 15000 + b"\r\n\r\n")
    assert s.response()[0] == 200
    s.close()
    still_answers(loopsrv)


def test_body_too_large_for_buffered_route(loopsrv):
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n")
    st, h, body = s.response()
    assert st == 413
    problem(body, 413, "body-too-large")
    s.close()
    still_answers(loopsrv)


def test_expect_continue(loopsrv):
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"PUT /sink/a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    st, h, body = s.response()
    assert st == 100
    s.send(b"wxyz")
    st, h, body = s.response()
    assert st == 201 and json.loads(body)["bytes"] == 4
    # refused before the body: an error instead of 100, nothing else
    s.send(b"PUT /sink/reject HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    st, h, body = s.response()
    assert st == 400
    problem(body, 400, "bad-request")
    assert "refuses bodies" in json.loads(body)["detail"]
    assert s.closed()
    s.close()
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"PUT /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    st, h, body = s.response()
    assert st == 404
    s.close()
    still_answers(loopsrv)


def test_streamed_upload_backpressure(loopsrv):
    """64 MiB through a sink that takes 1 ms per piece: the server reads
    only while a piece is not in flight, so its memory stays flat."""
    size = 64 << 20
    s = RawSock(loopsrv.host, loopsrv.port, timeout=120)
    s.send(b"PUT /sink/big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
    block = os.urandom(1 << 20)
    expect_sum = 0
    peak = [0]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            try:
                with open(f"/proc/{loopsrv.proc.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            peak[0] = max(peak[0], int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.05)

    t = threading.Thread(target=watch)
    t.start()
    try:
        for _ in range(size >> 20):
            s.send(block)
    finally:
        st, h, body = s.response()
        stop.set()
        t.join()
    doc = json.loads(body)
    assert st == 201 and doc["bytes"] == size
    # far below the 64 MiB that buffering the body would take
    assert peak[0] < 48 * 1024, peak
    s.close()


def test_chunked_upload_and_checksum(loopsrv):
    s = RawSock(loopsrv.host, loopsrv.port)
    data = os.urandom(300000)
    msg = b"PUT /sink/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    for i in range(0, len(data), 7000):
        part = data[i:i + 7000]
        msg += b"%x\r\n" % len(part) + part + b"\r\n"
    msg += b"0\r\n\r\n"
    s.send(msg)
    st, h, body = s.response()
    acc = 0
    for b in data:
        acc = (acc * 31 + b) & 0xFFFFFFFF
    assert st == 201 and json.loads(body) == {"bytes": len(data), "sum": acc}
    s.close()


def test_disconnect_mid_upload_aborts(loopsrv):
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"PUT /sink/d HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"a" * 1000)
    time.sleep(0.2)
    s.close()
    deadline = time.time() + 5
    while time.time() < deadline:
        if any(r.get("msg") == "sink aborted" for r in loopsrv.records()):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("no abort: " + loopsrv.stderr_text())
    still_answers(loopsrv)


def test_streamed_response_and_head(loopsrv):
    s = RawSock(loopsrv.host, loopsrv.port)
    s.send(b"GET /stream?n=1000000 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /stream?n=77 HTTP/1.1\r\nHost: x\r\n\r\n")
    st, h, body = s.response()
    assert st == 200 and body == b"x" * 1000000
    st, h, body = s.response(head_only=True)
    assert st == 200 and h["content-length"] == "77"
    s.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.response()[::2] == (200, b"hello\n")
    s.close()


def test_timeouts(make_loopsrv):
    srv = make_loopsrv(10, 300, 400, 300)
    # header timeout: 408 and close
    s = RawSock(srv.host, srv.port)
    s.send(b"GET /hello HTTP/1.1\r\nHost")
    t0 = time.time()
    st, h, body = s.response()
    assert st == 408 and time.time() - t0 < 2
    problem(body, 408, "request-timeout")
    assert s.closed()
    # idle keep-alive: closed silently
    s = RawSock(srv.host, srv.port)
    s.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.response()[0] == 200
    assert s.closed(timeout=3)
    # body idle: 408
    s = RawSock(srv.host, srv.port)
    s.send(b"PUT /sink/t HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    st, h, body = s.response()
    assert st == 408
    problem(body, 408, "body-timeout")
    s.close()
    # a waiting handler is not cut by the idle timer
    s = RawSock(srv.host, srv.port)
    s.send(b"GET /wait?ms=800 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.response()[::2] == (200, b"waited\n")
    s.close()
    still_answers(srv)


def test_max_connections(make_loopsrv):
    srv = make_loopsrv(5, 5000, 5000, 5000)
    held = [RawSock(srv.host, srv.port) for _ in range(5)]
    for s in held:
        s.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.response()[0] == 200
    extra = RawSock(srv.host, srv.port)
    st, h, body = extra.response()
    assert st == 503
    problem(body, 503, "too-many-connections")
    extra.close()
    held.pop().close()
    time.sleep(0.2)
    still_answers(srv)
    for s in held:
        s.close()


def test_graceful_stop_finishes_in_flight(make_loopsrv):
    srv = make_loopsrv(10, 5000, 5000, 5000)
    idle = RawSock(srv.host, srv.port)
    busy = RawSock(srv.host, srv.port)
    busy.send(b"GET /wait?ms=500 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    srv.proc.send_signal(15)
    st, h, body = busy.response()
    assert st == 200 and h.get("connection") == "close"
    assert idle.closed()
    assert srv.proc.wait(timeout=10) == 0
    assert any(r.get("msg") == "stopped" and r["loop_close"] == 0 for r in srv.records())


def test_ipv6_listen(make_loopsrv):
    srv = make_loopsrv(10, 5000, 5000, 5000, "::1")
    assert srv.host == "::1"
    s = socket.create_connection(("::1", srv.port), timeout=5)
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 200 OK\r\n")
    s.close()


def test_many_connections(loopsrv):
    conns = []
    for _ in range(80):
        s = RawSock(loopsrv.host, loopsrv.port)
        s.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        conns.append(s)
    for s in conns:
        assert s.response()[::2] == (200, b"hello\n")
        s.close()


def test_random_garbage(loopsrv):
    """Hostile bytes of every shape: each connection gets an answer or a
    close, never a crash or a hang."""
    import random
    rnd = random.Random(1234)
    seeds = [b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
             b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde",
             b"PUT /sink/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n"]
    for i in range(300):
        base = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 6)):
            op = rnd.random()
            pos = rnd.randrange(len(base))
            if op < 0.4:
                base[pos] = rnd.randrange(256)
            elif op < 0.7:
                base[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
            else:
                del base[pos:pos + rnd.randint(1, 4)]
        s = RawSock(loopsrv.host, loopsrv.port, timeout=5)
        s.send(bytes(base))
        s.s.shutdown(socket.SHUT_WR)
        try:
            while s.recv(65536):
                pass
        except (ConnectionResetError, socket.timeout):
            pass
        s.close()
    still_answers(loopsrv)
